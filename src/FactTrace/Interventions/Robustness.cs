using System.ComponentModel;
using System.Text.Json.Serialization;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.World;

namespace FactTrace.Interventions;

/// <summary>
/// The choices a robustness analysis ("specification curve") varies for one trained model: the trace kind, the top-k
/// scope and rho, and at which rhos S is reset. Of a preset's <c>robustness</c> and of manifest.json alike.
/// </summary>
public sealed record RobustnessOptions
{
    [Description("Trace kinds: lr-grad (the training's own sums, train_scores/) and the post-hoc grad, grad-x-weight, fisher.")]
    public IReadOnlyList<ScoreKind> Scores { get; init; } = [ScoreKind.LrGrad, ScoreKind.Grad, ScoreKind.GradXWeight, ScoreKind.Fisher];
    [Description("Top-k scopes: global, per-matrix.")]
    public IReadOnlyList<TopKScope> Scopes { get; init; } = [TopKScope.Global, TopKScope.PerMatrix];
    [Description("Top-k fractions per task of the size and centralization claims.")]
    [JsonPropertyName("rho")] public IReadOnlyList<double> Rhos { get; init; } = [0.001, 0.01, 0.05];
    [Description("The rhos at which S is reset to the reference weights (each a subset of rho); empty = no resets.")]
    [JsonPropertyName("reset_rho")] public IReadOnlyList<double> ResetRhos { get; init; } = [0.01, 0.05];
    [Description("Random sets (same count per tensor as S) reset per S.")]
    public int Controls { get; init; } = 2;
    [Description("People of the OOD split whose questions measure a reset.")]
    public int EvalPeople { get; init; } = 50;
    [Description("Post-hoc kinds: one backward pass per example or per micro-batch.")]
    public Granularity Granularity { get; init; } = Granularity.Example;
    [Description("Post-hoc kinds: the probe set.")]
    public ProbeOptions Probe { get; init; } = new() { BioSize = 256, QaSize = 256 };
    [Description("Seed of the random controls.")]
    public long Seed { get; init; }
    /// <summary>Large models: two accumulators in memory instead of two per kind, at the cost of one probe pass per post-hoc kind.</summary>
    [Description("Score one trace kind at a time (two accumulators in memory instead of two per kind; one probe pass per post-hoc kind).")]
    public bool OneKindAtATime { get; init; }
    /// <summary>The study's own trainings give one precision; each one here trains both strategies again (a study option).</summary>
    [Description("Extra training precisions (fp32, bf16): each trains both strategies again at it and adds its variants (study only).")]
    public IReadOnlyList<Training.Precision> Precisions { get; init; } = [];

    public void Validate()
    {
        if (Precisions.Distinct().Count() != Precisions.Count) throw new OptionException("precisions", "a precision is given twice");
        if (Scores.Count == 0) throw new OptionException("scores", "give at least one kind");
        if (Scores.Distinct().Count() != Scores.Count) throw new OptionException("scores", "a kind is given twice");
        if (Scopes.Count == 0) throw new OptionException("scopes", "give at least one scope");
        if (Scopes.Distinct().Count() != Scopes.Count) throw new OptionException("scopes", "a scope is given twice");
        if (Rhos.Count == 0) throw new OptionException("rho", "give at least one fraction");
        foreach (var r in Rhos)
            if (!(r > 0 && r <= 1)) throw new OptionException("rho", $"{r} must be in (0, 1]");
        if (Rhos.Distinct().Count() != Rhos.Count) throw new OptionException("rho", "a fraction is given twice");
        foreach (var r in ResetRhos)
            if (!Rhos.Contains(r)) throw new OptionException("reset_rho", $"{r} is not one of `rho`");
        if (Controls <= 0) throw new OptionException("controls", $"must be positive (got {Controls})");
        if (EvalPeople <= 0) throw new OptionException("eval_people", $"must be positive (got {EvalPeople})");
        OptionException.Nested("probe", Probe.Validate);
    }
}

