using System.CommandLine;
using FactTrace.Cli.Commands;

namespace FactTrace.Cli;

/// <summary>Builds the `facttrace` root command, so that tests run the same command line as Program.cs.</summary>
public static class CliApp
{
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("FactTrace: how training strategies shape fact recall in language models.");
        root.Options.Add(Cli.Verbose);
        foreach (var command in new[]
                 {
                     WorldCommand.Create(),
                     InspectCommand.Create(),
                     TrainCommand.Create(),
                     EvalCommand.Create(),
                     TraceCommand.Create(),
                     AblateCommand.Create(),
                     GraftCommand.Create(),
                     ReproduceCommand.Create(),
                     ReportCommand.Create(),
                     TokenizeCommand.Create(),
                     PlanCommand.Create(),
                     BenchCommand.Create(),
                 })
            root.Subcommands.Add(command);
        return root;
    }
}
