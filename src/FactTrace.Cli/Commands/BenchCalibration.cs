using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.Training;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace bench calibration`: the calibration table of a preset (see <see cref="Calibration"/>).</summary>
public static class BenchCalibration
{
    public static Command Create()
    {
        var d = new CalibrationOptions();
        var preset = new Option<string>("--preset") { Description = "tiny or single-bio.", DefaultValueFactory = _ => d.Preset };
        var output = new Option<string>("--out") { Description = "Folder for the world and both runs.", DefaultValueFactory = _ => d.Out };
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
            using var interrupt = Common.InterruptOnSignals();
            var result = Calibration.Run(new CalibrationOptions
            {
                Preset = r.GetValue(preset)!, Out = r.GetValue(output)!, Seed = r.GetValue(seed), QaLr = r.GetValue(qaLr),
                Precision = r.GetValue(precision) is { } pr ? Precisions.Parse(pr) : null,
            }, (strategy, work) => Common.WithTrainProgress(strategy, progress => work(progress)), interrupt.Token);
            BenchPrint.Print(result.Print());
            return Cli.Ok;
        });
        return cmd;
    }
}
