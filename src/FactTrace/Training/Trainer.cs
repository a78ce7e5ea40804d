using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Text;
using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>Thrown when a run is abandoned on purpose (<see cref="TrainOptions.StopAfterStep"/>).</summary>
public sealed class TrainingStopped(long step) : Exception($"training stopped after step {step}");

/// <summary>Thrown after an interrupted run (Ctrl-C, SIGTERM) has saved a resumable state.</summary>
public sealed class TrainingInterrupted(long step, string stateDir)
    : FactTraceException($"interrupted after step {step}; the state in '{stateDir}' is saved: rerun with --resume to continue", ErrorKind.Interrupted)
{
    public long Step { get; } = step;
}

/// <summary>Progress of a run, for a progress bar or periodic log lines.</summary>
public sealed record TrainProgress(string Stage, int StageIndex, int Stages, int Epoch, int Epochs, long Step,
    long TotalSteps, double Loss, double Lr, double TokensPerSecond);

/// <summary>
/// Trains one model with one strategy. A run folder holds: <c>metrics.jsonl</c>, <c>state/</c> (the latest resumable
/// checkpoint), an HF folder per finished stage (<c>stage1/</c> for two-stage) and <c>final/</c>, and
/// <c>eval.json</c>. Every file is written atomically; <see cref="Run"/> with resume continues exactly.
/// </summary>
public sealed class Trainer
{
    /// <summary>Training data: the BIOs of all people and the questions of the in-distribution people.</summary>
    public sealed record Data(IReadOnlyList<EncodedExample> Bio, IReadOnlyList<EncodedExample> QaTrain);

    /// <summary>One stage: its name (also its checkpoint folder), epochs, peak lr and the examples of an epoch.</summary>
    sealed record Stage(string Name, int Epochs, double Lr, Func<int, List<EncodedExample>> EpochData);

    /// <summary>Evaluates a model: <c>full</c> = every person (final), else a fixed subset (learning curves).</summary>
    public delegate EvalResult Evaluate(CausalLM model, bool full);

    readonly CausalLM model;
    readonly ITokenizer tokenizer;
    readonly Data data;
    readonly TrainOptions options;
    readonly string outDir;
    readonly Evaluate? evaluate;
    readonly IProgress<TrainProgress>? progress;
    readonly ITrainingObserver? observer;
    readonly List<Stage> stages;

    /// <param name="observer">Optional: sees each batch before its step (e.g. to trace per-task gradients); it must
    /// leave weights unchanged and gradients cleared, so training is the same with or without it.</param>
    public Trainer(CausalLM model, ITokenizer tokenizer, Data data, TrainOptions options, string outDir,
        Evaluate? evaluate = null, IProgress<TrainProgress>? progress = null, ITrainingObserver? observer = null)
    {
        options.Validate();
        (this.model, this.tokenizer, this.data, this.options, this.outDir, this.evaluate, this.progress, this.observer) =
            (model, tokenizer, data, options, outDir, evaluate, progress, observer);
        stages = PlanStages();
    }

    public string MetricsPath => Path.Combine(outDir, "metrics.jsonl");
    public string StateDir => Path.Combine(outDir, "state");
    StateStore States => new(StateDir);
    public string EvalPath => Path.Combine(outDir, "eval.json");

    /// <summary>The examples of every epoch of every stage, in order (what the model will see); for tests and audits.</summary>
    public IEnumerable<(string Stage, int Epoch, List<EncodedExample> Examples)> Schedule() =>
        stages.SelectMany((s, i) => Enumerable.Range(0, s.Epochs).Select(e => (s.Name, e, Batches(i, e).SelectMany(b => b).ToList())));

    /// <summary>
    /// The batches of an epoch. With length bucketing, each window of <c>LengthBuckets</c> batches of the shuffled
    /// stream is sorted by length before it is cut into batches, and the batches are then shuffled: padding drops
    /// (short QA rows no longer pad to a BIO's length) while every example still appears once, in random company.
    /// </summary>
    List<EncodedExample[]> Batches(int stageIndex, int epoch)
    {
        var examples = stages[stageIndex].EpochData(epoch);
        var b = options.BatchSize;
        if (options.LengthBuckets <= 1) return examples.Chunk(b).ToList();
        var window = b * options.LengthBuckets;
        var batches = examples.Chunk(window)
            .SelectMany(w => w.Select((e, i) => (e, i)).OrderBy(x => x.e.Length).ThenBy(x => x.i).Select(x => x.e).Chunk(b))
            .ToList();
        new Rng(options.Seed, $"train-batches/{stageIndex}", epoch).Shuffle(batches);
        return batches;
    }

