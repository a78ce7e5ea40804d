using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json.Serialization;
using FactTrace.Models;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Benchmarks;

/// <summary>How long to measure: warm-up steps, then at least <see cref="MinSteps"/> and <see cref="MinSeconds"/>.</summary>
public sealed record Timing(
    [property: Description("Unmeasured warm-up steps.")] int Warmup = 2,
    [property: Description("Measure at least this many steps.")] int MinSteps = 5,
    [property: Description("Measure each training step benchmark for at least this long (seconds).")] double MinSeconds = 3,
    [property: Description("Measure at most this many steps.")] int MaxSteps = 200)
{
    public void Validate()
    {
        if (Warmup < 0) throw new IO.OptionException("warmup", $"must be >= 0 (got {Warmup})");
        Checks.Positive("min_steps", MinSteps);
        Checks.Positive("max_steps", MaxSteps);
    }

    /// <summary>Runs <paramref name="step"/> (given its index) until the budget is met; per-call seconds.</summary>
    public List<double> Measure(Action<int> step) => Measure(step, out _);

    /// <summary>
    /// As <see cref="Measure(Action{int})"/>, also the process CPU seconds per call (all threads): with one thread
    /// on a shared machine, CPU time is the steadier measure (wall time includes waiting for a core).
    /// </summary>
    public List<double> Measure(Action<int> step, out double cpuSecondsPerCall)
    {
        for (int i = 0; i < Warmup; i++) step(i);
        var times = new List<double>();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var total = Stopwatch.StartNew();
        while (times.Count < MaxSteps && (times.Count < MinSteps || total.Elapsed.TotalSeconds < MinSeconds))
        {
            var w = Stopwatch.StartNew();
            step(Warmup + times.Count);
            times.Add(w.Elapsed.TotalSeconds);
        }
        cpuSecondsPerCall = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / times.Count;
        return times;
    }

    public static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}

/// <summary>A model shape of the suite: a short name, what it stands for, and its config (vocabulary set).</summary>
public sealed record BenchModel(string Name, string Description, ModelConfig Config);

public static class BenchModels
{
    /// <summary>
    /// The suite's sizes on a world-sized vocabulary: the default experiment's model, a 6-layer d256 NeoX, the
    /// pythia-14m and pythia-70m shapes, and a small Llama.
    /// </summary>
    public static IReadOnlyList<BenchModel> Suite(int vocab) =>
    [
        new("tiny-neox", "4 layers d128 (the default experiment)", NamedConfigs.Get("tiny-neox", vocab)),
        new("neox-6x256", "6 layers d256, 8 heads, MLP 1024",
            (NamedConfigs.Get("tiny-neox", vocab) with { NumHiddenLayers = 6, HiddenSize = 256, NumAttentionHeads = 8, IntermediateSize = 1024 }).Validate()),
        new("pythia-14m", "pythia-14m shape: 6 layers d128", NamedConfigs.Get("pythia-14m", vocab)),
        new("pythia-70m", "pythia-70m shape: 6 layers d512", NamedConfigs.Get("pythia-70m", vocab)),
        new("tiny-llama", "4 layers d128, GQA 4/2, SwiGLU 344, tied", NamedConfigs.Get("tiny-llama", vocab)),
    ];

    /// <summary>The Pythia shapes with their published 50,304-token vocabulary (the output layer dominates).</summary>
    public static IReadOnlyList<BenchModel> PublishedVocab() =>
    [
        new("pythia-14m@50304", "pythia-14m, published vocabulary", NamedConfigs.GetPublished("pythia-14m")),
        new("pythia-70m@50304", "pythia-70m, published vocabulary", NamedConfigs.GetPublished("pythia-70m")),
    ];

