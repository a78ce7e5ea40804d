using System.Text.Json.Serialization;
using FactTrace.Models;
using FactTrace.Training;

namespace FactTrace.Study;

/// <summary>One line of a memory plan: what it holds, its size, and how it was sized.</summary>
public sealed record MemoryItem(
    [property: JsonPropertyName("what")] string What,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("how")] string How);

/// <summary>
/// `facttrace plan`: the peak memory of each phase of a study for a model, sized from its config alone (the
/// parameter map; nothing is allocated), against a budget. Training: fp32 weights, fp32 gradients, AdamW's two fp32
/// moments, the lr-grad trace's two fp32 accumulators, and the saved activations of one step at the preset's batch
/// (no activation checkpointing). Analyses: the post-hoc trace's two accumulators and the ablation's two weight
/// copies (trained and reference), with one example's activations. These are what the code does now (fp32 master
/// weights; bf16 autocast only changes the matrix products' precision).
/// </summary>
public sealed record MemoryPlan
{
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("parameters")] public long Parameters { get; init; }
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; }
    [JsonPropertyName("sequence_length")] public int SequenceLength { get; init; }
    [JsonPropertyName("budget_bytes"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public long? BudgetBytes { get; init; }
    [JsonPropertyName("training")] public required IReadOnlyList<MemoryItem> Training { get; init; }
    [JsonPropertyName("analysis")] public required IReadOnlyList<MemoryItem> Analysis { get; init; }
    /// <summary>The robustness stage: every trace kind's two accumulators at once (<see cref="Interventions.RobustnessOptions.Scores"/>).</summary>
    [JsonPropertyName("robustness")] public required IReadOnlyList<MemoryItem> Robustness { get; init; }
    [JsonPropertyName("training_bytes")] public long TrainingBytes => Training.Sum(x => x.Bytes);
    [JsonPropertyName("analysis_bytes")] public long AnalysisBytes => Analysis.Sum(x => x.Bytes);
    [JsonPropertyName("robustness_bytes")] public long RobustnessBytes => Robustness.Sum(x => x.Bytes);
    [JsonPropertyName("peak_bytes")] public long PeakBytes => Math.Max(TrainingBytes, Math.Max(AnalysisBytes, RobustnessBytes));
    [JsonPropertyName("fits"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public bool? Fits => BudgetBytes is { } b ? PeakBytes <= b : null;

    public const long GiB = 1L << 30;

    /// <param name="model">A named config (published or tiny), a config.json or an HF folder.</param>
    /// <param name="sequenceLength">Tokens per training example (a BIO of the world under the model's tokenizer).</param>
    /// <param name="robustnessKinds">Trace kinds the robustness stage holds at once (the default 4: lr-grad and three post-hoc
    /// kinds; 1 with robustness.one_kind_at_a_time).</param>
    public static MemoryPlan For(string model, int batchSize, int sequenceLength, Precision precision, long? budgetBytes = null, int robustnessKinds = 4)
    {
        if (batchSize <= 0) throw new IO.OptionException("batch_size", $"must be positive (got {batchSize})");
        if (sequenceLength <= 0) throw new IO.OptionException("sequence_length", $"must be positive (got {sequenceLength})");
        if (budgetBytes is <= 0) throw new IO.OptionException("budget", "must be positive");
        var (config, source) = ModelSummary.Resolve(model);
        var map = ParameterMap.For(config);
        long n = map.TotalParameters, b = batchSize, t = sequenceLength, d = config.HiddenSize, f = config.IntermediateSize;
        long heads = map.Heads, kv = map.KvHeads, hd = map.HeadDim, layers = map.Layers, v = config.VocabSize;
        var act = precision == Precision.Bf16 ? 2L : 4L;
        // Saved for backward per layer and token: norm outputs (2d), q, k, v (d + 2 kv hd), rotated q and k (d + kv hd),
        // attention output and its projection (2d), residuals (2d), MLP in/gate, activation and product (3f; NeoX: 2f),
        // MLP output (d); plus the attention probabilities (heads x T per token, kept in fp32 by softmax).
        var mlp = config.IsLlama ? 3 * f : 2 * f;
        var perToken = 8 * d + 3 * kv * hd + mlp;
        long Activations(long rows) => layers * rows * t * (perToken * act + heads * t * 4) + rows * t * d * 4 * 2
            + rows * t * v * 4 * 2; // final norm + hidden; logits and their gradient (every position in the worst case)
        var training = new List<MemoryItem>
        {
            new("weights (fp32)", 4 * n, $"{n:N0} parameters x 4 bytes"),
            new("gradients (fp32)", 4 * n, "one per parameter"),
            new("AdamW moments (fp32)", 8 * n, "exp_avg and exp_avg_sq"),
            new("lr-grad trace accumulators (fp32)", 8 * n, "Delta_BIO and Delta_QA, one per parameter each"),
            new($"activations ({(act == 2 ? "bf16" : "fp32")})", Activations(b),
                $"batch {b} x {t} tokens: {layers} layers x (~{perToken:N0} values per token + {heads} x {t} attention probabilities) + logits"),
        };
        var analysis = new List<MemoryItem>
        {
            new("weights (fp32)", 4 * n, "the model analysed"),
            new("gradients (fp32)", 4 * n, "one example's backward (post-hoc kinds)"),
            new("trace accumulators (fp32)", 8 * n, "S_BIO and S_QA (or the lr-grad sums read back)"),
            new("ranking copies (fp32)", 8 * n, "|Delta| of a signed kind (lr-grad), what top-k ranks"),
            new("ablation copies (fp32)", 8 * n, "trained and reference weights, to reset and restore"),
            new("activations (fp32)", Activations(1), $"one example of {t} tokens"),
        };
        var kinds = robustnessKinds;
        var robustness = new List<MemoryItem>
        {
            analysis[0], analysis[1],
            new("trace accumulators (fp32)", kinds * 8 * n, $"{kinds} kind{(kinds == 1 ? "" : "s")} x 2 tasks held at once (robustness.one_kind_at_a_time: 1)"),
            analysis[3], analysis[4], analysis[5],
        };
        return new MemoryPlan
        {
            Model = source, Parameters = n, BatchSize = batchSize, SequenceLength = sequenceLength, BudgetBytes = budgetBytes,
            Training = training, Analysis = analysis, Robustness = robustness,
        };
    }
}
