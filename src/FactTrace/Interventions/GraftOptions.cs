using System.ComponentModel;
using FactTrace.IO;

namespace FactTrace.Interventions;

/// <summary>
/// The graft's options: of the `graft` verb (flags = kebab-case of the fields), of a preset's <c>graft</c> and of
/// manifest.json alike.
/// </summary>
public sealed record GraftOptions
{
    /// <summary>Fraction of the considered parameters grafted (the mask budget).</summary>
    [Description("Fraction of the considered parameters grafted.")]
    public double Sparsity { get; init; } = 0.01;
    [Description("Optimization steps on the mask logits.")]
    public int Steps { get; init; } = 100;
    /// <summary>Step size of the normalized gradient steps on the mask logits.</summary>
    [Description("Step size of the normalized steps on the logits.")]
    public double Lr { get; init; } = 0.1;
    [Description("ID questions per step.")]
    public int BatchSize { get; init; } = 32;
    /// <summary>Initial logits: +InitLogit on the largest-movement parameters, -InitLogit elsewhere.</summary>
    [Description("Initial logit magnitude (+ on the largest-movement parameters, - elsewhere).")]
    public double InitLogit { get; init; } = 3.0;
    [Description("Graft the embeddings too (default: they keep their trained values).")]
    public bool IncludeEmbeddings { get; init; }
    [Description("Graft the norms too (default: they keep their trained values).")]
    public bool IncludeNorms { get; init; }
    [Description("The rho of the shared set S the graft is compared with (picks the mask file of a trace folder).")]
    public double Rho { get; init; } = 0.01;
    [Description("Evaluate the first N people of each split (default: everyone).")]
    public int? EvalPeople { get; init; }
    [Description("Seed of the batch order.")]
    public long Seed { get; init; }

    public void Validate()
    {
        if (!(Sparsity > 0 && Sparsity <= 1)) throw new OptionException("sparsity", $"must be in (0, 1] (got {Sparsity})");
        if (Steps < 0) throw new OptionException("steps", $"must be >= 0 (got {Steps})");
        if (!(Lr > 0)) throw new OptionException("lr", $"must be positive (got {Lr})");
        if (BatchSize <= 0) throw new OptionException("batch_size", $"must be positive (got {BatchSize})");
        if (!(InitLogit > 0)) throw new OptionException("init_logit", $"must be positive (got {InitLogit})");
        if (!(Rho > 0 && Rho <= 1)) throw new OptionException("rho", $"must be in (0, 1] (got {Rho})");
        if (EvalPeople is <= 0) throw new OptionException("eval_people", $"must be positive (got {EvalPeople})");
    }
}
