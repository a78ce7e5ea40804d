using System.Diagnostics;
using System.Text.Json;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Text;

namespace FactTrace.Training;

/// <summary>
/// Trains one model with one strategy. A run folder holds: <c>metrics.jsonl</c>, <c>state/</c> (the latest resumable
/// checkpoint), an HF folder per finished stage (<c>stage1/</c> for two-stage) and <c>final/</c>, and
/// <c>eval.json</c>. Every file is written atomically; <see cref="Run"/> with resume continues exactly.
/// The data order is in <see cref="StagePlan"/>, the state on disk in <see cref="Checkpoints"/>, metrics.jsonl in
/// <see cref="MetricsLog"/>, the optimizer groups in <see cref="WeightDecay"/> and one step in <see cref="TrainStep"/>;
/// this class runs the loop and the evaluation schedule.
/// </summary>
public sealed class Trainer
{
    /// <summary>Training data: the BIOs of all people and the questions of the in-distribution people.</summary>
    public sealed record Data(IReadOnlyList<EncodedExample> Bio, IReadOnlyList<EncodedExample> QaTrain);

    readonly CausalLM model;
    readonly ITokenizer tokenizer;
    readonly TrainOptions options;
    readonly string outDir;
    readonly ITrainingEvaluator? evaluate;
    readonly IProgress<TrainProgress>? progress;
    readonly ITrainingObserver? observer;
    readonly StagePlan stages;
    readonly Checkpoints checkpoints;
    readonly MetricsLog metrics;

    /// <param name="observer">Optional: sees each batch before its step (e.g. to trace per-task gradients); it must
    /// leave weights unchanged and gradients cleared, so training is the same with or without it.</param>
    public Trainer(CausalLM model, ITokenizer tokenizer, Data data, TrainOptions options, string outDir,
        ITrainingEvaluator? evaluate = null, IProgress<TrainProgress>? progress = null, ITrainingObserver? observer = null)
    {
        options.Validate();
        (this.model, this.tokenizer, this.options, this.outDir, this.evaluate, this.progress, this.observer) =
            (model, tokenizer, options, outDir, evaluate, progress, observer);
        stages = new StagePlan(data, options);
        checkpoints = new Checkpoints(model, options, data, StateDir, observer);
        metrics = new MetricsLog(MetricsPath, stages);
    }

    public string MetricsPath => Path.Combine(outDir, "metrics.jsonl");
    public string StateDir => Path.Combine(outDir, "state");
    public string EvalPath => Path.Combine(outDir, "eval.json");

    /// <summary>The examples of every epoch of every stage, in order (what the model will see); for tests and audits.</summary>
    public IEnumerable<(string Stage, int Epoch, List<EncodedExample> Examples)> Schedule() =>
        stages.Stages.SelectMany((s, i) => Enumerable.Range(0, s.Epochs).Select(e => (s.Name, e, stages.Batches(i, e).SelectMany(b => b).ToList())));

