using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Study;
using FactTrace.Training;
using FactTrace.World;
using static TorchSharp.torch;

namespace FactTrace.Benchmarks;

/// <summary>
/// What `facttrace bench suite` measures; the verb's flags are its fields (<c>timing.min_steps</c> =
/// <c>--timing-min-steps</c>). The switches that are on by default take a value to turn them off (<c>--bf16 false</c>).
/// </summary>
public sealed record SuiteOptions
{
    [Description("Rows per batch of the training step benchmarks.")]
    public int BatchSize { get; init; } = 32;
    [Description("Tokens per row.")]
    public int Seq { get; init; } = 64;
    public Timing Timing { get; init; } = new();
    [Description("Comma-separated suite shapes (default: tiny-neox,neox-6x256,pythia-14m,pythia-70m,tiny-llama).")]
    public IReadOnlyList<string>? Models { get; init; }
    [Description("Also time bf16 (default true; false: fp32 only).")]
    public bool Bf16 { get; init; } = true;
    [Description("The bf16 mechanisms to time: bf16 (autocast, as training) and/or bf16-shadow (the earlier bf16 model copy).")]
    public IReadOnlyList<StepMode> Bf16Modes { get; init; } = [StepMode.Bf16];
    [Description("Also the Pythia shapes with the published 50,304-token vocabulary, in fp32 (default true).")]
    public bool PublishedVocab { get; init; } = true;
    [Description("Run the gradient-trace benchmark (default true).")]
    public bool Trace { get; init; } = true;
    /// <summary>
    /// The shapes of the gradient-trace benchmark; null = the NeoX shapes among <see cref="Models"/> (at most two;
    /// tiny-neox and neox-6x256 when all models run); empty or <see cref="Trace"/> false = no trace benchmark.
    /// </summary>
    [Description("Comma-separated shapes of the gradient-trace benchmark (default: the NeoX shapes among the models, at most two).")]
    public IReadOnlyList<string>? TraceModels { get; init; }
    [Description("Examples in the gradient-trace benchmark.")]
    public int TraceExamples { get; init; } = 64;
    /// <summary>
    /// GC.Collect every this many examples in the experimental flat-buffer trace loop (0 = never); the tracer
    /// (<see cref="Tracing.GradientTrace"/>) keeps its own collections.
    /// </summary>
    [Description("GC.Collect every N examples in the experimental flat-buffer trace loop (0 = never; the tracer itself collects every 16).")]
    public int TraceGcEvery { get; init; } = Tracing.GradientTrace.CollectEvery;
    [Description("Generation of those collections (2 = full, as the tracer; 0 = youngest only).")]
    public int TraceGcGeneration { get; init; } = 2;

    /// <summary>The trace shapes that run: <see cref="TraceModels"/>, or the default it describes.</summary>
    public IReadOnlyList<string> TraceModelsOrDefault() =>
        !Trace ? [] : TraceModels ?? (Models is null ? ["tiny-neox", "neox-6x256"] : Models.Where(n => n.Contains("neox")).Take(2).ToList());
    [Description("Run the evaluation benchmark (default true).")]
    public bool Eval { get; init; } = true;
    [Description("Run the PyTorch peer (Debian python3-torch; installed with apt-get where missing) and print FactTrace/PyTorch ratios.")]
    public bool Peer { get; init; }
    [Description("When the peer runs: apt-get install its packages where missing (default true; false: never).")]
    public bool InstallPeer { get; init; } = true;
    [Description("Also profile each step (ms per phase: forward, backward, AdamW, ...).")]
    public bool Phases { get; init; }
    [Description("Give up on a peer run after this many minutes.")]
    public double PeerTimeoutMinutes { get; init; } = 20;
    [JsonIgnore] public TimeSpan PeerTimeout => TimeSpan.FromMinutes(PeerTimeoutMinutes);

    public void Validate()
    {
        Checks.Positive("batch_size", BatchSize);
        Checks.Positive("seq", Seq);
        OptionException.Nested("timing", Timing.Validate);
        Suite.CheckModels(Models);
        Checks.Positive("trace_examples", TraceExamples);
        if (TraceGcGeneration is < 0 or > 2) throw new OptionException("trace_gc_generation", $"must be 0, 1 or 2 (got {TraceGcGeneration})");
        if (!(PeerTimeoutMinutes > 0)) throw new OptionException("peer_timeout_minutes", $"must be positive (got {PeerTimeoutMinutes})");
    }
}

