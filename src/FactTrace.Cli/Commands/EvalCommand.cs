using System.CommandLine;
using FactTrace.Evaluation;
using FactTrace.IO;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace eval`: QA (ID and OOD) and BIO recall of a trained HF folder on a world (<see cref="EvalRun"/>).</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var world = Common.RequiredPath("--world", "World folder.");
        var model = Common.RequiredPath("--model", "A trained HF folder (e.g. RUN/final).");
        var json = new Option<bool>("--json") { Description = "Print eval.json's object instead of tables." };
        var threads = Common.Threads();
        var cmd = new Command("eval", "Evaluate a model on a world: QA exact match (ID, OOD), BIO memorization and extraction, per attribute.");
        foreach (var o in new Option[] { world, model, json, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var result = EvalRun.Run(r.GetValue(world)!, r.GetValue(model)!);
            if (r.GetValue(json)) Console.WriteLine(Json.Serialize(result));
            else Print(result);
            return Cli.Ok;
        });
        return cmd;
    }

    public static void Print(EvalResult r)
    {
        var table = new Table().Title("Fact recall").AddColumns("attribute", "QA-ID", "QA-OOD", "BIO memorization", "BIO extraction", "chance");
        static string P(double x) => $"{100 * x:F1}%";
        foreach (var (name, s) in r.PerAttribute)
            table.AddRow(name, P(s.QaId), P(s.QaOod), P(s.BioMemorization), P(s.BioExtraction), s.Chance is { } c ? P(c) : "");
        table.AddRow("[bold]all[/]", P(r.QaId), P(r.QaOod), P(r.BioMemorization), P(r.BioExtraction),
            r.Overall.Chance is { } oc ? P(oc) : "");
        AnsiConsole.Write(table);
        if (r.BioMemorizationStage1 is { } s1)
            AnsiConsole.MarkupLine($"BIO memorization after stage 1: {P(s1)} (after stage 2: {P(r.BioMemorization)})");
    }
}
