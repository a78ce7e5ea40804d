using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FactTrace.Evaluation;
using FactTrace.Models;
using FactTrace.Study;
using FactTrace.Training;
using FactTrace.World;
using static TorchSharp.torch;

namespace FactTrace.Benchmarks;

public sealed record SuiteOptions
{
    public int Rows { get; init; } = 32;
    public int Seq { get; init; } = 64;
    public Timing Timing { get; init; } = new();
    /// <summary>Suite model names to run (null = all).</summary>
    public IReadOnlyList<string>? Models { get; init; }
    public bool Bf16 { get; init; } = true;
    /// <summary>The bf16 mechanisms to time (bf16 = autocast, as training; bf16-shadow = the earlier bf16 model copy).</summary>
    public IReadOnlyList<StepMode> Bf16Modes { get; init; } = [StepMode.Bf16];
    /// <summary>Also the Pythia shapes with the published 50,304-token vocabulary (fp32 only).</summary>
    public bool PublishedVocab { get; init; } = true;
    /// <summary>
    /// The shapes of the gradient-trace benchmark; null = the NeoX shapes among <see cref="Models"/> (at most two;
    /// tiny-neox and neox-6x256 when all models run); empty = no trace benchmark.
    /// </summary>
    public IReadOnlyList<string>? TraceModels { get; init; }
    public int TraceExamples { get; init; } = 64;
    /// <summary>
    /// GC.Collect every this many examples in the experimental flat-buffer trace loop (0 = never); the tracer
    /// (<see cref="Tracing.GradientTrace"/>) keeps its own collections.
    /// </summary>
    public int TraceGcEvery { get; init; } = Tracing.GradientTrace.CollectEvery;
    /// <summary>The generation those collections collect (2 = full, as the tracer).</summary>
    public int TraceGcGeneration { get; init; } = 2;

    /// <summary>The trace shapes that run: <see cref="TraceModels"/>, or the default it describes.</summary>
    public IReadOnlyList<string> TraceModelsOrDefault() =>
        TraceModels ?? (Models is null ? ["tiny-neox", "neox-6x256"] : Models.Where(n => n.Contains("neox")).Take(2).ToList());
    public bool Eval { get; init; } = true;
    public bool Peer { get; init; }
    public bool InstallPeer { get; init; } = true;
    /// <summary>Time each phase of a step too (the profile that says where the time goes).</summary>
    public bool Phases { get; init; }
    public TimeSpan PeerTimeout { get; init; } = TimeSpan.FromMinutes(20);
}

/// <summary>The PyTorch peer's numbers for one benchmark.</summary>
public sealed record PeerStep(double TokensPerSecond, double StepMs, double StepMsMedian, int Steps, long PeakRssBytes, double CpuMs, double TokensPerCpuSecond);

public sealed record PeerTrace(double FwdBwdMs, double TraceMs, double ExamplesPerSecond, double CostRatio, double CostRatioCpu, double ExamplesPerCpuSecond);

public sealed record StepRow(string Model, string Description, StepBenchmark.Result Ours, PeerStep? Peer)
{
    /// <summary>FactTrace tokens/s over the peer's, same model and mode (target: at least 1.0).</summary>
    public double? Ratio => Peer is { TokensPerSecond: > 0 } p ? Ours.TokensPerSecond / p.TokensPerSecond : null;
    /// <summary>The same ratio in tokens per CPU-second (steadier on a shared machine; equal to it on an idle one with one thread).</summary>
    public double? RatioCpu => Peer is { TokensPerCpuSecond: > 0 } p ? Ours.TokensPerCpuSecond / p.TokensPerCpuSecond : null;
}

public sealed record TraceRow(string Model, TraceBenchmark.Result Ours, PeerTrace? Peer)
{
    /// <summary>FactTrace examples/s over the peer's.</summary>
    public double? Ratio => Peer is { ExamplesPerSecond: > 0 } p ? Ours.ExamplesPerSecond / p.ExamplesPerSecond : null;
    public double? RatioCpu => Peer is { ExamplesPerCpuSecond: > 0 } p ? Ours.ExamplesPerCpuSecond / p.ExamplesPerCpuSecond : null;
}

/// <summary>What `facttrace bench trace` measured.</summary>
public sealed record TraceSuiteResult(MachineInfo Machine, IReadOnlyList<TraceRow> Traces, double Seconds)
{
    public Printout Print() => SuitePrint.Of(this);
}

public sealed record SuiteResult
{
    public required MachineInfo Machine { get; init; }
    public required Matmul.Result MatmulFp32 { get; init; }
    public Matmul.Result? MatmulBf16 { get; init; }
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
    public EvalBenchmark.Result? Eval { get; init; }
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
                throw IO.FactTraceException.Usage($"--models: '{n}' is not a suite shape ({string.Join(", ", known)})");
    }

    public static SuiteResult Run(SuiteOptions o, Action<string> log)
    {
        CheckModels(o.Models);
        if (o.TraceGcGeneration is < 0 or > 2) throw IO.FactTraceException.Usage("--trace-gc-generation must be 0, 1 or 2");
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

        var rows = StepBenchmark.RandomRows(vocab, o.Rows, o.Seq);
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
                Size(m, [StepMode.Fp32], StepBenchmark.RandomRows(m.Config.VocabSize, o.Rows, o.Seq));

        var traces = Traces(world, o.TraceModelsOrDefault(), o, peer, log);

        EvalBenchmark.Result? eval = null;
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
            TraceBenchmark.Result ours;
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
    public static TraceSuiteResult TraceOnly(SuiteOptions o, Action<string> log)
    {
        CheckTraceModels(o.TraceModelsOrDefault());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var machine = MachineInfo.Current();
        var traces = Traces(DefaultWorld(log), o.TraceModelsOrDefault(), o, peer: false, log);
        return new TraceSuiteResult(machine with { LoadAverageEnd = MachineInfo.LoadAverage() }, traces, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Usage error unless every name resolves to a shape (a suite shape, a named config or a config.json).</summary>
    static void CheckTraceModels(IEnumerable<string> names)
    {
        foreach (var n in names) BenchModels.Resolve(n, 100);
    }

}