/// <summary>What `facttrace bench trace` measures: the suite's gradient-trace benchmark alone (no peer).</summary>
public sealed record TraceBenchOptions
{
    [Description("Comma-separated shapes (suite shapes, named configs or config.json files).")]
    public IReadOnlyList<string> Models { get; init; } = ["tiny-neox", "neox-6x256"];
    [Description("BIO examples of the default world to trace.")]
    public int Examples { get; init; } = 64;

    public void Validate()
    {
        Checks.Positive("examples", Examples);
        foreach (var n in Models) BenchModels.Resolve(n, 100);
    }
}

/// <summary>The PyTorch peer's numbers for one benchmark.</summary>
public sealed record PeerStep(double TokensPerSecond, double StepMs, double StepMsMedian, int Steps, long PeakRssBytes, double CpuMs, double TokensPerCpuSecond);

public sealed record PeerTrace(double FwdBwdMs, double TraceMs, double ExamplesPerSecond, double CostRatio, double CostRatioCpu, double ExamplesPerCpuSecond);

public sealed record StepRow(string Model, string Description, StepBenchmark.StepResult Ours, PeerStep? Peer)
{
    /// <summary>FactTrace tokens/s over the peer's, same model and mode (target: at least 1.0).</summary>
    public double? Ratio => Peer is { TokensPerSecond: > 0 } p ? Ours.TokensPerSecond / p.TokensPerSecond : null;
    /// <summary>The same ratio in tokens per CPU-second (steadier on a shared machine; equal to it on an idle one with one thread).</summary>
    public double? RatioCpu => Peer is { TokensPerCpuSecond: > 0 } p ? Ours.TokensPerCpuSecond / p.TokensPerCpuSecond : null;
}

public sealed record TraceRow(string Model, TraceBenchmark.TraceBenchResult Ours, PeerTrace? Peer)
{
    /// <summary>FactTrace examples/s over the peer's.</summary>
    public double? Ratio => Peer is { ExamplesPerSecond: > 0 } p ? Ours.ExamplesPerSecond / p.ExamplesPerSecond : null;
    public double? RatioCpu => Peer is { ExamplesPerCpuSecond: > 0 } p ? Ours.ExamplesPerCpuSecond / p.ExamplesPerCpuSecond : null;
}

/// <summary>What `facttrace bench trace` measured.</summary>
public sealed record TraceSuiteResult(MachineInfo Machine, IReadOnlyList<TraceRow> Traces, double Seconds) : IBenchResult
{
    public Printout Print() => SuitePrint.Of(this);
}

public sealed record SuiteResult : IBenchResult
{
    public required MachineInfo Machine { get; init; }
    public required Matmul.MatmulResult MatmulFp32 { get; init; }
    public Matmul.MatmulResult? MatmulBf16 { get; init; }
    [JsonPropertyName("peer_matmul_fp32_gflops")] public double? PeerMatmulFp32GFlops { get; init; }
    [JsonPropertyName("peer_matmul_bf16_gflops")] public double? PeerMatmulBf16GFlops { get; init; }
    [JsonPropertyName("peer_matmul_fp32_gflops_cpu")] public double? PeerMatmulFp32GFlopsCpu { get; init; }
    [JsonPropertyName("peer_matmul_bf16_gflops_cpu")] public double? PeerMatmulBf16GFlopsCpu { get; init; }
    public string? PeerTorch { get; init; }
    public string? PeerMessage { get; init; }
    public required int WorldVocab { get; init; }
    public required string FlopFormula { get; init; }
    public required IReadOnlyList<StepRow> Steps { get; init; }
    public required IReadOnlyList<TraceRow> Traces { get; init; }
    public EvalBenchmark.EvalBenchResult? Eval { get; init; }
    public required double Seconds { get; init; }

    public Printout Print() => SuitePrint.Of(this);
}

/// <summary>`facttrace bench suite`: every benchmark of issue 7 in one run, with the PyTorch peer beside it.</summary>
public static class Suite
{
    public const string FlopFormula =
        "6*N_trunk*B*T + 6*N_out*B*(T-1) + 12*L*d_attn*B*T^2 (N_trunk: layer and final-norm params; N_out: d*V output projection; attention counts the full TxT)";

    /// <summary>Usage error unless every name is a suite shape (case-insensitive).</summary>
    public static void CheckModels(IEnumerable<string>? names)
    {
        var known = BenchModels.Suite(100).Select(m => m.Name).ToList();
        foreach (var n in names ?? [])
            if (!known.Contains(n, StringComparer.OrdinalIgnoreCase))
                throw new OptionException("models", $"'{n}' is not a suite shape ({string.Join(", ", known)})");
    }

