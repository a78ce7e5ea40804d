using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.IO;
using FactTrace.Training;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace bench leak`: RSS over a long run of the real trainer (a leak shows as growth).</summary>
public static class BenchLeakCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Training steps.", DefaultValueFactory = _ => 10000 };
        var every = new Option<int>("--every") { Description = "Sample RSS every this many steps.", DefaultValueFactory = _ => 500 };
        var bf16 = new Option<bool>("--bf16") { Description = "Train with --precision bf16." };
        var noEval = new Option<bool>("--no-eval") { Description = "Skip the periodic evaluations (on by default, as in a real run)." };
        var json = new Option<string?>("--json") { Description = "Also write the samples to this JSON file." };
        var threads = Common.Threads();
        var cmd = new Command("leak", "RSS every --every steps over a --steps run of the default experiment (tiny-neox, mixed); drift from step 1,000 to the end.");
        foreach (var o in new Option[] { steps, every, bf16, noEval, json, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var result = LeakBenchmark.Run(Cli.Positive(r, steps), Cli.Positive(r, every), r.GetValue(bf16) ? Precision.Bf16 : Precision.Fp32,
                !r.GetValue(noEval), s => Console.Error.WriteLine(s.Line()));
            BenchPrint.Print(result.Print());
            if (r.GetValue(json) is { } path) AtomicFile.WriteAllText(path, Json.Serialize(result) + "\n");
            return Cli.Ok;
        });
        return cmd;
    }
}
