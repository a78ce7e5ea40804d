using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using FactTrace.IO;

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

[JsonConverter(typeof(PrecisionConverter))]
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
    public static string Name(Precision precision) => precision == Precision.Bf16 ? "bf16" : "fp32";

    public static bool TryParse(string value, out Precision precision)
    {
        (var ok, precision) = value switch
        {
            "fp32" => (true, Precision.Fp32),
            "bf16" => (true, Precision.Bf16),
            "auto" => (true, Fastest),
            _ => (false, Precision.Fp32),
        };
        return ok;
    }

    public static Precision Parse(string value) =>
        TryParse(value, out var p) ? p : throw new IO.OptionException("precision", $"'{value}': expected fp32, bf16 or auto");

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

/// <summary>
/// Everything that determines a training run; saved with the run (train.json) and compared on resume. The JSON field
/// names are the vocabulary of presets and manifest.json, and the `train` verb's flags are their kebab-case
/// (<c>bio_epochs</c> = <c>--bio-epochs</c>).
/// </summary>
public sealed record TrainOptions
{
    [Description("two-stage (BIOs, then ID questions) | mixed (both in one stream) | bio-only (a control).")]
    public Strategy Strategy { get; init; } = Strategy.Mixed;
    [Description("Epochs over the BIOs (two-stage stage 1, mixed, bio-only).")]
    public int BioEpochs { get; init; } = 25;
    [Description("Epochs over the ID questions in two-stage stage 2.")]
    public int QaEpochs { get; init; } = 10;
    [Description("Mixed: share of QA examples per epoch (default: every ID question once per epoch).")]
    public double? QaRatio { get; init; }
    [Description("Two-stage stage 2: BIOs replayed, as a fraction of the stage's questions.")]
    public double ReplayFraction { get; init; }
    [Description("Peak learning rate.")]
    public double Lr { get; init; } = 3e-3;
    [Description("Peak learning rate of two-stage stage 2 (default: lr).")]
    public double? QaLr { get; init; }
    [Description("Share of each stage's steps spent in linear warmup.")]
    public double WarmupFraction { get; init; } = 0.05;
    [Description("The cosine decay ends at this fraction of the peak learning rate.")]
    public double MinLrRatio { get; init; } = 0.1;
    [Description("AdamW weight decay (weight matrices only; not norms, biases or the input embedding).")]
    public double WeightDecay { get; init; } = 0.1;
    [Description("AdamW beta1.")]
    public double Beta1 { get; init; } = 0.9;
    [Description("AdamW beta2.")]
    public double Beta2 { get; init; } = 0.98;
    [Description("Clip the gradient norm to this (0 = off).")]
    public double GradClip { get; init; } = 1.0;
    [Description("Examples per step.")]
    public int BatchSize { get; init; } = 32;
    [Description("fp32 | bf16 (bf16 matrix products, fp32 master weights) | auto (bf16 where the CPU has native bf16).")]
    [AllowedValues("fp32", "bf16", "auto")]
    public Precision Precision { get; init; } = Precision.Fp32;
    [Description("Sort windows of this many batches by length before batching (less padding); 0 or 1 = off.")]
    public int LengthBuckets { get; init; } = 16;
    [Description("Seed of the initial weights and the data order.")]
    public long Seed { get; init; }
    [Description("QA loss on every token, not only the answer.")]
    public bool QaLossAllTokens { get; init; }
    [Description("Evaluate on a subset every this many epochs, for learning curves (0 = only at the end).")]
    public int EvalEvery { get; init; } = 5;
    [Description("People per split in the periodic evaluations (the final one uses everyone).")]
    public int EvalPeople { get; init; } = 200;
    [Description("Save a resumable state every this many steps (and at every stage end).")]
    public int CheckpointEvery { get; init; } = 500;
    [Description("Write a metrics line every this many steps.")]
    public int LogEvery { get; init; } = 10;
    /// <summary>Abandon the run right after this global step, without saving (a simulated crash, for tests).</summary>
    [JsonIgnore] public long? StopAfterStep { get; init; }

    /// <summary>The fields that this strategy does not use (set to a non-default value, they change nothing).</summary>
    public IReadOnlyList<string> IgnoredFields() => Strategy switch
    {
        Strategy.TwoStage => ["qa_ratio"],
        Strategy.Mixed => ["qa_epochs", "replay_fraction", "qa_lr"],
        _ => ["qa_epochs", "qa_ratio", "replay_fraction", "qa_lr", "qa_loss_all_tokens"],
    };

    public void Validate()
    {
        static void Fail(string field, object value, string why) => throw new OptionException(field, $"{why} (got {value})");
        if (BioEpochs < 0) Fail("bio_epochs", BioEpochs, "must be >= 0");
        if (QaEpochs < 0) Fail("qa_epochs", QaEpochs, "must be >= 0");
        if (QaRatio is { } r && (r <= 0 || r >= 1)) Fail("qa_ratio", r, "must be in (0, 1)");
        if (ReplayFraction < 0) Fail("replay_fraction", ReplayFraction, "must be >= 0");
        if (Lr <= 0 || double.IsNaN(Lr)) Fail("lr", Lr, "must be positive");
        if (QaLr is { } q && !(q > 0)) Fail("qa_lr", q, "must be positive");
        if (WarmupFraction is < 0 or >= 1) Fail("warmup_fraction", WarmupFraction, "must be in [0, 1)");
        if (MinLrRatio is < 0 or > 1) Fail("min_lr_ratio", MinLrRatio, "must be in [0, 1]");
        if (WeightDecay < 0) Fail("weight_decay", WeightDecay, "must be >= 0");
        if (Beta1 is < 0 or >= 1) Fail("beta1", Beta1, "must be in [0, 1)");
        if (Beta2 is < 0 or >= 1) Fail("beta2", Beta2, "must be in [0, 1)");
        if (BatchSize <= 0) Fail("batch_size", BatchSize, "must be positive");
        if (GradClip < 0) Fail("grad_clip", GradClip, "must be >= 0");
        if (LengthBuckets < 0) Fail("length_buckets", LengthBuckets, "must be >= 0");
        if (EvalEvery < 0) Fail("eval_every", EvalEvery, "must be >= 0");
        if (EvalPeople <= 0) Fail("eval_people", EvalPeople, "must be positive");
        if (CheckpointEvery <= 0) Fail("checkpoint_every", CheckpointEvery, "must be positive");
        if (LogEvery <= 0) Fail("log_every", LogEvery, "must be positive");
    }
}

/// <summary>Reads fp32, bf16 or auto (the fastest on this CPU, <see cref="Precisions.Fastest"/>); writes the resolved one.</summary>
public sealed class PrecisionConverter : JsonConverter<Precision>
{
    public override Precision Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String && Precisions.TryParse(reader.GetString()!, out var p)
            ? p
            : throw new JsonException($"precision: expected fp32, bf16 or auto");

    public override void Write(Utf8JsonWriter writer, Precision value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value == Precision.Bf16 ? "bf16" : "fp32");
}

public static class StrategyNames
{
    /// <summary>The name in files and on the command line: two-stage, mixed, bio-only.</summary>
    public static string Name(this Strategy s) => s switch { Strategy.TwoStage => "two-stage", Strategy.Mixed => "mixed", _ => "bio-only" };
}
