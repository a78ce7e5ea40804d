using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.IO;

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
        var traceGc = new Option<int>("--trace-gc-every") { Description = "GC.Collect every N examples in the experimental flat-buffer trace loop (0 = never; the tracer itself collects every 16).", DefaultValueFactory = _ => 16 };
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
            var options = new SuiteOptions
            {
                Models = r.GetValue(models)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Peer = r.GetValue(peer),
                InstallPeer = !r.GetValue(noInstall),
                Timing = new Timing(Warmup: 2, MinSteps: Cli.Positive(r, minSteps), MinSeconds: r.GetValue(seconds)),
                Bf16 = !r.GetValue(noBf16),
                PublishedVocab = !r.GetValue(noPublished),
                TraceExamples = Cli.Positive(r, traceExamples),
                TraceGcEvery = r.GetValue(traceGc),
                TraceGcGeneration = r.GetValue(traceGcGen),
                TraceModels = r.GetValue(noTrace) ? [] : null,
                Eval = !r.GetValue(noEval),
                Phases = r.GetValue(phases),
            };
            var result = Suite.Run(options, BenchPrint.Log);
            BenchPrint.Print(result.Print());
            if (r.GetValue(json) is { } path)
            {
                AtomicFile.WriteAllText(path, Json.Serialize(result) + "\n");
                Console.WriteLine($"wrote {path}");
            }
            return Cli.Ok;
        });
        return cmd;
    }
}
