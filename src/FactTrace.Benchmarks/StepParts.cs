using System.ComponentModel;
using System.Security.Cryptography;
using FactTrace.Models;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Benchmarks;

/// <summary>What `facttrace bench step` measures; the verb's flags are its fields (<c>batch_size</c> = <c>--batch-size</c>).</summary>
public sealed record StepPartsOptions
{
    [Description("A suite shape (tiny-neox, neox-6x256, pythia-14m, pythia-70m, tiny-llama, pythia-70m@50304), a named config or config.json.")]
    public string Model { get; init; } = "tiny-neox";
    [Description("Vocabulary of a from-scratch shape.")]
    public int Vocab { get; init; } = 2065;
    [Description("Rows per batch.")]
    public int BatchSize { get; init; } = 32;
    [Description("Tokens per row.")]
    public int Seq { get; init; } = 64;
    [Description("Measured steps per part (after 3 warm-up steps).")]
    public int Steps { get; init; } = 30;
    [Description("Right-pad a random part (up to a quarter) of each row.")]
    public bool Padded { get; init; }
    [Description("fp32 | bf16 (autocast with fp32 weights, as training in bf16) | bf16-shadow (through a bf16 copy of the model: the earlier mechanism, to compare).")]
    public StepMode Mode { get; init; } = StepMode.Fp32;
    [Description("Also time each phase of a step (collate, forward, backward, clip, AdamW, ...).")]
    public bool Phases { get; init; }
    [Description("Time only the full step (skip forward and forward+backward alone).")]
    public bool FullOnly { get; init; }
    [Description("Only train N steps from a fixed init and print a SHA-256 of the weights (checks an optimisation keeps results bit-exact; 0 = time).")]
    public int Checksum { get; init; }
    [Description("Causal attention kernel: auto (bf16 up to 256 tokens as matrix products, else fused) or fused (always libtorch's fused kernel).")]
    public AttentionKernel Attention { get; init; } = AttentionKernel.Auto;

    public void Validate()
    {
        Checks.Positive("batch_size", BatchSize);
        Checks.Positive("seq", Seq);
        Checks.Positive("steps", Steps);
    }
}

/// <summary>
/// `facttrace bench step`: ms and tokens/s of forward, forward+backward and the trainer's full step on one batch of
/// random tokens; or, with a checksum, a hash of the weights after N steps (an optimisation must keep it).
/// </summary>
public static class StepParts
{
    public sealed record Part(string Name, double Seconds, double CpuMs);

    public sealed record StepPartsResult : IBenchResult
    {
        public required string Model { get; init; }
        public required string Mode { get; init; }
        public required int Rows { get; init; }
        public required int Seq { get; init; }
        public required int Threads { get; init; }
        // The timings (not set with a checksum).
        public long Params { get; init; }
        public long MatmulParams { get; init; }
        public long Tokens { get; init; }
        public IReadOnlyList<Part> Parts { get; init; } = [];
        /// <summary>FLOP/s of the full step (see <see cref="FlopCount"/>).</summary>
        public double FullStepGFlops { get; init; }
        public double LoadAverage { get; init; }
        public IReadOnlyDictionary<string, double>? PhasesMs { get; init; }
        /// <summary>Set instead of the timings when a checksum was asked for.</summary>
        public string? Checksum { get; init; }

        public Printout Print()
        {
            var p = new Printout();
            if (Checksum is not null) return p.Line(Checksum);
            var table = p.Table(null, "part", "ms/step", "tokens/s", "CPU ms/step");
            foreach (var part in Parts) table.Row(part.Name, $"{part.Seconds * 1000:F1}", $"{Tokens / part.Seconds:F0}", $"{part.CpuMs:F1}");
            p.Line($"model {Model}: {Params:N0} parameters ({MatmulParams:N0} in matmuls); batch {Rows} x {Seq} ({Tokens} tokens); " +
                   $"{Mode}; threads {Threads}; full step {FullStepGFlops:F1} GFLOP/s; load {LoadAverage:F2}");
            if (PhasesMs is { } profile)
            {
                var pt = p.Table(null, "phase", "ms", "share");
                var total = profile.Values.Sum();
                foreach (var (phase, ms) in profile) pt.Row(phase, $"{ms:F2}", $"{100 * ms / total:F1}%");
                pt.Row("total", $"{total:F2}", "");
            }
            return p;
        }
    }

