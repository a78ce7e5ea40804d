using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.World;

namespace FactTrace.Training;

/// <summary>
/// One training run as `facttrace train` and `facttrace reproduce` do it: set up the run folder (init/ for a fresh
/// model, train.json), train with periodic evaluations, and return the final evaluation (also in eval.json).
/// </summary>
public static class TrainRun
{
    public static EvalResult? Run(string worldDir, string modelSpec, string outDir, TrainOptions options, bool resume, bool force,
        IProgress<TrainProgress>? progress = null)
    {
        var world = FactWorld.Load(worldDir);
        if (!resume) PrepareFolder(outDir, force);
        else if (!Directory.Exists(Path.Combine(outDir, "state")))
            throw FactTraceException.Usage($"--resume: '{outDir}' holds no training state to resume");

        var source = ModelSource.Open(modelSpec, world, options.Seed);
        using var model = source.Model;
        var initDir = Path.Combine(outDir, "init");
        if (source.Fresh && !HfCheckpoint.IsCheckpointFolder(initDir)) HfCheckpoint.Save(model, initDir, source.Tokenizer, force: true);
        AtomicFile.WriteAllText(Path.Combine(outDir, "train.json"), Json.Serialize(new
        {
            world = Path.GetFullPath(worldDir), model = modelSpec, reference = source.Fresh ? "init" : Path.GetFullPath(modelSpec),
            options, threads = TorchSharp.torch.get_num_threads(),
        }));

        var data = ExampleEncoder.FromWorld(world, source.Tokenizer, options.QaLossAllTokens);
        var full = EvalSetBuilder.Build(world, source.Tokenizer);
        var subset = EvalSetBuilder.Subset(full, world, options.EvalPeople);
        var evaluator = new Evaluator(source.Tokenizer);
        return new Trainer(model, source.Tokenizer, data, options, outDir, (m, all) => evaluator.Run(m, all ? full : subset), progress)
            .Run(resume);
    }

    static void PrepareFolder(string outDir, bool force)
    {
        if (File.Exists(outDir)) throw FactTraceException.Usage($"--out '{outDir}' is a file, not a folder");
        if (Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
        {
            if (!force) throw FactTraceException.Usage($"--out '{outDir}' is not empty (use --resume to continue a run, or --force to start over)");
            Directory.Delete(outDir, recursive: true);
        }
        Directory.CreateDirectory(outDir);
    }
}
