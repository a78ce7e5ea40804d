using System.CommandLine;
using System.Globalization;
using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace graft`: learn a sparse graft of the trained weights onto the reference that keeps QA-ID.</summary>
public static class GraftCommand
{
    public const string MaskFile = "graft_mask.safetensors", MovementMaskFile = "movement_mask.safetensors", ReportFile = "graft.json";

    public static Command Create()
    {
        var d = new GraftOptions();
        var world = new Option<string>("--world") { Description = "World folder.", Required = true };
        var model = new Option<string>("--model") { Description = "Trained HF folder (e.g. RUN/final).", Required = true };
        var reference = new Option<string?>("--reference") { Description = "Reference HF folder (default: init/ beside --model)." };
        var output = new Option<string>("--out") { Description = "Graft folder to write.", Required = true };
        var sparsity = new Option<double>("--sparsity") { Description = "Fraction of the considered parameters grafted.", DefaultValueFactory = _ => d.Sparsity };
        var steps = new Option<int>("--steps") { Description = "Optimization steps on the mask logits.", DefaultValueFactory = _ => d.Steps };
        var lr = new Option<double>("--lr") { Description = "Step size of the normalized steps on the logits.", DefaultValueFactory = _ => d.Lr };
        var batch = new Option<int>("--batch-size") { Description = "ID questions per step.", DefaultValueFactory = _ => d.BatchSize };
        var init = new Option<double>("--init-logit") { Description = "Initial logit magnitude (+ on the largest-movement parameters, - elsewhere).", DefaultValueFactory = _ => d.InitLogit };
        var embeddings = new Option<bool>("--include-embeddings") { Description = "Graft the embeddings too (default: they keep their trained values)." };
        var norms = new Option<bool>("--include-norms") { Description = "Graft the norms too (default: they keep their trained values)." };
        var shared = new Option<string?>("--shared") { Description = "S to compare with: a mask_shared_rho*.safetensors file or a trace folder (then --rho)." };
        var rho = new Option<double>("--rho") { Description = "With a trace folder as --shared: which rho.", DefaultValueFactory = _ => 0.01 };
        var seed = new Option<long>("--seed") { Description = "Seed of the batch order.", DefaultValueFactory = _ => 0 };
        var evalPeople = new Option<int?>("--eval-people") { Description = "Evaluate the first N people of each split (default: all)." };
        var threads = Common.Threads();
        var force = new Option<bool>("--force") { Description = "Replace a non-empty --out." };
        var cmd = new Command("graft", "Learn a sparse mask that grafts the trained weights onto the reference while keeping QA on ID people (Panigrahi et al. 2023).");
        foreach (var o in new Option[] { world, model, reference, output, sparsity, steps, lr, batch, init, embeddings, norms, shared, rho, seed, evalPeople, threads, force })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var options = new GraftOptions
            {
                Sparsity = r.GetValue(sparsity), Steps = r.GetValue(steps), Lr = r.GetValue(lr), BatchSize = r.GetValue(batch),
                InitLogit = r.GetValue(init), IncludeEmbeddings = r.GetValue(embeddings), IncludeNorms = r.GetValue(norms), Seed = r.GetValue(seed),
            };
            options.Validate();
            var report = Run(r.GetValue(world)!, r.GetValue(model)!, r.GetValue(reference), r.GetValue(output)!, options,
                r.GetValue(shared), r.GetValue(rho), r.GetValue(evalPeople), r.GetValue(force));
            Print(report);
            return Cli.Ok;
        });
        return cmd;
    }

    public static GraftReport Run(string worldDir, string modelDir, string? referenceDir, string outDir, GraftOptions options,
        string? sharedArg, double rho, int? evalPeople, bool force)
    {
        OutputFolder.CheckWritable(outDir, force, "--out");
        var world = FactWorld.Load(worldDir);
        var (model, tok) = Common.LoadModel(modelDir, world);
        using var _ = model;
        var refPath = Path.GetFullPath(Common.ReferenceFolder(referenceDir, modelDir));
        var reference = WeightEditor.LoadReference(refPath, model);
        using var editor = new WeightEditor(model, reference);
        foreach (var t in reference.Values) t.Dispose();

        ParameterMask? s = null;
        double? sRho = null;
        if (sharedArg is not null)
        {
            var (mask, meta) = ParameterMask.Load(AblateCommand.MaskFile(sharedArg, rho));
            s = mask;
            sRho = meta.TryGetValue("rho", out var rs) && double.TryParse(rs, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : null;
        }
        using var __ = s;
        var qaTrain = world.QaTrain.Select(q => ExampleEncoder.Qa(tok, q)).ToList();
        var set = Common.EvalSet(world, tok, evalPeople);
        using var result = Common.WithProgress("graft", p => Graft.Run(model, editor, qaTrain, tok.PadId, new Evaluator(tok), set, options,
            Path.GetFullPath(modelDir), refPath, s, sRho, p));
        OutputFolder.Create(outDir, force, tmp =>
        {
            var meta = new Dictionary<string, string>
            {
                ["sparsity"] = options.Sparsity.ToString("R", CultureInfo.InvariantCulture), ["steps"] = options.Steps.ToString(CultureInfo.InvariantCulture),
                ["include_embeddings"] = options.IncludeEmbeddings ? "true" : "false", ["include_norms"] = options.IncludeNorms ? "true" : "false",
            };
            result.Mask.Save(Path.Combine(tmp, MaskFile), new Dictionary<string, string>(meta) { ["set"] = "graft" });
            result.MovementMask.Save(Path.Combine(tmp, MovementMaskFile), new Dictionary<string, string>(meta) { ["set"] = "movement" });
            AtomicFile.WriteAllText(Path.Combine(tmp, ReportFile), Json.Serialize(result.Report) + "\n");
        }, "graft folder");
        return result.Report;
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