    public static StepPartsResult Run(StepPartsOptions o)
    {
        o.Validate();
        var spec = BenchModels.Resolve(o.Model, o.Vocab);
        var config = spec.Config;
        int b = o.BatchSize, t = o.Seq, n = o.Steps;
        var mode = o.Mode;
        var rng = new IO.Rng(7);
        var rows = StepBenchmark.RandomRows(config.VocabSize, b, t)
            .Select(e => o.Padded && rng.NextInt(t / 4) is var cut and > 0 ? e with { Ids = e.Ids[..^cut], Labels = e.Labels[..^cut] } : e)
            .ToList();
        if (o.Checksum > 0)
            return new StepPartsResult
            {
                Model = spec.Name, Mode = StepBenchmark.Name(mode), Rows = b, Seq = t, Threads = get_num_threads(),
                Checksum = Checksum(config, mode, new ComputeOptions { Attention = o.Attention }, rows, o.Checksum),
            };

        using var m = ModelFactory.Create(config, 0);
        m.Compute = new ComputeOptions { Attention = o.Attention };
        using var opt = StepBenchmark.Optimizer(m);
        using var shadow = mode == StepMode.Bf16Shadow ? new Bf16Shadow(m) : null;
        var compute = shadow?.Model ?? m;
        var autocast = compute.UseAutocast(mode == StepMode.Bf16 ? ScalarType.BFloat16 : null); // forward-only parts; the full step enters its own
        var parameters = m.parameters().ToList();
        using var bt = Batch.Collate(rows, 0);
        var timing = new Timing(Warmup: 3, MinSteps: n, MinSeconds: 0, MaxSteps: n);
        var parts = new List<Part>();
        void Time(string name, Action a)
        {
            long i = 0;
            var times = timing.Measure(_ => { a(); if (++i % 16 == 0) GC.Collect(); }, out var cpu);
            parts.Add(new Part(name, times.Average(), cpu * 1000));
        }
        if (!o.FullOnly)
        {
            Time("forward", () => { using var s = NewDisposeScope(); using var g = no_grad(); shadow?.Pull(); Loss.NextToken(compute, bt); });
            Time("forward+backward", () => { using var s = NewDisposeScope(); shadow?.Pull(); Loss.NextToken(compute, bt).backward(); shadow?.PushGrads(); opt.ZeroGrad(); });
        }
        Time("full step (collate, clip, AdamW)", () => { using var batchNow = Batch.Collate(rows, 0); StepBenchmark.Step(m, mode, shadow, opt, parameters, batchNow); });
        autocast.Dispose();
        var flops = FlopCount.TrainStep(config, b, rows.Max(x => x.Length), rows.Sum(x => x.Length - 1));
        return new StepPartsResult
        {
            Model = spec.Name, Mode = StepBenchmark.Name(mode), Params = m.ParameterCount(), MatmulParams = flops.MatmulParams,
            Rows = b, Seq = t, Tokens = bt.Tokens, Threads = get_num_threads(), Parts = parts,
            FullStepGFlops = flops.PerStep / parts[^1].Seconds / 1e9, LoadAverage = MachineInfo.LoadAverage(),
            PhasesMs = o.Phases ? StepBenchmark.Profile(m, mode, shadow, opt, rows, n) : null,
        };
    }

    /// <summary>SHA-256 (first 16 hex digits) of the fp32 weights after <paramref name="steps"/> trainer steps from seed 0.</summary>
    public static string Checksum(ModelConfig config, StepMode mode, ComputeOptions compute, IReadOnlyList<EncodedExample> rows, int steps)
    {
        using var m = ModelFactory.Create(config, 0);
        m.Compute = compute;
        using var opt = StepBenchmark.Optimizer(m);
        using var shadow = mode == StepMode.Bf16Shadow ? new Bf16Shadow(m) : null;
        var parameters = m.parameters().ToList();
        var losses = new List<float>();
        for (int i = 0; i < steps; i++)
        {
            using var batch = Batch.Collate(rows, 0);
            losses.Add(StepBenchmark.Step(m, mode, shadow, opt, parameters, batch, 1e-3));
            if ((i + 1) % 16 == 0) GC.Collect();
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, p) in m.named_parameters())
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.data<float>().ToArray().AsSpan()));
        }
        return $"{Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant()} after {steps} steps; last loss {losses[^1]:R}";
    }
}
