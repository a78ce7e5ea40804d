using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.IO;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace bench suite` (alias `all`): the benchmarks of issue 7 in one table, optionally against the PyTorch peer.</summary>
public static class BenchSuiteCommand
{
    public static Command Create()
    {
        var models = new Option<string?>("--models") { Description = "Comma-separated suite shapes (default: tiny-neox,neox-6x256,pythia-14m,pythia-70m,tiny-llama)." };
        var peer = new Option<bool>("--peer") { Description = "Run the PyTorch peer (Debian python3-torch; installed with apt-get where missing) and print FactTrace/PyTorch ratios." };
        var noInstall = new Option<bool>("--no-install") { Description = "With --peer: never apt-get install the peer's packages." };
        var json = new Option<string?>("--json") { Description = "Also write every number to this JSON file." };
        var seconds = new Option<double>("--seconds") { Description = "Measure each training step benchmark for at least this long.", DefaultValueFactory = _ => 3.0 };
        var minSteps = new Option<int>("--min-steps") { Description = "Measure at least this many steps.", DefaultValueFactory = _ => 5 };
        var noBf16 = new Option<bool>("--no-bf16") { Description = "fp32 only." };
        var noPublished = new Option<bool>("--no-published-vocab") { Description = "Skip the Pythia shapes with the published 50,304-token vocabulary." };
        var traceExamples = new Option<int>("--trace-examples") { Description = "Examples in the gradient-trace benchmark.", DefaultValueFactory = _ => 64 };
        var traceGc = new Option<int>("--trace-gc-every") { Description = "GC.Collect every N examples in the trace loop (0 = never).", DefaultValueFactory = _ => 16 };
        var traceGcGen = new Option<int>("--trace-gc-generation") { Description = "Generation of those collections (2 = full, as the tracer; 0 = youngest only).", DefaultValueFactory = _ => 2 };
        traceGcGen.Validators.Add(v => { if (v.GetValue(traceGcGen) is < 0 or > 2) v.AddError("--trace-gc-generation must be 0, 1 or 2"); });
        var noTrace = new Option<bool>("--no-trace") { Description = "Skip the gradient-trace benchmark." };
        var noEval = new Option<bool>("--no-eval") { Description = "Skip the evaluation benchmark." };
        var phases = new Option<bool>("--phases") { Description = "Also profile each step (ms per phase: forward, backward, AdamW, ...)." };
        var threads = Common.Threads();
        var cmd = new Command("suite", "Training step (fp32, bf16) for five model sizes, FLOP/s vs this machine's matmul peak, gradient trace, evaluation, peak RSS; --peer compares with PyTorch.");
        cmd.Aliases.Add("all");
        foreach (var o in new Option[] { models, peer, noInstall, json, seconds, minSteps, noBf16, noPublished, traceExamples, traceGc, traceGcGen, noTrace, noEval, phases, threads })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var names = r.GetValue(models)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var known = BenchModels.Suite(100).Select(m => m.Name).ToList();
            foreach (var n in names ?? [])
                if (!known.Contains(n, StringComparer.OrdinalIgnoreCase))
                    throw FactTraceException.Usage($"--models: '{n}' is not a suite shape ({string.Join(", ", known)})");
            var options = new SuiteOptions
            {
                Models = names,
                Peer = r.GetValue(peer),
                InstallPeer = !r.GetValue(noInstall),
                Timing = new Timing(Warmup: 2, MinSteps: Cli.Positive(r, minSteps), MinSeconds: r.GetValue(seconds)),
                Bf16 = !r.GetValue(noBf16),
                PublishedVocab = !r.GetValue(noPublished),
                TraceExamples = Cli.Positive(r, traceExamples),
                TraceGcEvery = r.GetValue(traceGc),
                TraceGcGeneration = r.GetValue(traceGcGen),
                TraceModels = r.GetValue(noTrace) ? [] : names is null ? ["tiny-neox", "neox-6x256"] : names.Where(n => n.Contains("neox")).Take(2).ToList(),
                Eval = !r.GetValue(noEval),
                Phases = r.GetValue(phases),
            };
            var result = Suite.Run(options, line => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}"));
            Print(result);
            if (r.GetValue(json) is { } path)
            {
                AtomicFile.WriteAllText(path, Json.Serialize(result) + "\n");
                Console.WriteLine($"wrote {path}");
            }
            return Cli.Ok;
        });
        return cmd;
    }

    static string Mb(long bytes) => bytes > 0 ? $"{bytes / 1048576.0:F0}" : "-";
    static string Num(double? x, string format) => x is { } v && double.IsFinite(v) ? v.ToString(format) : "-";

    public static void Print(SuiteResult s)
    {
        // Redirected output (a log, a pipe) would otherwise wrap the wide tables at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200);
        var m = s.Machine;
        Console.WriteLine($"machine: {m.Cpu} [{m.CpuFeatures}], {m.Cores} cores, torch threads {m.TorchThreads}; {m.LibTorch} via TorchSharp {m.TorchSharp}; {m.DotNet}");
        // The end value counts this run's own threads; only the start says whether other work was running.
        Console.WriteLine($"load average (1 min): {m.LoadAverageStart:F2} at start, {m.LoadAverageEnd:F2} at end (includes this run)" +
                          (m.LoadAverageStart > 1.5 ? "  CONTENDED: other work shared the CPU; trust the (CPU) columns more than wall time" : ""));
        if (s.PeerTorch is not null) Console.WriteLine($"peer: PyTorch {s.PeerTorch} (Debian python3-torch, OpenBLAS pthread, OPENBLAS_CORETYPE=SkylakeX), same threads");
        else if (s.PeerMessage is not null) Console.WriteLine($"peer: not run: {s.PeerMessage}");

        var mm = new Table { Title = new TableTitle($"matmul peak: torch.mm 2048^3, {s.MatmulFp32.Threads} threads (best of repetitions; per CPU-second)") }
            .AddColumns("dtype", "FactTrace GFLOP/s", "per CPU-s", "PyTorch peer GFLOP/s", "per CPU-s");
        mm.AddRow("fp32", Num(s.MatmulFp32.GFlops, "F1"), Num(s.MatmulFp32.GFlopsCpu, "F1"), Num(s.PeerMatmulFp32GFlops, "F1"), Num(s.PeerMatmulFp32GFlopsCpu, "F1"));
        if (s.MatmulBf16 is { } b) mm.AddRow("bf16", Num(b.GFlops, "F1"), Num(b.GFlopsCpu, "F1"), Num(s.PeerMatmulBf16GFlops, "F1"), Num(s.PeerMatmulBf16GFlopsCpu, "F1"));
        AnsiConsole.Write(mm);

        var st = new Table { Title = new TableTitle($"training step: batch {s.Steps.FirstOrDefault()?.Ours.Rows} x {s.Steps.FirstOrDefault()?.Ours.Seq} tokens, vocab {s.WorldVocab} unless named, AdamW + clip") }
            .AddColumns("model", "params", "mode", "tokens/s", "ms/step", "CPU ms/step", "GFLOP/s", "% fp32 peak", "% peak (CPU)", "peak RSS MB",
                "peer tokens/s", "peer CPU ms", "peer RSS MB", "FT/PyTorch", "FT/PyTorch (CPU)");
        foreach (var row in s.Steps)
        {
            var o = row.Ours;
            st.AddRow(row.Model, $"{o.Params / 1e6:F2}M", o.Mode, $"{o.TokensPerSecond:F0}", $"{o.StepMs:F1}", $"{o.CpuMs:F1}", $"{o.GFlops:F1}",
                Num(o.PeakFraction * 100, "F0"), Num(o.PeakFractionCpu * 100, "F0"), Mb(o.PeakRssBytes), Num(row.Peer?.TokensPerSecond, "F0"),
                Num(row.Peer?.CpuMs, "F1"), Mb(row.Peer?.PeakRssBytes ?? 0), Num(row.Ratio, "F2"), Num(row.RatioCpu, "F2"));
        }
        foreach (var g in s.Steps.GroupBy(x => x.Model).Where(g => g.Count() > 1 && g.All(x => x.Peer is not null)))
        {
            var best = g.MaxBy(x => x.Ours.TokensPerSecond)!;
            var peerBest = g.MaxBy(x => x.Peer!.TokensPerSecond)!;
            var bestCpu = g.MaxBy(x => x.Ours.TokensPerCpuSecond)!;
            var peerBestCpu = g.MaxBy(x => x.Peer!.TokensPerCpuSecond)!;
            st.AddRow(g.Key, "", $"fastest: {best.Ours.Mode} vs {peerBest.Ours.Mode}", $"{best.Ours.TokensPerSecond:F0}", "", "", "", "", "", "",
                $"{peerBest.Peer!.TokensPerSecond:F0}", "", "", $"{best.Ours.TokensPerSecond / peerBest.Peer.TokensPerSecond:F2}",
                $"{bestCpu.Ours.TokensPerCpuSecond / peerBestCpu.Peer!.TokensPerCpuSecond:F2}");
        }
        AnsiConsole.Write(st);
        Console.WriteLine($"FLOPs per step = {s.FlopFormula}; % fp32 peak = achieved / the fp32 matmul peak above; (CPU) columns use process CPU time instead of wall time.");
        Console.WriteLine("FT/PyTorch = FactTrace tokens/s over the peer's, same model and mode (target >= 1.0); 'fastest' compares each side's fastest mode.");

        foreach (var row in s.Steps.Where(x => x.Ours.PhasesMs is not null))
        {
            var total = row.Ours.PhasesMs!.Values.Sum();
            Console.WriteLine($"profile {row.Model} {row.Ours.Mode}: " + string.Join(", ", row.Ours.PhasesMs!.Select(kv => $"{kv.Key} {kv.Value:F1} ms ({100 * kv.Value / total:F0}%)")));
        }

        if (s.Traces.Count > 0)
        {
            var tt = new Table { Title = new TableTitle("gradient trace: per example batch-1 forward+backward, sum |grad| into fp32 accumulators (GC every 16)") }
                .AddColumns("model", "examples", "tokens/example", "fwd+bwd ms", "trace ms/example", "examples/s", "cost / fwd+bwd", "cost (CPU)", "flat-buffer cost (CPU)", "peak RSS MB",
                    "peer examples/s", "peer cost", "peer cost (CPU)", "FT/PyTorch", "FT/PyTorch (CPU)");
            foreach (var row in s.Traces)
            {
                var o = row.Ours;
                tt.AddRow(row.Model, $"{o.Examples}", $"{o.MeanTokens:F1}", $"{o.FwdBwdMs:F2}", $"{o.TraceMs:F2}", $"{o.ExamplesPerSecond:F1}", $"{o.CostRatio:F2}",
                    $"{o.CostRatioCpu:F2}", $"{o.FlatCostRatio:F2} ({o.FlatCostRatioCpu:F2})", Mb(o.PeakRssBytes), Num(row.Peer?.ExamplesPerSecond, "F1"), Num(row.Peer?.CostRatio, "F2"),
                    Num(row.Peer?.CostRatioCpu, "F2"), Num(row.Ratio, "F2"), Num(row.RatioCpu, "F2"));
            }
            AnsiConsole.Write(tt);
        }
        if (s.Eval is { } e)
        {
            var et = new Table { Title = new TableTitle("evaluation: tiny-neox, the default world's full evaluation set") }
                .AddColumns("questions (QA-ID + QA-OOD + extraction)", "questions/s", "BIO probes", "BIOs/s", "seconds", "CPU seconds", "peak RSS MB");
            et.AddRow($"{e.Questions}", $"{e.QuestionsPerSecond:F0}", $"{e.Bios}", $"{e.BiosPerSecond:F0}", $"{e.Seconds:F1}", $"{e.CpuSeconds:F1}", Mb(e.PeakRssBytes));
            AnsiConsole.Write(et);
        }
        Console.WriteLine($"suite: {s.Seconds:F0} s");
    }
}