    public static SuiteResult Run(SuiteOptions o, Action<string> log)
    {
        o.Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var machine = MachineInfo.Current();
        int threads = machine.TorchThreads;
        string? peerMessage = null;
        if (o.Peer) peerMessage = Benchmarks.Peer.Ensure(o.InstallPeer, log);
        bool peer = o.Peer && peerMessage is null;
        if (o.Peer && !peer) log($"peer: not run ({peerMessage})");

        var world = DefaultWorld(log);
        var tok = world.Tokenizer;
        int vocab = tok.VocabSize;

        log($"matmul: fp32 {2048}^3 on {threads} threads");
        var mm32 = Matmul.Peak(2048, ScalarType.Float32);
        var mm16 = o.Bf16 ? Matmul.Peak(2048, ScalarType.BFloat16) : null;
        double? peerMm32 = null, peerMm16 = null, peerMm32Cpu = null, peerMm16Cpu = null;
        string? peerTorch = null;
        if (peer)
        {
            var tasks = new JsonArray { new JsonObject { ["kind"] = "matmul", ["n"] = 2048, ["dtype"] = "fp32" } };
            if (o.Bf16) tasks.Add(new JsonObject { ["kind"] = "matmul", ["n"] = 2048, ["dtype"] = "bf16" });
            var r = Benchmarks.Peer.Run(tasks, threads, o.PeerTimeout, log);
            peerTorch = r["torch"]?.GetValue<string>();
            var results = r["results"]!.AsArray();
            peerMm32 = Benchmarks.Peer.Get(results[0], "gflops");
            peerMm32Cpu = Benchmarks.Peer.Get(results[0], "gflops_cpu");
            if (o.Bf16)
            {
                peerMm16 = Benchmarks.Peer.Get(results[1], "gflops");
                peerMm16Cpu = Benchmarks.Peer.Get(results[1], "gflops_cpu");
            }
        }

        var rows = StepBenchmark.RandomRows(vocab, o.BatchSize, o.Seq);
        var models = BenchModels.Suite(vocab).Where(m => o.Models is null || o.Models.Contains(m.Name, StringComparer.OrdinalIgnoreCase)).ToList();
        var steps = new List<StepRow>();
        void Size(BenchModel m, IReadOnlyList<StepMode> modes, IReadOnlyList<EncodedExample> data)
        {
            // Ours, then the peer's same mode, mode by mode: a change in machine load then hits both sides of a ratio.
            var peerByMode = new Dictionary<string, PeerStep>();
            foreach (var mode in modes)
            {
                log($"step: {m.Name} {StepBenchmark.Name(mode)}");
                var ours = StepBenchmark.Run(m.Name, m.Config, mode, data, o.Timing, mm32.GFlops, o.Phases, mm32.GFlopsCpu);
                GC.Collect();
                var peerMode = mode == StepMode.Fp32 ? "fp32" : "bf16";
                if (peer && !peerByMode.ContainsKey(peerMode))
                {
                    log($"step: {m.Name} {peerMode} peer");
                    var task = new JsonObject
                    {
                        ["kind"] = "step", ["name"] = m.Name, ["config"] = Benchmarks.Peer.Config(m.Config),
                        ["mode"] = peerMode, ["ids"] = Benchmarks.Peer.Rows(data),
                        ["warmup"] = o.Timing.Warmup, ["min_steps"] = o.Timing.MinSteps, ["min_seconds"] = o.Timing.MinSeconds,
                        ["max_steps"] = o.Timing.MaxSteps, ["lr"] = 1e-4, ["weight_decay"] = 0.1,
                        ["betas"] = new JsonArray(0.9, 0.98), ["clip"] = 1.0,
                    };
                    var x = Benchmarks.Peer.Run(new JsonArray { task }, threads, o.PeerTimeout, log)["results"]![0];
                    peerByMode[peerMode] = new PeerStep(Benchmarks.Peer.Get(x, "tokens_per_s"), Benchmarks.Peer.Get(x, "step_ms"),
                        Benchmarks.Peer.Get(x, "step_ms_median"), (int)Benchmarks.Peer.Get(x, "steps"),
                        (long)Benchmarks.Peer.Get(x, "peak_rss_kb") * 1024, Benchmarks.Peer.Get(x, "cpu_ms"),
                        data.Sum(e => e.Length) / (Benchmarks.Peer.Get(x, "cpu_ms") / 1000));
                }
                steps.Add(new StepRow(m.Name, m.Description, ours, peerByMode.GetValueOrDefault(peerMode)));
            }
        }
        StepMode[] both = [StepMode.Fp32, .. o.Bf16 ? o.Bf16Modes : []];
        foreach (var m in models) Size(m, both, rows);
        if (o.PublishedVocab)
            foreach (var m in BenchModels.PublishedVocab().Where(p => o.Models is null || o.Models.Any(n => p.Name.StartsWith(n, StringComparison.OrdinalIgnoreCase))))
                Size(m, [StepMode.Fp32], StepBenchmark.RandomRows(m.Config.VocabSize, o.BatchSize, o.Seq));

        var traces = Traces(world, o.TraceModelsOrDefault(), o, peer, log);

        EvalBenchmark.EvalBenchResult? eval = null;
        if (o.Eval)
        {
            log("eval: tiny-neox on the default world's full evaluation set");
            var config = NamedConfigs.Get("tiny-neox", vocab) with { BosTokenId = tok.BosId, EosTokenId = tok.EosId, PadTokenId = tok.PadId };
            using var model = ModelFactory.Create(config, 0);
            eval = EvalBenchmark.Run(model, new Evaluator(tok), EvalSetBuilder.Build(world, tok));
        }

        return new SuiteResult
        {
            Machine = machine with { LoadAverageEnd = MachineInfo.LoadAverage() },
            MatmulFp32 = mm32, MatmulBf16 = mm16, PeerMatmulFp32GFlops = peerMm32, PeerMatmulBf16GFlops = peerMm16,
            PeerMatmulFp32GFlopsCpu = peerMm32Cpu, PeerMatmulBf16GFlopsCpu = peerMm16Cpu,
            PeerTorch = peerTorch, PeerMessage = peerMessage, WorldVocab = vocab, FlopFormula = FlopFormula, Steps = steps,
            Traces = traces, Eval = eval, Seconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The default experiment's world (preset tiny), the data of the trace and evaluation benchmarks.</summary>
    public static FactWorld DefaultWorld(Action<string> log)
    {
        var w = Presets.Tiny.World;
        log($"world: generating the default world ({w.People:N0} people, {w.BioVariants} BIOs each)");
        return FactWorld.Generate(w);
    }

    /// <summary>
    /// The gradient-trace benchmark (<see cref="TraceBenchmark"/>: the real tracer against a plain forward+backward)
    /// of each shape on the first <see cref="SuiteOptions.TraceExamples"/> BIOs of <paramref name="world"/>; with
    /// <paramref name="peer"/>, PyTorch's per-example loop on the same examples beside it.
    /// </summary>
    public static List<TraceRow> Traces(FactWorld world, IEnumerable<string> names, SuiteOptions o, bool peer, Action<string> log)
    {
        var tok = world.Tokenizer;
        var examples = ExampleEncoder.FromWorld(world, tok).Bio.Take(o.TraceExamples).ToList();
        var traces = new List<TraceRow>();
        foreach (var name in names)
        {
            var m = BenchModels.Resolve(name, tok.VocabSize);
            log($"trace: {m.Name}, {examples.Count} examples (GradientTrace.Run)");
            TraceBenchmark.TraceBenchResult ours;
            using (var model = ModelFactory.Create(m.Config, 0))
                ours = TraceBenchmark.Run(m.Name, model, examples, gcEvery: o.TraceGcEvery, gcGeneration: o.TraceGcGeneration, padId: tok.PadId);
            PeerTrace? pt = null;
            if (peer)
            {
                var r = Benchmarks.Peer.Run(new JsonArray { new JsonObject
                {
                    ["kind"] = "trace", ["name"] = m.Name, ["config"] = Benchmarks.Peer.Config(m.Config), ["examples"] = Benchmarks.Peer.Rows(examples),
                } }, get_num_threads(), o.PeerTimeout, log)["results"]![0];
                pt = new PeerTrace(Benchmarks.Peer.Get(r, "fwd_bwd_ms"), Benchmarks.Peer.Get(r, "trace_ms"),
                    Benchmarks.Peer.Get(r, "examples_per_s"), Benchmarks.Peer.Get(r, "cost_ratio"),
                    Benchmarks.Peer.Get(r, "cost_ratio_cpu"), Benchmarks.Peer.Get(r, "examples_per_cpu_s"));
            }
            traces.Add(new TraceRow(m.Name, ours, pt));
            GC.Collect();
        }
        return traces;
    }

    /// <summary>`facttrace bench trace`: only the gradient-trace benchmark (no peer), on the default world.</summary>
    public static TraceSuiteResult TraceOnly(TraceBenchOptions o, Action<string> log)
    {
        o.Validate();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var machine = MachineInfo.Current();
        var traces = Traces(DefaultWorld(log), o.Models, new SuiteOptions { TraceExamples = o.Examples }, peer: false, log);
        return new TraceSuiteResult(machine with { LoadAverageEnd = MachineInfo.LoadAverage() }, traces, clock.Elapsed.TotalSeconds);
    }
}
