using System.Text.Json.Serialization;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Training;

namespace FactTrace.Tracing;

/// <summary>
/// Scores accumulated during training, per task. Micro-batch granularity (the default) reads the trainer's own
/// backward pass of each task part of a batch (<see cref="ITrainingObserver.AfterPartBackward"/>, see
/// <see cref="TrainStep"/>): no extra forward or backward, the part's gradient at the step's weights, raw (before
/// clipping). Example granularity runs one extra pass per example before the step. In mixed training this separates
/// the two tasks inside every batch; in two-stage training stage 1 feeds the BIO scores and stage 2 the QA scores (and
/// BIO again if replay is on). The weights and the run are unchanged (bitwise).
/// <para>
/// <see cref="ScoreKind.LrGrad"/> (the paper's trace, Delta_T = sum over T's training examples of lr * grad of the
/// example's loss, at the step it is trained in): each example's loss is its summed token loss (the training loss,
/// summed instead of averaged), so a part adds lr * N * g = lr * grad of the part's summed loss, signed, with the
/// step's <see cref="ObservedBatch.Lr"/>. By linearity that equals one pass per example summed (example granularity,
/// the brute-force form). Every step is traced (every = 1): the trace is a sum over all of training.
/// </para>
/// </summary>
public sealed class TrainingTrace : ITrainingObserver, IDisposable
{
    public const string FolderName = "train_scores", InfoFile = "train_scores.json";

    /// <summary>The train_scores/ folder of the training run whose HF folder (RUN/final) is <paramref name="modelFolder"/>.</summary>
    public static string BesideModel(string modelFolder) =>
        Path.Combine(Path.GetDirectoryName(modelFolder.TrimEnd(Path.DirectorySeparatorChar))!, FolderName);

    readonly int padId;
    readonly int every;
    long observed;

    public TrainingTrace(CausalLM model, ScoreKind kind, Granularity granularity, int padId, int every = 1)
    {
        if (every <= 0) throw new OptionException("every", $"must be positive (got {every})");
        if (kind == ScoreKind.LrGrad && every != 1) throw new OptionException("every", $"must be 1 with lr-grad, a sum over every step (got {every})");
        Kind = kind;
        Granularity = granularity;
        this.padId = padId;
        this.every = every;
        Bio = new ScoreAccumulator(model, kind);
        Qa = new ScoreAccumulator(model, kind);
    }

    public ScoreKind Kind { get; }
    public Granularity Granularity { get; }
    public ScoreAccumulator Bio { get; }
    public ScoreAccumulator Qa { get; }
    public long StepsTraced { get; private set; }
    public Dictionary<string, long> StepsByStage { get; } = new();

    bool tracing;

    public void BeforeStep(CausalLM model, ObservedBatch batch)
    {
        tracing = observed++ % every == 0;
        if (!tracing) return;
        StepsTraced++;
        StepsByStage[batch.Stage] = StepsByStage.GetValueOrDefault(batch.Stage) + 1;
        if (Granularity != Granularity.Example) return;
        double? lr = Kind == ScoreKind.LrGrad ? batch.Lr : null;
        foreach (var e in batch.Examples) (e.Kind == ExampleKind.Bio ? Bio : Qa).Add(model, [e], padId, lr);
        model.zero_grad();
    }

    public void AfterPartBackward(CausalLM model, ObservedPart part)
    {
        if (tracing && Granularity == Granularity.MicroBatch) (part.Kind == ExampleKind.Bio ? Bio : Qa).AddObserved(model, part);
    }

    public string Fingerprint => $"training-trace {Kind.Name()} {Granularity.Name()} every {every}";

    /// <summary>The sums and counters so far, into a trainer checkpoint folder (the trainer writes it atomically).</summary>
    public void SaveState(string checkpointDir)
    {
        Safetensors.Write(Path.Combine(checkpointDir, StateBio), Bio.Scores);
        Safetensors.Write(Path.Combine(checkpointDir, StateQa), Qa.Scores);
        var counters = new Counters(observed, StepsTraced, new(StepsByStage), Bio.Units, Bio.Examples, Bio.Skipped, Qa.Units, Qa.Examples, Qa.Skipped);
        AtomicFile.WriteAllText(Path.Combine(checkpointDir, StateInfo), Json.Serialize(counters) + "\n");
    }

