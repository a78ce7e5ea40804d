using System.Text.Json.Serialization;

namespace FactTrace.Training;

[JsonConverter(typeof(JsonStringEnumConverter<Strategy>))]
public enum Strategy
{
    /// <summary>Stage 1: BIO of all people; stage 2: QA of the in-distribution people.</summary>
    [JsonStringEnumMemberName("two-stage")] TwoStage,
    /// <summary>BIO of all people and QA of the in-distribution people in one shuffled stream.</summary>
    [JsonStringEnumMemberName("mixed")] Mixed,
    /// <summary>BIO of all people only (a control: no QA format ever seen).</summary>
    [JsonStringEnumMemberName("bio-only")] BioOnly,
}

[JsonConverter(typeof(JsonStringEnumConverter<Precision>))]
public enum Precision
{
    [JsonStringEnumMemberName("fp32")] Fp32,
    /// <summary>bf16 matrix products (autocast, see <see cref="Models.CausalLM.Autocast"/>) with fp32 weights, norms, optimizer and loss.</summary>
    [JsonStringEnumMemberName("bf16")] Bf16,
}

/// <summary>Which precision this CPU runs fastest.</summary>
public static class Precisions
{
    /// <summary>
    /// True when the CPU has native bf16 arithmetic (AVX512-BF16 or AMX-BF16 in /proc/cpuinfo). Without it bf16 matrix
    /// products are emulated and slower than fp32, so "auto" means fp32 there.
    /// </summary>
    public static bool CpuHasBf16 { get; } = Detect();

    /// <summary>bf16 autocast where the CPU has native bf16 (measured here: 1.3-1.4x faster training, QA-OOD within
    /// noise of fp32), fp32 elsewhere.</summary>
    public static Precision Fastest => CpuHasBf16 ? Precision.Bf16 : Precision.Fp32;

    /// <summary>"fp32", "bf16" or "auto" (= <see cref="Fastest"/>).</summary>
    public static Precision Parse(string value) => value switch
    {
        "fp32" => Precision.Fp32,
        "bf16" => Precision.Bf16,
        "auto" => Fastest,
        _ => throw IO.FactTraceException.Usage($"--precision '{value}': expected fp32, bf16 or auto"),
    };

    static bool Detect()
    {
        try
        {
            if (!File.Exists("/proc/cpuinfo")) return false;
            var flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal)) ?? "";
            var set = flags.Split([' ', '\t', ':'], StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            return set.Contains("avx512_bf16") || set.Contains("amx_bf16");
        }
        catch (IOException) { return false; }
    }
}

/// <summary>Everything that determines a training run; saved with the run and compared on resume.</summary>
public sealed record TrainOptions
{
    public Strategy Strategy { get; init; } = Strategy.Mixed;
    /// <summary>Epochs over the BIOs: stage 1 of two-stage, all of mixed and bio-only.</summary>
    public int BioEpochs { get; init; } = 25;
    /// <summary>Epochs over the ID questions in stage 2 of two-stage.</summary>
    public int QaEpochs { get; init; } = 10;
    /// <summary>Mixed: the share of QA examples in each epoch; null = every ID question once per epoch.</summary>
    public double? QaRatio { get; init; }
    /// <summary>Two-stage stage 2: BIO examples replayed, as a fraction of the stage's QA examples.</summary>
    public double ReplayFraction { get; init; }
    public double Lr { get; init; } = 3e-3;
    /// <summary>Peak learning rate of two-stage's stage 2; null = <see cref="Lr"/>.</summary>
    public double? QaLr { get; init; }
    public double WarmupFraction { get; init; } = 0.05;
    public double MinLrRatio { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.98;
    public double GradClip { get; init; } = 1.0;
    public int BatchSize { get; init; } = 32;
    public Precision Precision { get; init; } = Precision.Fp32;
    /// <summary>Sort windows of this many batches by length before batching (less padding); 0 or 1 = off.</summary>
    public int LengthBuckets { get; init; } = 16;
    public long Seed { get; init; }
    /// <summary>QA loss on every token instead of only the answer span.</summary>
    public bool QaLossAllTokens { get; init; }
    /// <summary>Evaluate (on a subset) every this many epochs for learning curves; 0 = only at the end.</summary>
    public int EvalEvery { get; init; } = 5;
    /// <summary>People per split used by the periodic evaluation (the final one uses all).</summary>
    public int EvalPeople { get; init; } = 200;
    /// <summary>Save a resumable state every this many steps (and at every stage end).</summary>
    public int CheckpointEvery { get; init; } = 500;
    public int LogEvery { get; init; } = 10;
    /// <summary>Abandon the run right after this global step, without saving (a simulated crash, for tests).</summary>
    [JsonIgnore] public long? StopAfterStep { get; init; }

    public void Validate()
    {
        static void Fail(string option, object value, string why) =>
            throw IO.FactTraceException.Usage($"--{option} = {value}: {why}");
        if (BioEpochs < 0) Fail("epochs", BioEpochs, "must be >= 0");
        if (QaEpochs < 0) Fail("qa-epochs", QaEpochs, "must be >= 0");
        if (QaRatio is { } r && (r <= 0 || r >= 1)) Fail("qa-ratio", r, "must be in (0, 1)");
        if (ReplayFraction < 0) Fail("replay", ReplayFraction, "must be >= 0");
        if (Lr <= 0 || double.IsNaN(Lr)) Fail("lr", Lr, "must be positive");
        if (QaLr is { } q && q <= 0) Fail("qa-lr", q, "must be positive");
        if (WarmupFraction is < 0 or >= 1) Fail("warmup", WarmupFraction, "must be in [0, 1)");
        if (BatchSize <= 0) Fail("batch-size", BatchSize, "must be positive");
        if (GradClip < 0) Fail("grad-clip", GradClip, "must be >= 0");
        if (EvalEvery < 0) Fail("eval-every", EvalEvery, "must be >= 0");
        if (CheckpointEvery <= 0) Fail("checkpoint-every", CheckpointEvery, "must be positive");
    }
}