/// <summary>robustness.json (format_version 1): one row per trace variant of one model, written and read with this record.</summary>
public sealed record RobustnessReport
{
    public const string FileName = "robustness.json";
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = 1;
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("reference")] public required string Reference { get; init; }
    /// <summary>The precision the model was trained in (as the study resolved it), for the table's precision column.</summary>
    [JsonPropertyName("precision")] public required string Precision { get; init; }
    [JsonPropertyName("parameters_considered")] public long ParametersConsidered { get; init; }
    /// <summary>QA-OOD (fraction) of the unchanged model on the evaluated people, the baseline of every reset.</summary>
    [JsonPropertyName("qa_ood_none"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? QaOodNone { get; init; }
    [JsonPropertyName("eval_people")] public int EvalPeople { get; init; }
    /// <summary>Kinds asked for but not available (lr-grad of a training that did not trace), with the reason.</summary>
    [JsonPropertyName("skipped")] public IReadOnlyList<string> Skipped { get; init; } = [];
    [JsonPropertyName("variants")] public required IReadOnlyList<RobustnessRow> Variants { get; init; }
}

/// <summary>
/// One variant: |S| and its centralization (Gini over heads and over neurons; null where S touches fewer than 2 of them,
/// a degenerate statistic), and where asked QA-OOD with S reset and with random sets of the same per-tensor counts reset.
/// </summary>
public sealed record RobustnessRow
{
    [JsonPropertyName("score")] public required string Score { get; init; }
    [JsonPropertyName("when")] public required string When { get; init; }
    [JsonPropertyName("granularity")] public required string Granularity { get; init; }
    [JsonPropertyName("scope")] public required string Scope { get; init; }
    [JsonPropertyName("rho")] public double Rho { get; init; }
    [JsonPropertyName("k")] public long K { get; init; }
    [JsonPropertyName("shared")] public long Shared { get; init; }
    [JsonPropertyName("heads_with_shared")] public int HeadsWithShared { get; init; }
    [JsonPropertyName("neurons_with_shared")] public int NeuronsWithShared { get; init; }
    [JsonPropertyName("gini_heads"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? GiniHeads { get; init; }
    [JsonPropertyName("gini_neurons"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? GiniNeurons { get; init; }
    [JsonPropertyName("reset"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public ResetResult? Reset { get; init; }
}

/// <summary>QA-OOD (fractions) with S reset and the mean and sample sd over the random draws.</summary>
public sealed record ResetResult(
    [property: JsonPropertyName("qa_ood_shared")] double QaOodShared,
    [property: JsonPropertyName("qa_ood_random")] double QaOodRandom,
    [property: JsonPropertyName("qa_ood_random_sd"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? QaOodRandomSd,
    [property: JsonPropertyName("draws")] int Draws);

/// <summary>
/// One model under every trace variant: the post-hoc kinds from one set of backward passes over the probe
/// (<see cref="GradientTrace.RunKinds"/>), lr-grad from the training's train_scores/, each ranked under each scope and
/// rho; S reset at the reset rhos. No new training: the variants reuse the trained model.
/// </summary>
public sealed record RobustnessRequest(string World, string Model, string Out, RobustnessOptions Options)
{
    /// <summary>The reset target (default: init/ beside the model).</summary>
    public string? Reference { get; init; }
    /// <summary>The training's lr-grad sums (a train_scores/ folder); default: train_scores/ beside the model folder.</summary>
    public string? TrainScores { get; init; }
    public string Precision { get; init; } = "fp32";
    public bool Force { get; init; }
}

public static class RobustnessRun
{
    public static RobustnessReport Run(RobustnessRequest r, IProgress<WorkProgress>? progress = null)
    {
        var o = r.Options;
        o.Validate();
        OutputFolder.CheckWritable(r.Out, r.Force, "out");
        var world = FactWorld.Load(r.World);
        var folder = ModelFolder.Open(r.Model);
        var (model, tok) = folder.Load(world.Tokenizer);
        using var _ = model;
        var map = ParameterMap.For(model.Config);
        var candidates = Tracer.Candidates(map, false, false);
        var refPath = o.ResetRhos.Count > 0 ? Inputs.ReferenceFolder(r.Reference, r.Model) : "";
        using var editor = WeightEditor.Open(model, refPath.Length > 0 ? refPath : null);
        var evaluator = new Evaluator(tok);
        var set = EvalSetBuilder.ForPeople(world, tok, o.EvalPeople);

        double QaOod() => RecallPoint.MeasureQaOod(evaluator, model, set);

        // The score sets (kind, when, granularity, BIO, QA) come in batches, each scored, ranked and disposed before the
        // next: lr-grad read from the training; the post-hoc kinds from one set of probe passes, or one kind per batch.
        var skipped = new List<string>();
        var batches = new List<Func<List<(ScoreKind Kind, string When, string Granularity, ScoreAccumulator Bio, ScoreAccumulator Qa)>>>();
        if (o.Scores.Contains(ScoreKind.LrGrad))
        {
            var dir = r.TrainScores ?? TrainingTrace.BesideModel(folder.Path);
            if (!File.Exists(Path.Combine(dir, TraceFiles.ScoresBio))) skipped.Add($"lr-grad: no {TraceFiles.ScoresBio} in '{dir}' (the training did not trace)");
            else batches.Add(() =>
            {
                var (bio, qa, meta) = Tracer.LoadScores(dir);
                if (bio.Kind == ScoreKind.LrGrad) return [(bio.Kind, "during-training", meta.GetValueOrDefault("granularity") ?? "micro-batch", bio, qa)];
                skipped.Add($"lr-grad: '{dir}' holds {bio.Kind.Name()} scores");
                bio.Dispose();
                qa.Dispose();
                return [];
            });
        }
        var posthoc = o.Scores.Where(k => !k.DuringTrainingOnly()).ToList();
        ProbeSet? probes = null;
        foreach (var group in o.OneKindAtATime ? posthoc.Select(k => (List<ScoreKind>)[k]) : posthoc.Count > 0 ? [posthoc] : [])
            batches.Add(() =>
            {
                probes ??= ProbeSet.Build(world, tok, o.Probe);
                var bio = GradientTrace.RunKinds(model, probes.Bio, group, o.Granularity, tok.PadId,
                    progress: (d, t) => progress?.Report(new WorkProgress("BIO gradients", d, t)));
                Dictionary<ScoreKind, ScoreAccumulator> qa;
                try
                {
                    qa = GradientTrace.RunKinds(model, probes.Qa, group, o.Granularity, tok.PadId,
                        progress: (d, t) => progress?.Report(new WorkProgress("QA gradients", d, t)));
                }
                catch
                {
                    foreach (var x in bio.Values) x.Dispose();
                    throw;
                }
                return [.. group.Select(k => (k, "post-hoc", o.Granularity.Name(), bio[k], qa[k]))];
            });
        double? none = o.ResetRhos.Count > 0 ? QaOod() : null;
        var rows = new List<RobustnessRow>();
        int done = 0, total = (o.Scores.Count - (skipped.Count > 0 ? 1 : 0)) * o.Scopes.Count * o.Rhos.Count;
        void Score(ScoreKind kind, string when, string granularity, ScoreAccumulator bioScores, ScoreAccumulator qaScores)
        {
            using var rankBio = Tracer.Ranked(bioScores);
            using var rankQa = Tracer.Ranked(qaScores);
            foreach (var scope in o.Scopes)
                foreach (var rho in o.Rhos)
                {
                    progress?.Report(new WorkProgress($"{kind.Name()} {scope.Name()} rho={TraceNames.RhoTag(rho)}", done++, total));
                    using var mb = TopK.Select(rankBio.Scores, candidates, rho, scope);
                    using var mq = TopK.Select(rankQa.Scores, candidates, rho, scope);
                    using var shared = mb.Intersect(mq);
                    var stats = SharedSet.Statistics(map, candidates, rho, scope, mb, mq, shared, out var neurons);
                    int heads = stats.ByHead.Count(h => h.Shared > 0), neuronsWith = neurons.Count(n => n.Shared > 0);
                    ResetResult? reset = null;
                    if (o.ResetRhos.Contains(rho))
                    {
                        editor.Ablate(shared, ResetTo.Reference);
                        double inS;
                        try { inS = QaOod(); } finally { editor.Restore(); }
                        var random = new List<double>();
                        for (var d = 0; d < o.Controls; d++)
                        {
                            using var m = ControlMasks.RandomLike(shared, map, o.Seed, d);
                            editor.Ablate(m, ResetTo.Reference);
                            try { random.Add(QaOod()); } finally { editor.Restore(); }
                        }
                        var mean = random.Average();
                        double? sd = random.Count < 2 ? null : Math.Sqrt(random.Sum(x => (x - mean) * (x - mean)) / (random.Count - 1));
                        reset = new ResetResult(inS, mean, sd, random.Count);
                    }
                    rows.Add(new RobustnessRow
                    {
                        Score = kind.Name(), When = when, Granularity = granularity, Scope = scope.Name(), Rho = rho, K = stats.K,
                        Shared = stats.Shared, HeadsWithShared = heads, NeuronsWithShared = neuronsWith,
                        GiniHeads = heads >= 2 ? stats.Centralization.Heads.Gini : null,
                        GiniNeurons = neuronsWith >= 2 ? stats.Centralization.Neurons.Gini : null,
                        Reset = reset,
                    });
                    NativeHeap.Collect();
                }
        }
        foreach (var batch in batches)
        {
            var sets = batch();
            try
            {
                foreach (var x in sets) Score(x.Kind, x.When, x.Granularity, x.Bio, x.Qa);
            }
            finally
            {
                foreach (var x in sets) { x.Bio.Dispose(); x.Qa.Dispose(); }
            }
        }
        var report = new RobustnessReport
        {
            Model = folder.Path, Reference = refPath, Precision = r.Precision,
            ParametersConsidered = candidates.Sum(p => p.NumEl), QaOodNone = none, EvalPeople = o.EvalPeople,
            Skipped = skipped, Variants = rows,
        };
        OutputFolder.Create(r.Out, r.Force, tmp =>
            AtomicFile.WriteAllText(Path.Combine(tmp, RobustnessReport.FileName), Json.Serialize(report) + "\n"), "robustness folder");
        return report;
    }
}