    /// <summary>A named shape of the suite, or any <see cref="NamedConfigs"/> name / config.json.</summary>
    public static BenchModel Resolve(string name, int vocab) =>
        Suite(vocab).FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? PublishedVocab().FirstOrDefault(m => m.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? new BenchModel(name, name, NamedConfigs.Resolve(name, NamedConfigs.IsKnown(name) ? vocab : null));
}

/// <summary>
/// How a step computes: fp32; bf16 = autocast (what `train --precision bf16` does); bf16-shadow = a bf16 copy of the
/// model for forward/backward (the earlier bf16 mechanism, kept to measure against).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<StepMode>))]
public enum StepMode
{
    [JsonStringEnumMemberName("fp32")] Fp32,
    [JsonStringEnumMemberName("bf16")] Bf16,
    [JsonStringEnumMemberName("bf16-shadow")] Bf16Shadow,
}

/// <summary>Training-step throughput: the trainer's own step (<see cref="TrainStep"/>) on a fixed batch of random tokens.</summary>
public static class StepBenchmark
{
    public static string Name(StepMode m) => m switch { StepMode.Fp32 => "fp32", StepMode.Bf16 => "bf16", _ => "bf16-shadow" };

    static ScalarType? AutocastOf(StepMode m) => m == StepMode.Bf16 ? ScalarType.BFloat16 : null;

    /// <summary>One training step in <paramref name="mode"/> (the trainer's <see cref="TrainStep"/>).</summary>
    public static float Step(CausalLM model, StepMode mode, Bf16Shadow? shadow, AdamW opt, IReadOnlyList<TorchSharp.Modules.Parameter> parameters,
        Batch batch, double lr = 1e-4) =>
        TrainStep.Run(model, shadow, AutocastOf(mode), opt, parameters, [batch], lr, 1.0);

    public sealed record StepResult
    {
        public required string Name { get; init; }
        public required string Mode { get; init; }
        public required long Params { get; init; }
        public required long MatmulParams { get; init; }
        public required int Rows { get; init; }
        public required int Seq { get; init; }
        public required int Steps { get; init; }
        /// <summary>Mean over the measured steps, GC.Collect every 16 steps included (as in training).</summary>
        public required double StepMs { get; init; }
        public required double StepMsMedian { get; init; }
        /// <summary>Process CPU ms per step (all threads).</summary>
        public double CpuMs { get; init; }
        public required double TokensPerSecond { get; init; }
        public required double FlopsPerStep { get; init; }
        [JsonPropertyName("gflops")] public required double GFlops { get; init; }
        /// <summary>GFlops / the fp32 matmul peak measured in the same run (null when not measured).</summary>
        public double? PeakFraction { get; init; }
        /// <summary>FLOPs per second of process CPU time, and its fraction of the matmul peak measured the same way.</summary>
        [JsonPropertyName("gflops_cpu")] public double GFlopsCpu { get; init; }
        public double? PeakFractionCpu { get; init; }
        /// <summary>Tokens per second of process CPU time: with one thread, the throughput of an unshared core.</summary>
        public double TokensPerCpuSecond { get; init; }
        public required long PeakRssBytes { get; init; }
        /// <summary>Mean ms per phase over separately timed steps (see <see cref="Profile"/>), when asked for.</summary>
        public IReadOnlyDictionary<string, double>? PhasesMs { get; init; }
    }

    /// <summary>Random token rows [rows x seq], all real (no padding), labels = ids: the same data the peer gets.</summary>
    public static List<EncodedExample> RandomRows(int vocab, int rows, int seq, ulong seed = 1)
    {
        var rng = new IO.Rng(seed);
        return Enumerable.Range(0, rows).Select(_ =>
        {
            var ids = Enumerable.Range(0, seq).Select(_ => rng.NextInt(vocab)).ToArray();
            return new EncodedExample(ids, (int[])ids.Clone(), ExampleKind.Bio, 0);
        }).ToList();
    }

    /// <summary>AdamW as the trainer builds it: weight decay on matrices, not on norms, biases or the input embedding.</summary>
    public static AdamW Optimizer(CausalLM model, double weightDecay = 0.1, double beta1 = 0.9, double beta2 = 0.98)
    {
        var all = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        static bool NoDecay(string name, Tensor p) =>
            p.dim() < 2 || name.EndsWith("embed_in.weight") || name.EndsWith("embed_tokens.weight");
        return new AdamW([
            new AdamW.Group(all.Where(p => !NoDecay(p.Item1, p.Item2)).ToList(), weightDecay),
            new AdamW.Group(all.Where(p => NoDecay(p.Item1, p.Item2)).ToList(), 0.0)], beta1, beta2);
    }

