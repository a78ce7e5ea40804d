using System.CommandLine;
using FactTrace.Interventions;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace graft`: learn a sparse graft of the trained weights onto the reference that keeps QA-ID (<see cref="GraftRun"/>).</summary>
public static class GraftCommand
{
    public static Command Create()
    {
        var world = Common.RequiredPath("--world", "World folder.");
        var model = Common.RequiredPath("--model", "Trained HF folder (e.g. RUN/final).");
        var output = Common.RequiredPath("--out", "Graft folder to write.");
        var reference = new Option<string?>("--reference") { Description = "Reference HF folder (default: init/ beside --model)." };
        var shared = new Option<string?>("--shared") { Description = "S to compare with: a mask_shared_rho*.safetensors file or a trace folder (then --rho)." };
        var options = new RecordOptions<GraftOptions>(new GraftOptions());
        var threads = Common.Threads();
        var force = new Option<bool>("--force") { Description = "Replace a non-empty --out." };
        var cmd = new Command("graft", "Learn a sparse mask that grafts the trained weights onto the reference while keeping QA on ID people (Panigrahi et al. 2023).");
        foreach (var o in new Option[] { world, model, output, reference, shared }) cmd.Options.Add(o);
        options.AddTo(cmd);
        foreach (var o in new Option[] { threads, force }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var request = new GraftRequest(r.GetValue(world)!, r.GetValue(model)!, r.GetValue(output)!, options.Bind(r))
            {
                Reference = r.GetValue(reference), Shared = r.GetValue(shared), Force = r.GetValue(force),
            };
            if (request.Shared is null || File.Exists(request.Shared))
                options.WarnIgnored(r, ["rho"], request.Shared is null ? "without --shared" : "when --shared is a file (the file's own rho is used)");
            Print(Common.WithProgress("graft", p => GraftRun.Run(request, p)));
            return Cli.Ok;
        });
        return cmd;
    }

    static void Print(GraftReport r)
    {
        Common.WideTablesWhenRedirected();
        static string P(double x) => $"{100 * x:F1}%";
        var table = new Table().Title($"Graft: {r.MaskSize:N0} of {r.ParametersConsidered:N0} parameters ({100 * r.Sparsity:G3}%), {r.Steps} steps")
            .AddColumns("model", "QA-ID", "QA-OOD", "BIO memorization");
        table.AddRow("trained", P(r.Trained.QaId), P(r.Trained.QaOod), P(r.Trained.BioMemorization));
        table.AddRow("movement top-k", P(r.MovementInit.QaId), P(r.MovementInit.QaOod), P(r.MovementInit.BioMemorization));
        table.AddRow("learned graft", P(r.QaId), P(r.QaOod), P(r.BioMemorization));
        AnsiConsole.Write(table);
        if (r.OverlapWithShared is { } o)
            AnsiConsole.MarkupLine($"overlap with S ({o.Shared:N0}): precision {o.Precision:F3}, recall {o.Recall:F3}, enrichment {o.Enrichment:F2}");
    }
}
