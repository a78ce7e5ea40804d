using System.CommandLine;
using System.Globalization;
using FactTrace.Tracing;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace trace`: per-task gradient scores, top-k masks, the shared set S and its statistics (<see cref="TraceRun"/>).</summary>
public static class TraceCommand
{
    public static Command Create()
    {
        var world = Common.RequiredPath("--world", "World folder.");
        var model = Common.RequiredPath("--model", "Trained HF folder (e.g. RUN/final).");
        var output = Common.RequiredPath("--out", "Trace folder to write.");
        var options = new RecordOptions<TraceOptions>(new TraceOptions());
        var during = new Option<bool>("--during-training") { Description = "Use the scores accumulated during training (train --trace-score) instead of computing them." };
        var scores = new Option<string?>("--scores") { Description = "Folder with scores_bio/scores_qa.safetensors to reuse (default with --during-training: MODEL/../train_scores)." };
        var threads = Common.Threads();
        var force = new Option<bool>("--force") { Description = "Replace a non-empty --out." };

        var cmd = new Command("trace", "Cross-task gradient trace: which parameters both BIO (storing) and QA (recall) gradients hit hardest.");
        foreach (var o in new Option[] { world, model, output }) cmd.Options.Add(o);
        options.AddTo(cmd);
        foreach (var o in new Option[] { during, scores, threads, force }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var request = new TraceRequest(r.GetValue(world)!, r.GetValue(model)!, r.GetValue(output)!, options.Bind(r))
            {
                DuringTraining = r.GetValue(during), Scores = r.GetValue(scores), Force = r.GetValue(force),
            };
            options.WarnIgnored(r, request.IgnoredFields(), request.Options.Granularity == Granularity.Example && !request.DuringTraining && request.Scores is null
                ? "with --granularity example" : "when the scores are read (--during-training, --scores)");
            Print(Common.WithProgress("trace", p => TraceRun.Run(request, p)));
            return Cli.Ok;
        });
        return cmd;
    }

    static void Print(TraceReport r)
    {
        Common.WideTablesWhenRedirected();
        static string F(double? x, string f = "F3") => x is { } v ? v.ToString(f, CultureInfo.InvariantCulture) : "-";
        var table = new Table().Title($"Shared set S ({r.Score}, {r.Scope}, {r.ParametersConsidered:N0} parameters)")
            .AddColumns("rho", "k", "|S|", "|S|/k", "IoU", "enrichment", "heads: entropy", "gini", "top-10", "neurons: entropy", "gini");
        foreach (var x in r.PerRho)
            table.AddRow(TraceNames.RhoTag(x.Rho), x.K.ToString("N0"), x.Shared.ToString("N0"), F(x.SharedFraction), F(x.Iou), F(x.Enrichment, "F2"),
                F(x.Centralization.Heads.Entropy), F(x.Centralization.Heads.Gini), F(x.Centralization.Heads.Top10Share),
                F(x.Centralization.Neurons.Entropy), F(x.Centralization.Neurons.Gini));
        AnsiConsole.Write(table);
    }
}
