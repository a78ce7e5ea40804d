using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.IO;
using FactTrace.Training;
using Spectre.Console;

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
            var load = MachineInfo.LoadAverage();
            var result = LeakBenchmark.Run(Cli.Positive(r, steps), Cli.Positive(r, every), r.GetValue(bf16) ? Precision.Bf16 : Precision.Fp32,
                !r.GetValue(noEval), new Progress(s => Console.Error.WriteLine($"step {s.Step}: RSS {s.RssBytes / 1048576.0:F1} MB, live {s.LiveRssBytes / 1048576.0:F1} MB, managed {s.ManagedBytes / 1048576.0:F1} MB, {s.Seconds:F0} s")));
            var t = new Table().AddColumns("step", "RSS MB", "live RSS MB (after GC + heap trim)", "managed MB", "seconds");
            foreach (var s in result.Samples) t.AddRow($"{s.Step}", $"{s.RssBytes / 1048576.0:F1}", $"{s.LiveRssBytes / 1048576.0:F1}", $"{s.ManagedBytes / 1048576.0:F1}", $"{s.Seconds:F0}");
            AnsiConsole.Write(t);
            Console.WriteLine($"RSS at step {result.FromStep}: {result.FromRssBytes / 1048576.0:F1} MB; at step {result.Samples[^1].Step}: {result.ToRssBytes / 1048576.0:F1} MB; " +
                              $"drift {result.DriftPercent:+0.0;-0.0}%; live RSS {result.FromLiveRssBytes / 1048576.0:F1} -> {result.ToLiveRssBytes / 1048576.0:F1} MB, " +
                              $"drift {result.LiveDriftPercent:+0.0;-0.0}% (target within 5%); peak {result.PeakRssBytes / 1048576.0:F0} MB; {result.Precision}; " +
                              $"{result.Seconds:F0} s; threads {TorchSharp.torch.get_num_threads()}; load {load:F2} -> {MachineInfo.LoadAverage():F2}");
            if (r.GetValue(json) is { } path) AtomicFile.WriteAllText(path, Json.Serialize(result) + "\n");
            return Cli.Ok;
        });
        return cmd;
    }

    sealed class Progress(Action<LeakBenchmark.Sample> report) : IProgress<LeakBenchmark.Sample>
    {
        public void Report(LeakBenchmark.Sample value) => report(value);
    }
}
