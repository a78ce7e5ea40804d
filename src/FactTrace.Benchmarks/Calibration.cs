using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using FactTrace.Evaluation;
using FactTrace.Study;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Benchmarks;

/// <summary>What `facttrace bench calibration` runs; the verb's flags are its fields (<c>qa_lr</c> = <c>--qa-lr</c>).</summary>
public sealed record CalibrationOptions
{
    [Description("A from-scratch preset, by name (tiny, single-bio) or file.")]
    public string Preset { get; init; } = Presets.DefaultName;
    [Description("Folder for the world and both runs (runs are started over).")]
    public string Out { get; init; } = "runs/calibration";
    [Description("Seed of the world and of both trainings.")]
    public long Seed { get; init; }
    [Description("Override two-stage's stage-2 peak learning rate.")]
    public double? QaLr { get; init; }
    [Description("fp32, bf16 or auto for both strategies (default: the preset's).")]
    [AllowedValues("fp32", "bf16", "auto")]
    public Precision? Precision { get; init; }
}

/// <summary>
/// `facttrace bench calibration`: the calibration table of a preset (docs/calibration.md): both strategies trained
/// from the same initial weights on the preset's world, with their recall and wall-clock time.
/// </summary>
public static class Calibration
{
    public sealed record Row(string Strategy, EvalResult Result, double Seconds);

    public sealed record CalibrationResult(string Preset, long Seed, int Threads, string Precision, IReadOnlyList<Row> Rows) : IBenchResult
    {
        public Printout Print()
        {
            static string P(double? x) => x is { } v ? $"{100 * v:F1}%" : "";
            var p = new Printout();
            var table = p.Table($"Calibration: preset {Preset}, seed {Seed}, {Threads} threads, {Precision}",
                "strategy", "QA-ID", "QA-OOD", "BIO mem. (stage 1)", "BIO mem. (end)", "extraction", "wall");
            foreach (var (name, res, seconds) in Rows)
                table.Row(name, P(res.QaId), P(res.QaOod), P(res.BioMemorizationStage1), P(res.BioMemorization), P(res.BioExtraction), $"{seconds:F0} s");
            return p;
        }
    }

    /// <summary>
    /// Runs one training of a strategy (its display name) with a progress sink: the caller's progress display around
    /// <c>work</c>, which trains and returns the final evaluation.
    /// </summary>
    public delegate EvalResult? WithProgress(string strategy, Func<IProgress<TrainProgress>?, EvalResult?> work);

    /// <summary>
    /// Generates the preset's world (seed <see cref="CalibrationOptions.Seed"/>) into OUT/world, then trains
    /// two-stage and mixed into OUT/two-stage and OUT/mixed (<see cref="TrainRun"/>, as `facttrace train --force`).
    /// </summary>
    public static CalibrationResult Run(CalibrationOptions o, WithProgress? withProgress = null, CancellationToken cancel = default)
    {
        var p = Presets.Load(o.Preset);
        if (p.NeedsModel) throw new IO.OptionException("preset", $"{p.Name} fine-tunes a downloaded model; calibration is for the from-scratch presets");
        var worldDir = Path.Combine(o.Out, "world");
        FactWorld.Generate(p.World with { Seed = o.Seed }).Save(worldDir, force: true);
        withProgress ??= (_, work) => work(null);
        var rows = new List<Row>();
        foreach (var (name, options) in new[] { ("two-stage", p.TwoStage with { QaLr = o.QaLr ?? p.TwoStage.QaLr }), ("mixed", p.Mixed) })
        {
            var run = options with { Seed = o.Seed, Precision = o.Precision ?? options.Precision };
            var clock = Stopwatch.StartNew();
            var result = withProgress(name, progress =>
                TrainRun.Run(worldDir, p.Model!, Path.Combine(o.Out, name), run, resume: false, force: true, progress, cancel));
            rows.Add(new Row(name, result!, clock.Elapsed.TotalSeconds));
        }
        return new CalibrationResult(p.Name, o.Seed, TorchSharp.torch.get_num_threads(), (o.Precision ?? p.Mixed.Precision).ToString(), rows);
    }
}
