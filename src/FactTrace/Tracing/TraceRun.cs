using FactTrace.IO;
using FactTrace.Models;
using FactTrace.World;

namespace FactTrace.Tracing;

/// <summary>
/// Trace one model: <see cref="Model"/> (a trained HF folder) on the world in <see cref="World"/>, into the folder
/// <see cref="Out"/>. With <see cref="Scores"/> (a folder holding scores_bio/scores_qa.safetensors, such as a training
/// run's train_scores/) the scores are read instead of computed; <see cref="DuringTraining"/> reads them from
/// train_scores/ beside the model folder.
/// </summary>
public sealed record TraceRequest(string World, string Model, string Out, TraceOptions Options)
{
    public bool DuringTraining { get; init; }
    public string? Scores { get; init; }
    /// <summary>Replace a non-empty <see cref="Out"/>.</summary>
    public bool Force { get; init; }

    /// <summary>The option fields that this request does not use (scores read from files use no probe).</summary>
    public IReadOnlyList<string> IgnoredFields() => DuringTraining || Scores is not null
        ? ["score", "granularity", "micro_batch", "probe"]
        : Options.IgnoredFields();
}

/// <summary>The `trace` stage: per-task scores (computed or read), then <see cref="Tracer.Write"/>.</summary>
public static class TraceRun
{
    public static TraceReport Run(TraceRequest r, IProgress<WorkProgress>? progress = null)
    {
        var options = r.Options;
        options.Validate();
        if (!r.DuringTraining && r.Scores is null && options.Score.DuringTrainingOnly())
            throw new OptionException("score", $"{options.Score.Name()} is accumulated during training only (train --trace-score {options.Score.Name()}, then trace --during-training)");
        OutputFolder.CheckWritable(r.Out, r.Force, "out");
        var world = FactWorld.Load(r.World);
        var folder = ModelFolder.Open(r.Model);
        var (model, tok) = folder.Load(world.Tokenizer);
        using var _ = model;
        var map = ParameterMap.For(model.Config);

        if (r.DuringTraining || r.Scores is not null)
        {
            var dir = r.Scores ?? TrainingTrace.BesideModel(folder.Path);
            if (!File.Exists(Path.Combine(dir, TraceFiles.ScoresBio)))
                throw new OptionException("scores", $"no {TraceFiles.ScoresBio} in '{dir}' (train with `trace_score`, or give `scores`)");
            var (bio, qa, meta) = Tracer.LoadScores(dir);
            using (bio)
            using (qa)
            {
                var when = meta.GetValueOrDefault("when") ?? (r.DuringTraining ? "during-training" : "post-hoc");
                var o = options with
                {
                    Score = bio.Kind,
                    Granularity = meta.TryGetValue("granularity", out var g) ? TraceNames.ParseGranularity(g) : options.Granularity,
                };
                // During training the probe is the training data itself: BIOs of everyone, questions of ID people.
                var probe = when == "during-training"
                    ? new ProbeInfo("all", "id", bio.Examples, qa.Examples, 0)
                    : new ProbeInfo(options.Probe.Bio.Name(), options.Probe.Qa.Name(), bio.Examples, qa.Examples, options.Probe.Seed);
                return Tracer.Write(r.Out, r.Force, map, bio, qa, o, folder.Path, when, probe, progress);
            }
        }

        var probes = ProbeSet.Build(world, tok, options.Probe);
        var (b, q) = Tracer.Score(model, probes, options, tok.PadId, progress);
        using (b)
        using (q)
        {
            var probe = new ProbeInfo(options.Probe.Bio.Name(), options.Probe.Qa.Name(), probes.Bio.Count, probes.Qa.Count, options.Probe.Seed);
            return Tracer.Write(r.Out, r.Force, map, b, q, options, folder.Path, "post-hoc", probe, progress);
        }
    }
}
