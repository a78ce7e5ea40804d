using System.CommandLine;
using System.Globalization;
using FactTrace.IO;
using FactTrace.Study;
using FactTrace.Training;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace plan MODEL [--batch-size N] [--seq-len T] [--budget-gib G] [--json]`: the memory plan, nothing allocated.</summary>
public static class PlanCommand
{
    public static Command Create(TextWriter? stdout = null)
    {
        var model = new Argument<string>("model") { Description = "A named config (pythia-2.8b, llama-3.2-3b, stories260k, tiny-neox, ...), a config.json or an HF folder." };
        var batch = new Option<int>("--batch-size") { Description = "Examples per training step.", DefaultValueFactory = _ => 16 };
        var seq = new Option<int>("--seq-len") { Description = "Tokens per example (a BIO under the model's tokenizer).", DefaultValueFactory = _ => 256 };
        var precision = new Option<string>("--precision") { Description = "Activations: fp32 | bf16 (autocast).", DefaultValueFactory = _ => "bf16" };
        var budget = new Option<double?>("--budget-gib") { Description = "Memory budget (GiB) to check the peak against, e.g. 80 for one 80 GB GPU." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object." };
        var cmd = new Command("plan", "Size a study's memory for a model from its config alone (weights, gradients, optimizer, trace accumulators, ablation copies, activations); nothing is allocated.");
        cmd.Arguments.Add(model);
        foreach (var o in new Option[] { batch, seq, precision, budget, json }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            if (!Precisions.TryParse(r.GetValue(precision)!, out var p) || r.GetValue(precision) == "auto")
                throw new OptionException("precision", $"'{r.GetValue(precision)}': expected fp32 or bf16");
            long? bytes = r.GetValue(budget) is { } g ? (g > 0 ? (long)(g * MemoryPlan.GiB) : throw new OptionException("budget_gib", "must be positive")) : null;
            var plan = MemoryPlan.For(r.GetValue(model)!, r.GetValue(batch), r.GetValue(seq), p, bytes);
            var output = stdout ?? Console.Out;
            if (r.GetValue(json)) { output.WriteLine(Json.Serialize(plan)); return Cli.Ok; }
            static string G(long x) => (x / (double)MemoryPlan.GiB).ToString("F2", CultureInfo.InvariantCulture) + " GiB";
            output.WriteLine($"{plan.Model}: {plan.Parameters.ToString("N0", CultureInfo.InvariantCulture)} parameters, batch {plan.BatchSize} x {plan.SequenceLength} tokens");
            foreach (var (title, items, total) in new[] { ("training", plan.Training, plan.TrainingBytes), ("analysis", plan.Analysis, plan.AnalysisBytes),
                         ("robustness", plan.Robustness, plan.RobustnessBytes) })
            {
                output.WriteLine($"{title}: {G(total)}");
                foreach (var i in items) output.WriteLine($"  {i.What,-38} {G(i.Bytes),12}  {i.How}");
            }
            output.WriteLine($"peak {G(plan.PeakBytes)}" + (plan.Fits is { } f ? $" vs budget {G(plan.BudgetBytes!.Value)}: {(f ? "fits" : "does not fit")}" : ""));
            return Cli.Ok;
        });
        return cmd;
    }
}
