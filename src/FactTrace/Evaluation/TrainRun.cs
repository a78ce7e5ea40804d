using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Evaluation;

/// <summary>
/// (In Evaluation, not Training: a run is trained and evaluated as it goes, and Training does not know Evaluation.)
/// One training run as `facttrace train` and `facttrace reproduce` do it: set up the run folder (init/ for a fresh
/// model, train.json), train with periodic evaluations, and return the final evaluation (also in eval.json).
/// </summary>
public static class TrainRun
{
    public static EvalResult? Run(string worldDir, string modelSpec, string outDir, TrainOptions options, bool resume, bool force,
        IProgress<TrainProgress>? progress = null, CancellationToken cancel = default,
        Func<CausalLM, Text.ITokenizer, ITrainingObserver>? observe = null)
    {
        var world = FactWorld.Load(worldDir);
        // A resume of a run that stopped before it wrote train.json starts it over, but never empties a folder
        // holding anything a run does not write.
        if (resume && !File.Exists(Path.Combine(outDir, "train.json")))
        {
            var foreign = Directory.Exists(outDir)
                ? Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Where(n => !IsRunEntry(n!)).ToList()
                : [];
            if (foreign.Count > 0)
                throw new OptionException("resume", $"'{outDir}' is not a training run (it holds '{foreign[0]}')");
            resume = false;
            force = true;
        }
        // --force only matters for a fresh start: a resume never deletes the run it continues.
        if (!resume) PrepareFolder(outDir, force);

        var source = ModelSource.Open(modelSpec, world, options.Seed);
        using var model = source.Model;
        var initDir = Path.Combine(outDir, "init");
        if (source.Fresh && !HfCheckpoint.IsCheckpointFolder(initDir)) HfCheckpoint.Save(model, initDir, source.Tokenizer, force: true);
        // A resume keeps the train.json of the run it continues: the trainer refuses a state of other options, and a
        // refused resume must leave the folder as it was.
        if (!resume)
            AtomicFile.WriteAllText(Path.Combine(outDir, "train.json"), Json.Serialize(new
            {
                world = Path.GetFullPath(worldDir), model = modelSpec, reference = source.Fresh ? "init" : Path.GetFullPath(modelSpec),
                options, threads = TorchSharp.torch.get_num_threads(),
            }));

        var data = ExampleEncoder.FromWorld(world, source.Tokenizer, options.QaLossAllTokens);
        var full = EvalSetBuilder.Build(world, source.Tokenizer);
        var subset = EvalSetBuilder.Subset(full, world, options.EvalPeople);
        var evaluator = new Evaluator(source.Tokenizer);
        var observer = observe?.Invoke(model, source.Tokenizer);
        return (EvalResult?)new Trainer(model, source.Tokenizer, data, options, outDir, new TrainingEvaluator(evaluator, full, subset), progress,
            observer).Run(resume, cancel);
    }

    static bool IsRunEntry(string name) =>
        name.StartsWith('.') || name is "init" or "state" or "metrics.jsonl" or "train.json" or "eval.json" or "final"
            || name.StartsWith("stage");

    static void PrepareFolder(string outDir, bool force)
    {
        if (File.Exists(outDir)) throw new OptionException("out", $"'{outDir}' is a file, not a folder");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
        {
            if (!force) throw new OptionException("out", $"'{outDir}' is not empty (use `resume` to continue a run, or `force` to start over)");
            Directory.Delete(outDir, recursive: true);
        }
        Directory.CreateDirectory(outDir);
    }
}
