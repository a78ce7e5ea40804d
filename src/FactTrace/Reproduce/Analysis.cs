namespace FactTrace.Reproduce;

/// <summary>Options of the cross-task gradient trace stage (the trace issue's flags); part of the stage's options hash.</summary>
public sealed record TraceOptions
{
    /// <summary>grad | grad-x-weight | fisher.</summary>
    public string Score { get; init; } = "grad";
    /// <summary>example | batch.</summary>
    public string Granularity { get; init; } = "example";
    /// <summary>global | per-matrix.</summary>
    public string Scope { get; init; } = "global";
    public bool IncludeEmbeddings { get; init; }
    public bool IncludeNorms { get; init; }
    /// <summary>Examples per task in the probe sets.</summary>
    public int ProbeSize { get; init; } = 256;
    /// <summary>The rho sweep: top fraction of parameters per task.</summary>
    public IReadOnlyList<double> Rhos { get; init; } = [0.001, 0.01, 0.05];
}

/// <summary>Options of the ablation stage.</summary>
public sealed record AblateOptions
{
    /// <summary>The rho whose shared set S is ablated.</summary>
    public double Rho { get; init; } = 0.01;
    /// <summary>reference | zero.</summary>
    public string ResetTo { get; init; } = "reference";
    /// <summary>Random control draws.</summary>
    public int Draws { get; init; } = 5;
    /// <summary>Heads in the top-heads / random-heads control.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>People per split evaluated after each reset (about 20 evaluations per model; null = everyone).</summary>
    public int? EvalPeople { get; init; } = 100;
}

/// <summary>Options of the grafting stage.</summary>
public sealed record GraftOptions
{
    /// <summary>Target sparsity (fraction of parameters in the graft).</summary>
    public double Sparsity { get; init; } = 0.01;
    public int Steps { get; init; } = 100;
    public double Lr { get; init; } = 1e-1;
    /// <summary>The rho of the shared set the graft is compared with.</summary>
    public double Rho { get; init; } = 0.01;
    /// <summary>People per split in the graft's evaluations (null = everyone).</summary>
    public int? EvalPeople { get; init; } = 100;
}

/// <summary>Trace one trained model. <see cref="OutDir"/> is trace/STRATEGY/ and must end up holding trace.json.</summary>
public sealed record TraceRequest(string WorldDir, string ModelDir, string OutDir, TraceOptions Options, int Seed);

/// <summary>
/// Ablate the shared set of <see cref="TraceDir"/> (at <see cref="AblateOptions.Rho"/>) in <see cref="ModelDir"/>, resetting it to
/// <see cref="ReferenceDir"/> (init/ or the pretrained folder); <see cref="OutDir"/> = ablate/STRATEGY/ with ablation.json.
/// </summary>
public sealed record AblateRequest(string WorldDir, string ModelDir, string ReferenceDir, string TraceDir, string OutDir,
    AblateOptions Options, int Seed);

/// <summary>Graft <see cref="ModelDir"/> onto <see cref="ReferenceDir"/>; <see cref="OutDir"/> = graft/STRATEGY/ with graft.json.</summary>
public sealed record GraftRequest(string WorldDir, string ModelDir, string ReferenceDir, string TraceDir, string OutDir,
    GraftOptions Options, int Seed);

/// <summary>
/// The trace, ablation and grafting stages of `facttrace reproduce`, implemented by the Tracing and Interventions
/// libraries. Each call writes its whole output into <c>OutDir</c> (a fresh, empty folder) and may report progress lines.
/// </summary>
public interface IAnalysis
{
    /// <summary>False for a build without the analysis libraries: those stages are then recorded as not available.</summary>
    bool IsAvailable { get; }
    /// <summary>A name and version of the implementation; part of the options hash, so a new implementation redoes the stages.</summary>
    string Version { get; }
    void Trace(TraceRequest request, IProgress<string>? progress);
    void Ablate(AblateRequest request, IProgress<string>? progress);
    void Graft(GraftRequest request, IProgress<string>? progress);
}

/// <summary>What this build has until the trace branch is wired in: nothing, said so.</summary>
public sealed class NoAnalysis : IAnalysis
{
    public const string Message = "not available in this build";
    public static readonly NoAnalysis Instance = new();
    public bool IsAvailable => false;
    public string Version => "none";
    public void Trace(TraceRequest request, IProgress<string>? progress) => throw new NotSupportedException(Message);
    public void Ablate(AblateRequest request, IProgress<string>? progress) => throw new NotSupportedException(Message);
    public void Graft(GraftRequest request, IProgress<string>? progress) => throw new NotSupportedException(Message);
}
