using FactTrace.Interventions;
using FactTrace.Reproduce;
using FactTrace.Tracing;

namespace FactTrace.Cli.Commands;

/// <summary>
/// The trace, ablation and grafting stages of `facttrace reproduce`, done exactly as the `trace`, `ablate` and
/// `graft` verbs do them (the reproduce options map onto theirs).
/// </summary>
public sealed class TracingAnalysis : IAnalysis
{
    public static readonly TracingAnalysis Instance = new();
    public bool IsAvailable => true;
    public string Version => "tracing-1";

    /// <summary>"trace/mixed" for OUT/trace/mixed: what the progress lines of a stage are called.</summary>
    static string StageName(string outDir) =>
        $"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(outDir).TrimEnd('/')))}/{Path.GetFileName(Path.GetFullPath(outDir).TrimEnd('/'))}";

    public void Trace(TraceRequest r, IProgress<string>? progress)
    {
        Common.Label.Value = StageName(r.OutDir);
        var o = r.Options;
        var options = new FactTrace.Tracing.TraceOptions
        {
            Score = TraceNames.ParseScore(o.Score),
            Granularity = TraceNames.ParseGranularity(o.Granularity == "batch" ? "micro-batch" : o.Granularity),
            Scope = TraceNames.ParseScope(o.Scope),
            IncludeEmbeddings = o.IncludeEmbeddings,
            IncludeNorms = o.IncludeNorms,
            Rhos = o.Rhos,
            Probe = new ProbeOptions { BioSize = o.ProbeSize, QaSize = o.ProbeSize, Seed = r.Seed },
        };
        options.Validate();
        TraceCommand.Run(r.WorldDir, r.ModelDir, r.OutDir, options, duringTraining: false, scoresDir: null, force: true);
    }

    public void Ablate(AblateRequest r, IProgress<string>? progress)
    {
        Common.Label.Value = StageName(r.OutDir);
        var o = r.Options;
        var options = new AblationOptions
        {
            ResetTo = o.ResetTo == "zero" ? ResetTo.Zero : ResetTo.Reference,
            Controls = o.Draws,
            Heads = o.Heads,
            Seed = r.Seed,
        };
        options.Validate();
        Directory.CreateDirectory(r.OutDir);
        var mask = Path.Combine(r.TraceDir, TraceFiles.Mask("shared", o.Rho));
        AblateCommand.Run(r.WorldDir, r.ModelDir, r.ReferenceDir, mask, o.Rho, options, o.EvalPeople, r.OutDir, force: true, out _);
    }

    public void Graft(GraftRequest r, IProgress<string>? progress)
    {
        Common.Label.Value = StageName(r.OutDir);
        var o = r.Options;
        var options = new FactTrace.Interventions.GraftOptions { Sparsity = o.Sparsity, Steps = o.Steps, Lr = o.Lr, Seed = r.Seed };
        options.Validate();
        var shared = Path.Combine(r.TraceDir, TraceFiles.Mask("shared", o.Rho));
        GraftCommand.Run(r.WorldDir, r.ModelDir, r.ReferenceDir, r.OutDir, options, shared, o.Rho, o.EvalPeople, force: true);
    }
}