    List<Stage> PlanStages()
    {
        var seed = options.Seed;
        // Each epoch's order is its own seeded stream: a pure function of (seed, stage, epoch), which is what
        // makes resuming mid-run exact.
        List<EncodedExample> Shuffled(IEnumerable<EncodedExample> xs, int stage, int epoch)
        {
            var list = xs.ToList();
            new Rng(seed, $"train-order/{stage}", epoch).Shuffle(list);
            return list;
        }

        return options.Strategy switch
        {
            Strategy.BioOnly => [new Stage("bio", options.BioEpochs, options.Lr, e => Shuffled(data.Bio, 0, e))],
            Strategy.TwoStage =>
            [
                new Stage("stage1", options.BioEpochs, options.Lr, e => Shuffled(data.Bio, 0, e)),
                new Stage("stage2", options.QaEpochs, options.QaLr ?? options.Lr, e =>
                {
                    var replay = (int)Math.Round(options.ReplayFraction * data.QaTrain.Count);
                    return Shuffled(data.QaTrain.Concat(Sample(data.Bio, replay, new Rng(seed, "train-replay", e))), 1, e);
                }),
            ],
            Strategy.Mixed => [new Stage("mixed", options.BioEpochs, options.Lr, e =>
            {
                var qaCount = options.QaRatio is { } r
                    ? (int)Math.Round(r / (1 - r) * data.Bio.Count)
                    : data.QaTrain.Count;
                return Shuffled(data.Bio.Concat(Sample(data.QaTrain, qaCount, new Rng(seed, "train-mixed-qa", e))), 0, e);
            })],
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
    }

    /// <summary><paramref name="count"/> examples: whole shuffled passes over <paramref name="pool"/>, then a shuffled part.</summary>
    static IEnumerable<EncodedExample> Sample(IReadOnlyList<EncodedExample> pool, int count, Rng rng)
    {
        if (pool.Count == 0 || count <= 0) yield break;
        var order = pool.ToList();
        for (int taken = 0; taken < count;)
        {
            rng.Shuffle(order);
            foreach (var e in order.Take(count - taken)) { yield return e; taken++; }
        }
    }

    int StepsPerEpoch(int stageIndex, int epoch) => Batches(stageIndex, epoch).Count;

    /// <summary>Trains to the end (or continues a stopped run when <paramref name="resume"/>); returns the final evaluation.</summary>
    public EvalResult? Run(bool resume, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(outDir);
        var fingerprint = Fingerprint();
        var saved = resume ? States.Latest() : null;
        var state = saved is null ? null : LoadState(saved, fingerprint);
        if (state is null)
        {
            // A resume before the first checkpoint starts over; without --resume an existing run is never touched.
            if (!resume && (File.Exists(MetricsPath) || Directory.Exists(StateDir)))
                throw FactTraceException.Usage($"'{outDir}' already holds a training run (use --resume to continue it, or --force to start over)");
            state = new TrainerState { RunFingerprint = fingerprint };
            AtomicFile.WriteAllText(MetricsPath, "");
        }
        if (state.Finished && File.Exists(EvalPath)) return Json.ReadFile<EvalResult>(EvalPath, "eval file");

        using var opt = new AdamW(ParameterGroups(), options.Beta1, options.Beta2);
        if (saved is not null) RestoreWeightsAndMoments(saved, opt, state);
        TruncateMetrics(state.MetricsLines);

        var parameters = model.parameters().ToList();
        var watch = Stopwatch.StartNew();
        double lastLoss = double.NaN;
        var session = Stopwatch.StartNew();
        long sessionTokens = 0;
        var stepsPerEpoch = stages.Select((s, i) => Enumerable.Range(0, s.Epochs).Select(e => StepsPerEpoch(i, e)).ToArray()).ToArray();
        long totalSteps = stepsPerEpoch.Sum(s => (long)s.Sum());

        while (state.Stage < stages.Count)
        {
            var stage = stages[state.Stage];
            long stageSteps = stepsPerEpoch[state.Stage].Sum();
            var schedule = LrSchedule.Create(stage.Lr, stageSteps, options.WarmupFraction, options.MinLrRatio);

            for (; state.Epoch < stage.Epochs; state.Epoch++, state.Batch = 0)
            {
                var batches = Batches(state.Stage, state.Epoch);
                while (state.Batch < batches.Count)
                {
                    var lr = schedule.At(state.StageStep);
                    observer?.BeforeStep(model, new ObservedBatch(stage.Name, state.Stage, state.GlobalStep, batches[state.Batch]));
                    using (var batch = Batch.Collate(batches[state.Batch], tokenizer.PadId))
                    {
                        lastLoss = TrainStep(batch, opt, parameters, lr, stage.Name, state.GlobalStep);
                        state.LossSum += lastLoss;
                        state.LossCount++;
                        state.TokensSinceLog += batch.Tokens;
                        sessionTokens += batch.Tokens;
                    }
                    state.Batch++;
                    state.StageStep++;
                    state.GlobalStep++;
                    if (state.GlobalStep % 16 == 0) GC.Collect(); // native memory is freed by finalizers
                    if (state.GlobalStep % options.LogEvery == 0) LogTrain(state, stage, lr, watch);
                    progress?.Report(new TrainProgress(stage.Name, state.Stage, stages.Count, state.Epoch, stage.Epochs,
                        state.GlobalStep, totalSteps, lastLoss, lr, sessionTokens / Math.Max(1e-9, session.Elapsed.TotalSeconds)));
                    if (state.GlobalStep % options.CheckpointEvery == 0) SaveState(opt, state);
                    if (state.GlobalStep == options.StopAfterStep) throw new TrainingStopped(state.GlobalStep);
                    if (cancel.IsCancellationRequested)
                    {
                        // Ctrl-C / SIGTERM: keep everything up to this step, resumable with --resume.
                        SaveState(opt, state);
                        throw new TrainingInterrupted(state.GlobalStep, StateDir);
                    }
                }
                if (evaluate is not null && options.EvalEvery > 0 && (state.Epoch + 1) % options.EvalEvery == 0
                    && state.Epoch + 1 < stage.Epochs)
                    LogEval(state, stage, EvaluateAndTrim(full: false));
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
                    LogEval(state, stage, atEnd);
                }
            }
            state.Stage++;
            state.Epoch = 0;
            state.Batch = 0;
            state.StageStep = 0;
            SaveState(opt, state);
        }

        HfCheckpoint.Save(model, Path.Combine(outDir, "final"), tokenizer, force: true);
        EvalResult? result = null;
        if (evaluate is not null)
        {
            result = EvaluateAndTrim(full: true) with { BioMemorizationStage1 = state.BioMemorizationStage1 };
            LogEval(state, stages[^1], result, final: true);
            AtomicFile.WriteAllText(EvalPath, JsonSerializer.Serialize(result, Json.Indented));
        }
        state.Finished = true;
        SaveState(opt, state);
        return result;
    }