    /// <summary>Continues from a checkpoint's sums (a resume); refuses a checkpoint without them.</summary>
    public void LoadState(string checkpointDir)
    {
        var info = Path.Combine(checkpointDir, StateInfo);
        if (!File.Exists(info))
            throw new FactTraceException($"trainer state '{checkpointDir}' holds no training-trace sums ({StateInfo}); start over with `force`");
        var c = Json.ReadFile<Counters>(info, "training-trace state");
        foreach (var (acc, file, units, examples, skipped) in new[] { (Bio, StateBio, c.BioUnits, c.BioExamples, c.BioSkipped), (Qa, StateQa, c.QaUnits, c.QaExamples, c.QaSkipped) })
        {
            var path = Path.Combine(checkpointDir, file);
            var saved = Safetensors.Read(path);
            try { acc.Restore(saved, units, examples, skipped, path); }
            finally { foreach (var t in saved.Values) t.Dispose(); }
        }
        (observed, StepsTraced) = (c.Observed, c.StepsTraced);
        StepsByStage.Clear();
        foreach (var (k, v) in c.StepsByStage) StepsByStage[k] = v;
    }

    const string StateBio = "trace_bio.safetensors", StateQa = "trace_qa.safetensors", StateInfo = "trace_state.json";

    internal sealed record Counters(
        [property: JsonPropertyName("observed")] long Observed,
        [property: JsonPropertyName("steps_traced")] long StepsTraced,
        [property: JsonPropertyName("steps_by_stage")] Dictionary<string, long> StepsByStage,
        [property: JsonPropertyName("bio_units")] long BioUnits,
        [property: JsonPropertyName("bio_examples")] long BioExamples,
        [property: JsonPropertyName("bio_skipped")] long BioSkipped,
        [property: JsonPropertyName("qa_units")] long QaUnits,
        [property: JsonPropertyName("qa_examples")] long QaExamples,
        [property: JsonPropertyName("qa_skipped")] long QaSkipped);

    /// <summary>What <see cref="Save"/> writes beside the score files.</summary>
    public sealed record Info(
        [property: JsonPropertyName("format_version")] int FormatVersion,
        [property: JsonPropertyName("score")] string Score,
        [property: JsonPropertyName("granularity")] string Granularity,
        [property: JsonPropertyName("every")] int Every,
        [property: JsonPropertyName("steps_traced")] long StepsTraced,
        [property: JsonPropertyName("steps_by_stage")] Dictionary<string, long> StepsByStage,
        [property: JsonPropertyName("bio_units")] long BioUnits,
        [property: JsonPropertyName("qa_units")] long QaUnits,
        [property: JsonPropertyName("bio_examples")] long BioExamples,
        [property: JsonPropertyName("qa_examples")] long QaExamples);

    /// <summary>Writes scores_bio.safetensors, scores_qa.safetensors and train_scores.json into a new folder.</summary>
    public void Save(string dir, bool force = false) => OutputFolder.Create(dir, force, tmp =>
    {
        var meta = new Dictionary<string, string>
        {
            ["score"] = Kind.Name(), ["granularity"] = Granularity.Name(), ["when"] = "during-training",
            ["bio_units"] = Bio.Units.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["qa_units"] = Qa.Units.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["bio_examples"] = Bio.Examples.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["qa_examples"] = Qa.Examples.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        Safetensors.Write(Path.Combine(tmp, TraceFiles.ScoresBio), Bio.Scores, meta);
        Safetensors.Write(Path.Combine(tmp, TraceFiles.ScoresQa), Qa.Scores, meta);
        var info = new Info(1, Kind.Name(), Granularity.Name(), every, StepsTraced, StepsByStage, Bio.Units, Qa.Units, Bio.Examples, Qa.Examples);
        AtomicFile.WriteAllText(Path.Combine(tmp, InfoFile), Json.Serialize(info) + "\n");
    }, "training score folder");

    public void Dispose()
    {
        Bio.Dispose();
        Qa.Dispose();
    }
}
