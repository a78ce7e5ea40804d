using System.CommandLine;
using FactTrace.Cli;
using FactTrace.Cli.Commands;

// The `facttrace` command: a thin layer that parses options, calls the library and prints.
var root = new RootCommand("FactTrace: how training strategies shape fact recall in language models.");
root.Options.Add(Cli.Verbose);
foreach (var command in new[]
         {
             WorldCommand.Create(),
             InspectCommand.Create(),
         })
    root.Subcommands.Add(command);

return Cli.Run(root, args);