    double TrainStep(Batch batch, AdamW opt, List<TorchSharp.Modules.Parameter> parameters, double lr, string stage, long step) =>
        Training.TrainStep.Run(model, options.Precision, opt, parameters, batch, lr, options.GradClip,
            value =>
            {
                if (!float.IsFinite(value))
                    throw new FactTraceException($"loss is {value} at step {step + 1} of stage '{stage}': training stopped; the last checkpoint in '{StateDir}' is intact");
            },
            norm =>
            {
                if (!double.IsFinite(norm))
                    throw new FactTraceException($"gradient norm is {norm} at step {step + 1} of stage '{stage}': training stopped; the last checkpoint in '{StateDir}' is intact");
            });

    /// <summary>
    /// An evaluation, then the native heap trimmed: evaluation batches are larger than training steps, and the heap
    /// would otherwise keep their freed memory (RSS grew by steps at each evaluation; see NativeAllocator).
    /// </summary>
    EvalResult EvaluateAndTrim(bool full)
    {
        var r = evaluate!(model, full);
        NativeAllocator.Trim();
        return r;
    }

    /// <summary>Weight decay on weight matrices only: not on norms, biases or the input embedding.</summary>
    IEnumerable<AdamW.Group> ParameterGroups()
    {
        var all = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        static bool NoDecay(string name, Tensor p) =>
            p.dim() < 2 || name.EndsWith("embed_in.weight") || name.EndsWith("embed_tokens.weight");
        yield return new AdamW.Group(all.Where(p => !NoDecay(p.Item1, p.Item2)).ToList(), options.WeightDecay);
        yield return new AdamW.Group(all.Where(p => NoDecay(p.Item1, p.Item2)).ToList(), 0.0);
    }

    static double TokensPerSecond(TrainerState s, Stopwatch w) =>
        w.Elapsed.TotalSeconds > 0 ? s.TokensSinceLog / Math.Max(1e-9, w.Elapsed.TotalSeconds) : 0;

    void LogTrain(TrainerState state, Stage stage, double lr, Stopwatch watch)
    {
        var line = new Dictionary<string, object?>
        {
            ["type"] = "train", ["step"] = state.GlobalStep, ["stage"] = stage.Name, ["epoch"] = state.Epoch,
            ["loss"] = state.LossSum / Math.Max(1, state.LossCount), ["lr"] = lr,
            ["tokens_per_s"] = Math.Round(TokensPerSecond(state, watch), 1),
        };
        AppendMetrics(state, line);
        state.LossSum = 0; state.LossCount = 0; state.TokensSinceLog = 0;
        watch.Restart();
    }

