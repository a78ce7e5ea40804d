using System.CommandLine;
using FactTrace.Reporting;
using FactTrace.Study;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace reproduce`: the whole study in one resumable command.</summary>
public static class ReproduceCommand
{
    public static Command Create()
    {
        var preset = new Option<string>("--preset")
        {
            Description = $"What to run: {string.Join(", ", Presets.All.Select(p => $"{p.Name} ({p.Description})"))}; or a FILE.json of preset fields (as in manifest.json's options; fields left out keep tiny's).",
            DefaultValueFactory = _ => Presets.DefaultName,
        };
        var seeds = new Option<int>("--seeds") { Description = "Run seeds 0..N-1 (N > 1: one seed-K/ folder each); the report shows mean ± sd.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Run folder (default: runs/PRESET). Rerunning resumes it." };
        var model = new Option<string>("--model")
        {
            Description = "Pretrained presets: the downloaded Hugging Face folder. tiny: a model spec replacing tiny-neox (a named config, config.json or HF folder).",
        };
        var threads = Common.Threads();
        var jobs = new Option<int?>("--jobs")
        {
            Description = "Stages run side by side (the two trainings, then each one's analyses), --threads divided among them " +
                          "(default: 2 when --threads >= 2: small models use two 1-thread jobs better than one 2-thread job).",
        };
        var cmd = new Command("reproduce",
            "The whole study: world -> initial weights -> two-stage and mixed training -> evaluation -> gradient trace -> ablation -> grafting -> report. " +
            "Rerunning the same command skips finished stages and continues an interrupted one.");
        foreach (var o in new Option[] { preset, seeds, output, model, threads, jobs }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var p = Presets.Load(r.GetValue(preset)!);
            var t = r.GetValue(threads);
            if (t <= 0) throw new IO.OptionException("threads", $"must be positive (got {t})");
            var j = r.GetValue(jobs) ?? Math.Min(2, t);
            if (j <= 0) throw new IO.OptionException("jobs", $"must be positive (got {j})");
            Common.SetThreads(Math.Max(1, t / j));
            using var interrupt = Common.InterruptOnSignals();
            Common.LinesOnly = j > 1;
            var request = new StudyRequest
            {
                Preset = p,
                Seeds = r.GetValue(seeds),
                OutDir = r.GetValue(output) ?? Path.Combine("runs", p.Name),
                Model = r.GetValue(model),
                Host = new Common.ProgressHost(),
                Jobs = j,
                Cancel = interrupt.Token,
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var log = new IO.SyncProgress<string>(line => Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {line}"));
            // Side-by-side trainings print periodic lines: one live progress display cannot be shared by two threads.
            var result = Reproduction.Run(request, log);
            Console.WriteLine($"done in {clock.Elapsed:hh\\:mm\\:ss}: {result.Ran.Count + result.Resumed.Count} stages run" +
                              $"{(result.Resumed.Count > 0 ? $" ({result.Resumed.Count} continued)" : "")}, {result.Skipped.Count} already done, " +
                              $"{result.NotAvailable.Count} not available");
            Console.WriteLine($"report: {Path.Combine(request.OutDir, ReportBuilder.FolderName, ReportBuilder.HtmlFile)}");
            return Cli.Ok;
        });
        return cmd;
    }

}
