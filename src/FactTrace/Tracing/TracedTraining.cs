using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Training;

namespace FactTrace.Tracing;

/// <summary>
/// `facttrace train`: one training run (<see cref="TrainRun"/>), optionally accumulating per-task gradient scores
/// during training (<see cref="TrainingTrace"/>) into RUN/train_scores/.
/// </summary>
public static class TracedTraining
{
    public static EvalResult? Run(string worldDir, string modelSpec, string outDir, TrainOptions options, bool resume, bool force,
        TrainingTraceOptions? trace = null, IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        options.Validate();
        if (resume && force) throw new OptionException("resume", "and `force` exclude each other");
        // A resume continues the sums from the checkpoint (the trainer's checkpoints hold them, see TrainingTrace.SaveState).
        if (trace is not null) OptionException.Nested("trace", trace.Validate);
        TrainingTrace? observer = null;
        try
        {
            var result = TrainRun.Run(worldDir, modelSpec, outDir, options, resume, force, progress, cancel,
                trace is null ? null : (m, tok) => observer = new TrainingTrace(m, trace.Score, trace.Granularity, tok.PadId, trace.Every));
            observer?.Save(Path.Combine(outDir, TrainingTrace.FolderName), force: true);
            return result;
        }
        finally
        {
            observer?.Dispose();
        }
    }
}
