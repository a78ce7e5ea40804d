using System.CommandLine;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace train`: one strategy, one model, one run folder.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var world = new Option<string>("--world") { Description = "World folder (from `facttrace world`).", Required = true };
        var model = new Option<string>("--model")
        {
            Description = "A named config (tiny-neox, tiny-llama, ...), a config.json, or a pretrained HF folder.",
            DefaultValueFactory = _ => "tiny-neox",
        };
        var strategy = new Option<string>("--strategy") { Description = "two-stage | mixed | bio-only.", Required = true };
        strategy.AcceptOnlyFromAmong("two-stage", "mixed", "bio-only");
        var output = new Option<string>("--out") { Description = "Run folder.", Required = true };
        var d = new TrainOptions();
        var seed = new Option<long>("--seed") { Description = "Seed of the initial weights and the data order.", DefaultValueFactory = _ => 0 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs over the BIOs (two-stage stage 1, mixed, bio-only).", DefaultValueFactory = _ => d.BioEpochs };
        var qaEpochs = new Option<int>("--qa-epochs") { Description = "Epochs over the ID questions in two-stage stage 2.", DefaultValueFactory = _ => d.QaEpochs };
        var qaRatio = new Option<double?>("--qa-ratio") { Description = "Mixed: share of QA examples per epoch (default: every ID question once)." };
        var replay = new Option<double>("--replay") { Description = "Two-stage stage 2: BIOs replayed, as a fraction of its QA examples.", DefaultValueFactory = _ => 0 };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => d.Lr };
        var qaLr = new Option<double?>("--qa-lr") { Description = "Peak learning rate of two-stage stage 2 (default: --lr)." };
        var batch = new Option<int>("--batch-size") { Description = "Sequences per step.", DefaultValueFactory = _ => d.BatchSize };
        var wd = new Option<double>("--weight-decay") { Description = "AdamW weight decay (not on norms, biases, embeddings).", DefaultValueFactory = _ => d.WeightDecay };
        var warmup = new Option<double>("--warmup") { Description = "Warmup fraction of each stage's steps.", DefaultValueFactory = _ => d.WarmupFraction };
        var clip = new Option<double>("--grad-clip") { Description = "Gradient-norm clip (0 = off).", DefaultValueFactory = _ => d.GradClip };
        var allTokens = new Option<bool>("--qa-all-tokens") { Description = "QA loss on every token, not only the answer." };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate a subset every K epochs (learning curves); 0 = only at the end.", DefaultValueFactory = _ => d.EvalEvery };
        var evalPeople = new Option<int>("--eval-people") { Description = "People per split in periodic evaluations.", DefaultValueFactory = _ => d.EvalPeople };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Save a resumable state every N steps.", DefaultValueFactory = _ => d.CheckpointEvery };
        var precision = new Option<string>("--precision") { Description = "fp32; bf16 (bf16 compute, fp32 master weights); auto (bf16 where the CPU has native bf16, else fp32).", DefaultValueFactory = _ => "fp32" };
        precision.AcceptOnlyFromAmong("fp32", "bf16", "auto");
        var threads = Common.Threads();
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out exactly where it stopped." };
        var force = new Option<bool>("--force") { Description = "Delete an existing run in --out and start over." };
        var traceScores = new Option<string?>("--trace-scores") { Description = "Also accumulate per-task gradient scores during training (grad | grad-x-weight | fisher) into RUN/train_scores/ (not with --resume)." };
        traceScores.AcceptOnlyFromAmong("grad", "grad-x-weight", "fisher");
        var traceGranularity = new Option<string>("--trace-granularity") { Description = "micro-batch = one backward pass per task part of a batch; example = one per example.", DefaultValueFactory = _ => "micro-batch" };
        traceGranularity.AcceptOnlyFromAmong("example", "micro-batch");
        var traceEvery = new Option<int>("--trace-every") { Description = "Trace every K-th batch.", DefaultValueFactory = _ => 1 };

        var cmd = new Command("train", "Train a model on a world with one strategy (two-stage, mixed or bio-only), then evaluate it.");
        foreach (var o in new Option[] { world, model, strategy, output, seed, epochs, qaEpochs, qaRatio, replay, lr, qaLr, batch, wd, warmup, clip, allTokens, evalEvery, evalPeople, checkpointEvery, precision, threads, resume, force, traceScores, traceGranularity, traceEvery })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var options = new TrainOptions
            {
                Strategy = ParseStrategy(r.GetValue(strategy)!),
                Seed = r.GetValue(seed), BioEpochs = r.GetValue(epochs), QaEpochs = r.GetValue(qaEpochs),
                QaRatio = r.GetValue(qaRatio), ReplayFraction = r.GetValue(replay), Lr = r.GetValue(lr), QaLr = r.GetValue(qaLr),
                BatchSize = r.GetValue(batch), WeightDecay = r.GetValue(wd), WarmupFraction = r.GetValue(warmup),
                GradClip = r.GetValue(clip), QaLossAllTokens = r.GetValue(allTokens), EvalEvery = r.GetValue(evalEvery),
                EvalPeople = r.GetValue(evalPeople), CheckpointEvery = r.GetValue(checkpointEvery),
                Precision = Precisions.Parse(r.GetValue(precision)!),
            };
            options.Validate();
            Common.SetThreads(r.GetValue(threads));
            TraceDuringTraining? trace = r.GetValue(traceScores) is { } ts
                ? new TraceDuringTraining(TraceNames.ParseScore(ts), TraceNames.ParseGranularity(r.GetValue(traceGranularity)!), r.GetValue(traceEvery))
                : null;
            var result = Run(r.GetValue(world)!, r.GetValue(model)!, r.GetValue(output)!, options, r.GetValue(resume), r.GetValue(force), trace);
            if (result is not null) EvalCommand.Print(result);
            return Cli.Ok;
        });
        return cmd;
    }

    public static Strategy ParseStrategy(string s) => s switch
    {
        "two-stage" => Strategy.TwoStage,
        "mixed" => Strategy.Mixed,
        "bio-only" => Strategy.BioOnly,
        _ => throw FactTraceException.Usage($"--strategy '{s}': expected two-stage, mixed or bio-only"),
    };

    /// <summary>Gradient scores accumulated during training (see <see cref="TrainingTrace"/>).</summary>
    public sealed record TraceDuringTraining(ScoreKind Score, Granularity Granularity, int Every);

    /// <summary>
    /// Sets up the run folder (init/ for a fresh model), trains with progress, and returns the final evaluation. With
    /// <paramref name="trace"/>, per-task scores are accumulated during training and written to RUN/train_scores/.
    /// </summary>
    public static EvalResult? Run(string worldDir, string modelSpec, string outDir, TrainOptions options, bool resume, bool force,
        TraceDuringTraining? trace = null)
    {
        if (resume && force) throw FactTraceException.Usage("--resume and --force exclude each other");
        if (trace is not null && resume)
            throw FactTraceException.Usage("--trace-scores cannot be combined with --resume: the scores would miss the steps before the stop (start over with --force)");
        if (trace is not null && trace.Every <= 0) throw FactTraceException.Usage($"--trace-every must be positive (got {trace.Every})");
        using var interrupt = Common.InterruptOnSignals();
        TrainingTrace? observer = null;
        try
        {
            var result = Common.WithTrainProgress(Describe(options.Strategy), progress =>
                TrainRun.Run(worldDir, modelSpec, outDir, options, resume, force, progress, interrupt.Token,
                    trace is null ? null : (m, tok) => observer = new TrainingTrace(m, trace.Score, trace.Granularity, tok.PadId, trace.Every)));
            observer?.Save(Path.Combine(outDir, TrainingTrace.FolderName), force: true);
            return result;
        }
        finally
        {
            observer?.Dispose();
        }
    }

    static string Describe(Strategy s) => s switch { Strategy.TwoStage => "two-stage", Strategy.Mixed => "mixed", _ => "bio-only" };
}
