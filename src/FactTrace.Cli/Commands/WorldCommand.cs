using System.CommandLine;

namespace FactTrace.Cli.Commands;

public static class WorldCommand
{
    public static Command Create()
    {
        var cmd = new Command("world", "Generate a synthetic bioS-style fact world (people, BIOs, QA) into a folder.");
        cmd.SetAction(_ => 0);
        return cmd;
    }
}
