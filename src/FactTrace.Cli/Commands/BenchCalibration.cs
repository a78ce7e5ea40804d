using System.CommandLine;
using System.Diagnostics;
using FactTrace.Evaluation;
using FactTrace.Study;
using FactTrace.Training;
using FactTrace.World;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>
/// `facttrace bench calibration`: the calibration table of a preset (docs/calibration.md): both strategies trained
/// from the same initial weights on the preset's world, with their recall and wall-clock time.
/// </summary>
public static class BenchCalibration
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = "tiny or single-bio.", DefaultValueFactory = _ => Presets.DefaultName };
        var output = new Option<string>("--out") { Description = "Folder for the world and both runs.", DefaultValueFactory = _ => "runs/calibration" };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0 };
        var qaLr = new Option<double?>("--qa-lr") { Description = "Override two-stage's stage-2 peak learning rate." };
        var precision = new Option<string?>("--precision") { Description = "fp32, bf16 or auto (default: the preset's)." };
        precision.AcceptOnlyFromAmong("fp32", "bf16", "auto");
        var threads = Common.Threads();
        var cmd = new Command("calibration", "Train both strategies of a preset and print the calibration table (QA-ID, QA-OOD, BIO memorization, time).");
        foreach (var o in new Option[] { preset, output, seed, qaLr, precision, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var p = Presets.Load(r.GetValue(preset)!);
            if (p.NeedsModel) throw IO.FactTraceException.Usage($"--preset {p.Name} fine-tunes a downloaded model; calibration is for the from-scratch presets");
            var dir = r.GetValue(output)!;
            var s = r.GetValue(seed);
            Precision? prec = r.GetValue(precision) is { } pr ? Precisions.Parse(pr) : null;
            var worldDir = Path.Combine(dir, "world");
            FactWorld.Generate(p.World with { Seed = s }).Save(worldDir, force: true);
            var rows = new List<(string Name, EvalResult Result, TimeSpan Time)>();
            foreach (var (name, o) in new[] { ("two-stage", p.TwoStage with { QaLr = r.GetValue(qaLr) ?? p.TwoStage.QaLr }), ("mixed", p.Mixed) })
            {
                var clock = Stopwatch.StartNew();
                var result = Common.WithTrainProgress(name, progress => FactTrace.Training.TrainRun.Run(worldDir, p.Model!, Path.Combine(dir, name), o with { Seed = s, Precision = prec ?? o.Precision }, resume: false, force: true, progress));
                rows.Add((name, result!, clock.Elapsed));
            }
            static string P(double? x) => x is { } v ? $"{100 * v:F1}%" : "";
            var table = new Table().Title($"Calibration: preset {p.Name}, seed {s}, {TorchSharp.torch.get_num_threads()} threads, {prec ?? p.Mixed.Precision}")
                .AddColumns("strategy", "QA-ID", "QA-OOD", "BIO mem. (stage 1)", "BIO mem. (end)", "extraction", "wall");
            foreach (var (name, res, time) in rows)
                table.AddRow(name, P(res.QaId), P(res.QaOod), P(res.BioMemorizationStage1), P(res.BioMemorization), P(res.BioExtraction), $"{time.TotalSeconds:F0} s");
            AnsiConsole.Write(table);
            return Cli.Ok;
        });
        return cmd;
    }
}
