using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.IO;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace bench targets`: the speed targets of inspect, the parameter map and world generation (see <see cref="Targets"/>).</summary>
public static class BenchTargetsCommand
{
    public static Command Create()
    {
        var json = new Option<string?>("--json") { Description = "Also write the measurements to this JSON file." };
        var cmd = new Command("targets", "Time inspect of a 1B config (< 1 s), the parameter map of a 3B config (< 500 ms) and a 100,000-person world (< 30 s); pass/fail per target, exit code 1 when one is missed.");
        cmd.Options.Add(json);
        cmd.SetAction(r =>
        {
            var result = Targets.Run(InspectJson, BenchPrint.Log);
            BenchPrint.Print(result.Print());
            if (r.GetValue(json) is { } path) AtomicFile.WriteAllText(path, Json.Serialize(result) + "\n");
            return result.AllMet ? Cli.Ok : Cli.RuntimeError;
        });
        return cmd;
    }

    /// <summary>`facttrace inspect PATH --json` as the command line runs it; its standard output.</summary>
    static string InspectJson(string path)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var root = new RootCommand("facttrace");
        root.Subcommands.Add(InspectCommand.Create(stdout));
        if (Cli.Run(root, ["inspect", path, "--json"], stderr) != Cli.Ok) throw new FactTraceException($"inspect failed: {stderr.ToString().Trim()}");
        return stdout.ToString();
    }
}
