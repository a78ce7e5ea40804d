using System.Diagnostics;
using System.Text.Json;
using FactTrace.IO;

namespace FactTrace.Training;

/// <summary>
/// A run's <c>metrics.jsonl</c>: one JSON line per logged training window (<c>type: train</c>) and per evaluation
/// (<c>eval</c> / <c>eval_final</c>). The state counts the lines written, so a resume drops any line written after
/// the checkpoint it continues from and the file ends as an uninterrupted run's would.
/// </summary>
internal sealed class MetricsLog(string path, StagePlan plan)
{
    public string FilePath { get; } = path;

    /// <summary>A train line: mean loss since the last line, lr, tokens/s; then resets the window.</summary>
    public void Train(TrainerState state, StagePlan.TrainingStage stage, double lr, Stopwatch watch)
    {
        var line = new Dictionary<string, object?>
        {
            ["type"] = "train", ["step"] = state.GlobalStep, ["stage"] = stage.Name, ["epoch"] = state.Epoch,
            ["loss"] = state.LossSum / Math.Max(1, state.LossCount), ["lr"] = lr,
            ["tokens_per_s"] = Math.Round(TokensPerSecond(state, watch), 1),
        };
        Append(state, line);
        state.LossSum = 0; state.LossCount = 0; state.TokensSinceLog = 0;
        watch.Restart();
    }

    public void Eval(TrainerState state, StagePlan.TrainingStage stage, ITrainingEvaluation r, bool final = false)
    {
        var line = new Dictionary<string, object?>
        {
            ["type"] = final ? "eval_final" : "eval", ["step"] = state.GlobalStep, ["stage"] = stage.Name,
            ["epoch"] = state.Epoch + (final ? 0 : 1), ["global_epoch"] = plan.GlobalEpoch(state.Stage, state.Epoch, final),
            ["qa_id"] = r.QaId, ["qa_ood"] = r.QaOod, ["bio_memorization"] = r.BioMemorization,
            ["bio_extraction"] = r.BioExtraction, ["people_per_split"] = r.PeoplePerSplit,
        };
        Append(state, line);
    }

    /// <summary>Keeps the first <paramref name="lines"/> lines (those a resumed state had written); creates the file if missing.</summary>
    public void Truncate(int lines)
    {
        if (!File.Exists(FilePath)) { AtomicFile.WriteAllText(FilePath, ""); return; }
        var kept = File.ReadLines(FilePath).Take(lines).ToList();
        AtomicFile.WriteLines(FilePath, kept);
    }

    static double TokensPerSecond(TrainerState s, Stopwatch w) =>
        w.Elapsed.TotalSeconds > 0 ? s.TokensSinceLog / Math.Max(1e-9, w.Elapsed.TotalSeconds) : 0;

    void Append(TrainerState state, Dictionary<string, object?> line)
    {
        File.AppendAllText(FilePath, JsonSerializer.Serialize(line, Json.Line) + "\n");
        state.MetricsLines++;
    }
}
