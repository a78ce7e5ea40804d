using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.Tracing;

/// <summary>
/// Everything that determines a trace besides the model: the options of the `trace` verb (flags are the kebab-case of
/// the JSON fields, nested ones prefixed: <c>probe.bio_size</c> = <c>--probe-bio-size</c>), of a preset's
/// <c>trace</c> and of manifest.json alike.
/// </summary>
public sealed record TraceOptions
{
    [Description("grad = sum |g|, grad-x-weight = sum |theta g|, fisher = sum g^2 (lr-grad exists only during training: train --trace-score lr-grad).")]
    public ScoreKind Score { get; init; } = ScoreKind.Grad;
    [Description("One backward pass per example or per micro-batch.")]
    public Granularity Granularity { get; init; } = Granularity.Example;
    [Description("Examples per micro-batch (granularity micro-batch).")]
    public int MicroBatch { get; init; } = 8;
    /// <summary>The fractions swept; masks and statistics are written for each.</summary>
    [Description("Top-k fraction(s) per task, comma-separated.")]
    [JsonPropertyName("rho")] public IReadOnlyList<double> Rhos { get; init; } = [0.001, 0.01, 0.05];
    [Description("Rank over all considered parameters (global) or within each tensor (per-matrix).")]
    public TopKScope Scope { get; init; } = TopKScope.Global;
    /// <summary>Input embedding and untied output embedding (token-specific rows; off by default).</summary>
    [Description("Rank the input/output embeddings too.")]
    public bool IncludeEmbeddings { get; init; }
    /// <summary>LayerNorm / RMSNorm weights and biases (off by default).</summary>
    [Description("Rank LayerNorm/RMSNorm parameters too.")]
    public bool IncludeNorms { get; init; }
    public ProbeOptions Probe { get; init; } = new();

    /// <summary>Fields that do nothing with the others as they are (set to a non-default value, they change nothing).</summary>
    public IReadOnlyList<string> IgnoredFields() => Granularity == Granularity.Example ? ["micro_batch"] : [];

    public void Validate()
    {
        if (Rhos.Count == 0) throw new OptionException("rho", "give at least one fraction");
        foreach (var r in Rhos)
            if (!(r > 0 && r <= 1)) throw new OptionException("rho", $"{r} must be in (0, 1]");
        if (Rhos.Distinct().Count() != Rhos.Count) throw new OptionException("rho", "a fraction is given twice");
        if (MicroBatch <= 0) throw new OptionException("micro_batch", $"must be positive (got {MicroBatch})");
        OptionException.Nested("probe", Probe.Validate);
    }
}

/// <summary>
/// Which examples a post-hoc trace sums over: BIOs of all / ID / OOD people and questions of ID (default) or OOD
/// people, each a seeded sample of at most <see cref="BioSize"/> / <see cref="QaSize"/> examples (all when fewer exist).
/// </summary>
public sealed record ProbeOptions
{
    [Description("BIOs of all, id or ood people.")]
    public PeopleSplit Bio { get; init; } = PeopleSplit.All;
    [Description("Questions of id (trained on) or ood people.")]
    [AllowedValues("id", "ood")]
    public PeopleSplit Qa { get; init; } = PeopleSplit.Id;
    [Description("BIO examples in the probe (all if fewer).")]
    public int BioSize { get; init; } = 1000;
    [Description("QA examples in the probe (all if fewer).")]
    public int QaSize { get; init; } = 1000;
    [Description("Seed of the probe sampling.")]
    public long Seed { get; init; }
    /// <summary>QA loss on every token instead of the answer span (as the training option of the same name).</summary>
    [Description("QA loss on every token, not only the answer.")]
    public bool QaAllTokens { get; init; }

    public void Validate()
    {
        if (BioSize <= 0) throw new OptionException("bio_size", $"must be positive (got {BioSize})");
        if (QaSize <= 0) throw new OptionException("qa_size", $"must be positive (got {QaSize})");
        if (Qa == PeopleSplit.All) throw new OptionException("qa", "is id or ood (all is not offered: ID questions are trained on, OOD ones never)");
    }
}

/// <summary>Scores accumulated during training (<see cref="TrainingTrace"/>): what, at which granularity, how often; a traced training resumes (its checkpoints hold the sums).</summary>
public sealed record TrainingTraceOptions
{
    [Description("Accumulate per-task gradient scores during training into RUN/train_scores/: grad | grad-x-weight | fisher | lr-grad (the paper's signed sum of lr * g, ranked by magnitude).")]
    public ScoreKind Score { get; init; } = ScoreKind.Grad;
    [Description("micro-batch = the trainer's own backward pass of each task part of a batch (no extra pass); example = one extra pass per example.")]
    public Granularity Granularity { get; init; } = Granularity.MicroBatch;
    [Description("Trace every K-th batch.")]
    public int Every { get; init; } = 1;

    public void Validate()
    {
        if (Every <= 0) throw new OptionException("every", $"must be positive (got {Every})");
        if (Score == ScoreKind.LrGrad && Every != 1) throw new OptionException("every", $"must be 1 with lr-grad, a sum over every step (got {Every})");
    }
}