    /// <summary>
    /// Times full training steps (collate, forward, loss, backward, clip 1.0, AdamW, zero grads; GC.Collect every 16
    /// steps as the trainer does) of <paramref name="config"/> on <paramref name="rows"/>.
    /// </summary>
    public static StepResult Run(string name, ModelConfig config, StepMode mode, IReadOnlyList<EncodedExample> rows, Timing timing,
        double? fp32PeakGFlops = null, bool phases = false, double? fp32PeakGFlopsCpu = null)
    {
        Rss.ResetPeak();
        using var model = ModelFactory.Create(config, 0);
        model.train();
        using var opt = Optimizer(model);
        using var shadow = mode == StepMode.Bf16Shadow ? new Bf16Shadow(model) : null;
        var parameters = model.parameters().ToList();
        long step = 0;
        var times = timing.Measure(_ =>
        {
            using (var batch = Batch.Collate(rows, 0))
                Step(model, mode, shadow, opt, parameters, batch);
            if (++step % 16 == 0) GC.Collect();
        }, out var cpu);
        var profile = phases ? Profile(model, mode, shadow, opt, rows, Math.Max(3, timing.MinSteps)) : null;
        int t = rows.Max(r => r.Length);
        var flops = FlopCount.TrainStep(config, rows.Count, t, rows.Sum(r => r.Length - 1));
        var mean = times.Average();
        var gflops = flops.PerStep / mean / 1e9;
        return new StepResult
        {
            Name = name, Mode = Name(mode), Params = model.ParameterCount(),
            MatmulParams = flops.MatmulParams, Rows = rows.Count, Seq = t, Steps = times.Count, StepMs = mean * 1000,
            StepMsMedian = Timing.Median(times) * 1000, CpuMs = cpu * 1000,
            GFlopsCpu = flops.PerStep / cpu / 1e9, PeakFractionCpu = fp32PeakGFlopsCpu is > 0 ? flops.PerStep / cpu / 1e9 / fp32PeakGFlopsCpu : null,
            TokensPerCpuSecond = rows.Sum(r => r.Length) / cpu, TokensPerSecond = rows.Sum(r => r.Length) / mean,
            FlopsPerStep = flops.PerStep, GFlops = gflops, PeakFraction = fp32PeakGFlops is > 0 ? gflops / fp32PeakGFlops : null,
            PeakRssBytes = Rss.Peak, PhasesMs = profile,
        };
    }

    /// <summary>
    /// Where a step's time goes: the phases of <see cref="TrainStep.Run"/> timed one by one (CPU ops are synchronous,
    /// so a stopwatch around each phase is exact), mean ms over <paramref name="steps"/> steps.
    /// </summary>
    public static Dictionary<string, double> Profile(CausalLM model, StepMode mode, Bf16Shadow? shadow, AdamW opt, IReadOnlyList<EncodedExample> rows, int steps)
    {
        var parameters = model.parameters().ToList();
        var sums = new Dictionary<string, double>();
        var w = new Stopwatch();
        void Lap(string phase)
        {
            sums[phase] = sums.GetValueOrDefault(phase) + w.Elapsed.TotalMilliseconds;
            w.Restart();
        }
        for (int s = 0; s < steps; s++)
        {
            GC.Collect();
            w.Restart();
            using var batch = Batch.Collate(rows, 0);
            Lap("collate");
            using (var scope = NewDisposeScope())
            {
                if (shadow is not null) { shadow.Pull(); Lap("bf16 pull (copy weights)"); }
                var compute = shadow?.Model ?? model;
                Tensor loss;
                using (compute.UseAutocast(AutocastOf(mode))) loss = Loss.NextToken(compute, batch);
                loss.item<float>();
                Lap("forward + loss");
                loss.backward();
                Lap("backward");
                if (shadow is not null) { shadow.PushGrads(); Lap("bf16 push (grads to fp32)"); }
                nn.utils.clip_grad_norm_(parameters, 1.0);
                Lap("clip grad norm");
                opt.StepWith(1e-4);
                Lap("AdamW");
                opt.ZeroGrad();
                Lap("zero grad");
            }
            Lap("dispose scope");
        }
        return sums.ToDictionary(kv => kv.Key, kv => kv.Value / steps);
    }
}