    void LogEval(TrainerState state, Stage stage, EvalResult r, bool final = false)
    {
        var line = new Dictionary<string, object?>
        {
            ["type"] = final ? "eval_final" : "eval", ["step"] = state.GlobalStep, ["stage"] = stage.Name,
            ["epoch"] = state.Epoch + (final ? 0 : 1), ["global_epoch"] = GlobalEpoch(state, final),
            ["qa_id"] = r.QaId, ["qa_ood"] = r.QaOod, ["bio_memorization"] = r.BioMemorization,
            ["bio_extraction"] = r.BioExtraction, ["people_per_split"] = r.PeoplePerSplit,
        };
        AppendMetrics(state, line);
    }

    /// <summary>Epochs completed over all stages (the x axis of learning curves).</summary>
    int GlobalEpoch(TrainerState s, bool final) =>
        final ? stages.Sum(x => x.Epochs) : stages.Take(s.Stage).Sum(x => x.Epochs) + Math.Min(s.Epoch + 1, stages[s.Stage].Epochs);

    void AppendMetrics(TrainerState state, Dictionary<string, object?> line)
    {
        File.AppendAllText(MetricsPath, JsonSerializer.Serialize(line, Json.Line) + "\n");
        state.MetricsLines++;
    }

    void TruncateMetrics(int lines)
    {
        if (!File.Exists(MetricsPath)) { AtomicFile.WriteAllText(MetricsPath, ""); return; }
        var kept = File.ReadLines(MetricsPath).Take(lines).ToList();
        AtomicFile.WriteLines(MetricsPath, kept);
    }

    void SaveState(AdamW opt, TrainerState state)
    {
        var saved = state with { OptimizerStep = opt.Step };
        States.Save(state.GlobalStep, dir =>
        {
            Safetensors.Write(Path.Combine(dir, "model.safetensors"), StateDict());
            Safetensors.Write(Path.Combine(dir, "optimizer.safetensors"), opt.StateTensors());
            AtomicFile.WriteAllText(Path.Combine(dir, "trainer_state.json"), JsonSerializer.Serialize(saved, Json.Indented));
        });
    }

    Dictionary<string, Tensor> StateDict() =>
        model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

    static TrainerState LoadState(string folder, string fingerprint)
    {
        var file = Path.Combine(folder, "trainer_state.json");
        var s = Json.ReadFile<TrainerState>(file, "trainer state");
        if (s.FormatVersion > TrainerState.CurrentFormat)
            throw new FactTraceException($"trainer state '{file}': format_version {s.FormatVersion} is newer than this program ({TrainerState.CurrentFormat})");
        if (s.RunFingerprint != fingerprint)
            throw FactTraceException.Usage($"trainer state '{file}' belongs to a different run configuration (options, model or data changed); start a new --out folder or use --force");
        return s;
    }

    void RestoreWeightsAndMoments(string folder, AdamW opt, TrainerState state)
    {
        var weights = Safetensors.Read(Path.Combine(folder, "model.safetensors"));
        var moments = Safetensors.Read(Path.Combine(folder, "optimizer.safetensors"));
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, p) in model.named_parameters())
            {
                if (!weights.TryGetValue(name, out var w))
                    throw new FactTraceException($"trainer state '{folder}/model.safetensors' lacks parameter '{name}'");
                if (!w.shape.SequenceEqual(p.shape))
                    throw new FactTraceException($"trainer state '{folder}/model.safetensors': '{name}' has shape [{string.Join(",", w.shape)}], the model [{string.Join(",", p.shape)}]");
                p.copy_(w);
            }
            opt.LoadState(moments, state.OptimizerStep);
        }
        finally
        {
            foreach (var t in weights.Values.Concat(moments.Values)) t.Dispose();
        }
    }

    /// <summary>SHA-256 over options, model config and every example's tokens: what must match for a resume.</summary>
    string Fingerprint()
    {
        using var sha = SHA256.Create();
        void Add(string s) { var b = Encoding.UTF8.GetBytes(s); sha.TransformBlock(b, 0, b.Length, null, 0); }
        Add(JsonSerializer.Serialize(options, Json.Line));
        Add(model.Config.ToJson());
        foreach (var e in data.Bio.Concat(data.QaTrain))
            Add(string.Join(",", e.Ids) + "|" + string.Join(",", e.Labels) + "|" + e.Kind + e.Person + ";");
        sha.TransformFinalBlock([], 0, 0);
        return Convert.ToHexString(sha.Hash!).ToLowerInvariant()[..16];
    }
}
