using System.CommandLine;
using FactTrace.Interventions;
using FactTrace.Tracing;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace ablate`: reset S (and controls) to the reference weights or zero, measure recall (<see cref="AblationRun"/>).</summary>
public static class AblateCommand
{
    public static Command Create()
    {
        var world = Common.RequiredPath("--world", "World folder.");
        var model = Common.RequiredPath("--model", "Trained HF folder (e.g. RUN/final).");
        var mask = Common.RequiredPath("--mask", "The mask S: a mask_shared_rho*.safetensors file, or a trace folder (then --rho picks the file).");
        var reference = new Option<string?>("--reference") { Description = "Reference HF folder: the common starting weights (default: init/ beside --model)." };
        var options = new RecordOptions<AblationOptions>(new AblationOptions());
        var output = new Option<string?>("--out") { Description = "Folder for ablation.json (default: the mask's folder)." };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing ablation.json." };
        var threads = Common.Threads();
        var cmd = new Command("ablate", "Reset the shared set S to the reference (or zero) and compare recall with random and task-only controls and head ablations.");
        foreach (var o in new Option[] { world, model, mask, reference }) cmd.Options.Add(o);
        options.AddTo(cmd);
        foreach (var o in new Option[] { output, force, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var request = new AblationRequest(r.GetValue(world)!, r.GetValue(model)!, r.GetValue(mask)!, options.Bind(r))
            {
                Reference = r.GetValue(reference), Out = r.GetValue(output), Force = r.GetValue(force),
            };
            if (File.Exists(request.Mask)) options.WarnIgnored(r, ["rho"], "when --mask is a file (the file's own rho is used)");
            if (request.Options.ResetTo == ResetTo.Zero && request.Reference is not null)
                Console.Error.WriteLine("note: --reference is ignored with --reset-to zero");
            var (report, path) = Common.WithProgress("ablate", p => AblationRun.Run(request, p));
            Print(report);
            Console.WriteLine($"wrote {path}");
            return Cli.Ok;
        });
        return cmd;
    }

    static void Print(AblationReport r)
    {
        Common.WideTablesWhenRedirected();
        static string P(double x, double? sd) => sd is { } s ? $"{100 * x:F1}% ± {100 * s:F1}" : $"{100 * x:F1}%";
        var table = new Table().Title($"Ablation (reset to {r.ResetTo}{(r.Rho is { } rho ? $", rho {TraceNames.RhoTag(rho)}" : "")})")
            .AddColumns("condition", "mask size", "draws", "QA-ID", "QA-OOD", "BIO memorization");
        foreach (var c in r.Conditions)
            table.AddRow(c.Name, c.MaskSize.ToString("N0"), c.Draws.ToString(), P(c.QaId, c.QaIdSd), P(c.QaOod, c.QaOodSd), P(c.BioMemorization, c.BioMemorizationSd));
        AnsiConsole.Write(table);
    }
}
