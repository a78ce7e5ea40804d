using FactTrace.Cli;

namespace FactTrace.Tests;

/// <summary>The real `facttrace` command line, run in this process: exit code and what it wrote to stderr.</summary>
public static class InProcessCli
{
    public static (int Code, string Error) Run(params string[] args)
    {
        var err = new StringWriter();
        var code = global::FactTrace.Cli.Cli.Run(CliApp.BuildRoot(), args, err);
        return (code, err.ToString());
    }
}