    /// <summary>Trains to the end (or continues a stopped run when <paramref name="resume"/>); returns the final evaluation.</summary>
    public ITrainingEvaluation? Run(bool resume, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(outDir);
        var fingerprint = checkpoints.Fingerprint();
        var saved = resume ? checkpoints.Latest() : null;
        var state = saved is null ? null : Checkpoints.LoadState(saved, fingerprint);
        if (state is null)
        {
            // A resume before the first checkpoint starts over; without --resume an existing run is never touched.
            if (!resume && (File.Exists(MetricsPath) || Directory.Exists(StateDir)))
                throw new OptionException("out", $"'{outDir}' already holds a training run (use `resume` to continue it, or `force` to start over)");
            state = new TrainerState { RunFingerprint = fingerprint };
            AtomicFile.WriteAllText(MetricsPath, "");
        }
        if (state.Finished && File.Exists(EvalPath))
        {
            if (saved is not null) checkpoints.RestoreObserver(saved); // what it accumulated, as if it had watched
            return evaluate?.Read(EvalPath);
        }

        using var opt = new AdamW(WeightDecay.Groups(model, options.WeightDecay), options.Beta1, options.Beta2);
        if (saved is not null) checkpoints.RestoreWeightsAndMoments(saved, opt, state);
        metrics.Truncate(state.MetricsLines);

        var parameters = model.parameters().ToList();
        var watch = Stopwatch.StartNew();
        double lastLoss = double.NaN;
        var session = Stopwatch.StartNew();
        long sessionTokens = 0;
        var stepsPerEpoch = stages.StepsPerEpoch();
        long totalSteps = stepsPerEpoch.Sum(s => (long)s.Sum());

        while (state.Stage < stages.Count)
        {
            var stage = stages[state.Stage];
            long stageSteps = stepsPerEpoch[state.Stage].Sum();
            var schedule = LrSchedule.Create(stage.Lr, stageSteps, options.WarmupFraction, options.MinLrRatio);

            for (; state.Epoch < stage.Epochs; state.Epoch++, state.Batch = 0)
            {
                var batches = stages.Batches(state.Stage, state.Epoch);
                while (state.Batch < batches.Count)
                {
                    var lr = schedule.At(state.StageStep);
                    var observed = new ObservedBatch(stage.Name, state.Stage, state.GlobalStep, lr, batches[state.Batch]);
                    observer?.BeforeStep(model, observed);
                    var parts = TaskParts.Of(batches[state.Batch]);
                    var collated = parts.Select(p => Batch.Collate(p.Examples, tokenizer.PadId)).ToList();
                    try
                    {
                        long stepLossTokens = collated.Sum(b => (long)b.LossTokens);
                        Action<int>? afterPart = observer is null ? null : i =>
                            observer.AfterPartBackward(model, new ObservedPart(observed, parts[i].Kind, parts[i].Examples, collated[i].LossTokens, stepLossTokens));
                        lastLoss = TrainStep(collated, opt, parameters, lr, stage.Name, state.GlobalStep, afterPart);
                        var tokens = collated.Sum(b => b.Tokens);
                        state.LossSum += lastLoss;
                        state.LossCount++;
                        state.TokensSinceLog += tokens;
                        sessionTokens += tokens;
                    }
                    finally
                    {
                        foreach (var b in collated) b.Dispose();
                    }
                    state.Batch++;
                    state.StageStep++;
                    state.GlobalStep++;
                    if (state.GlobalStep % 16 == 0) GC.Collect(); // native memory is freed by finalizers
                    if (state.GlobalStep % options.LogEvery == 0) metrics.Train(state, stage, lr, watch);
                    progress?.Report(new TrainProgress(stage.Name, state.Stage, stages.Count, state.Epoch, stage.Epochs,
                        state.GlobalStep, totalSteps, lastLoss, lr, sessionTokens / Math.Max(1e-9, session.Elapsed.TotalSeconds)));
                    if (state.GlobalStep % options.CheckpointEvery == 0) checkpoints.Save(opt, state);
                    if (state.GlobalStep == options.StopAfterStep) throw new TrainingStopped(state.GlobalStep);
                    if (cancel.IsCancellationRequested)
                    {
                        // Ctrl-C / SIGTERM: keep everything up to this step, resumable with --resume.
                        checkpoints.Save(opt, state);
                        throw new TrainingInterrupted(state.GlobalStep, StateDir);
                    }
                }
                if (evaluate is not null && options.EvalEvery > 0 && (state.Epoch + 1) % options.EvalEvery == 0
                    && state.Epoch + 1 < stage.Epochs)
                    metrics.Eval(state, stage, EvaluateAndTrim(full: false));
            }

            // The end of a stage that is not the last: its HF checkpoint, a curve point, and (two-stage) the
            // stage-1 memory, measured on everyone because forgetting in stage 2 is part of the finding.
            if (state.Stage < stages.Count - 1)
            {
                HfCheckpoint.Save(model, Path.Combine(outDir, stage.Name), tokenizer, force: true);
                if (evaluate is not null)
                {
                    var atEnd = EvaluateAndTrim(full: stage.Name == "stage1");
                    if (stage.Name == "stage1") state.BioMemorizationStage1 = atEnd.BioMemorization;
                    state.Epoch = stage.Epochs - 1;
                    metrics.Eval(state, stage, atEnd);
                }
            }
            state.Stage++;
            state.Epoch = 0;
            state.Batch = 0;
            state.StageStep = 0;
            checkpoints.Save(opt, state);
        }

        HfCheckpoint.Save(model, Path.Combine(outDir, "final"), tokenizer, force: true);
        ITrainingEvaluation? result = null;
        if (evaluate is not null)
        {
            var last = EvaluateAndTrim(full: true);
            metrics.Eval(state, stages[^1], last, final: true);
            result = evaluate.Finish(last, state.BioMemorizationStage1, EvalPath);
        }
        state.Finished = true;
        checkpoints.Save(opt, state);
        return result;
    }

    double TrainStep(IReadOnlyList<Batch> parts, AdamW opt, List<TorchSharp.Modules.Parameter> parameters, double lr, string stage, long step,
        Action<int>? afterPart) =>
        Training.TrainStep.Run(model, null, Training.TrainStep.AutocastOf(options.Precision), opt, parameters, parts, lr, options.GradClip,
            value =>
            {
                if (!float.IsFinite(value))
                    throw new FactTraceException($"loss is {value} at step {step + 1} of stage '{stage}': training stopped; the last checkpoint in '{StateDir}' is intact");
            },
            norm =>
            {
                if (!double.IsFinite(norm))
                    throw new FactTraceException($"gradient norm is {norm} at step {step + 1} of stage '{stage}': training stopped; the last checkpoint in '{StateDir}' is intact");
            }, afterPart);

    /// <summary>
    /// An evaluation, then the native heap trimmed: evaluation batches are larger than training steps, and the heap
    /// would otherwise keep their freed memory (RSS grew by steps at each evaluation; see NativeAllocator).
    /// </summary>
    ITrainingEvaluation EvaluateAndTrim(bool full)
    {
        var r = evaluate!.Evaluate(model, full);
        NativeAllocator.Trim();
        return r;
    }
}
