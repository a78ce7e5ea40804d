using System.CommandLine;
using System.Globalization;
using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Tracing;
using FactTrace.World;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace ablate`: reset S (and controls) to the reference weights or zero, measure recall.</summary>
public static class AblateCommand
{
    public static Command Create()
    {
        var d = new AblationOptions();
        var world = new Option<string>("--world") { Description = "World folder.", Required = true };
        var model = new Option<string>("--model") { Description = "Trained HF folder (e.g. RUN/final).", Required = true };
        var reference = new Option<string?>("--reference") { Description = "Reference HF folder: the common starting weights (default: init/ beside --model)." };
        var mask = new Option<string>("--mask") { Description = "The mask S: a mask_shared_rho*.safetensors file, or a trace folder (then --rho picks the file).", Required = true };
        var rho = new Option<double>("--rho") { Description = "With a trace folder as --mask: which rho.", DefaultValueFactory = _ => 0.01 };
        var resetTo = new Option<string>("--reset-to") { Description = "reference | zero.", DefaultValueFactory = _ => "reference" };
        resetTo.AcceptOnlyFromAmong("reference", "zero");
        var controls = new Option<int>("--controls") { Description = "Draws of each random control.", DefaultValueFactory = _ => d.Controls };
        var heads = new Option<int>("--heads") { Description = "Heads in the head ablation (0 = 10% of all heads).", DefaultValueFactory = _ => 0 };
        var seed = new Option<long>("--seed") { Description = "Seed of the random controls.", DefaultValueFactory = _ => 0 };
        var evalPeople = new Option<int?>("--eval-people") { Description = "Evaluate the first N people of each split (default: all)." };
        var output = new Option<string?>("--out") { Description = "Folder for ablation.json (default: the mask's folder)." };
        var force = new Option<bool>("--force") { Description = "Overwrite an existing ablation.json." };
        var threads = Common.Threads();
        var cmd = new Command("ablate", "Reset the shared set S to the reference (or zero) and compare recall with random and task-only controls and head ablations.");
        foreach (var o in new Option[] { world, model, reference, mask, rho, resetTo, controls, heads, seed, evalPeople, output, force, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var options = new AblationOptions
            {
                ResetTo = r.GetValue(resetTo) == "zero" ? ResetTo.Zero : ResetTo.Reference,
                Controls = r.GetValue(controls), Heads = r.GetValue(heads), Seed = r.GetValue(seed),
            };
            options.Validate();
            var report = Run(r.GetValue(world)!, r.GetValue(model)!, r.GetValue(reference), r.GetValue(mask)!, r.GetValue(rho),
                options, r.GetValue(evalPeople), r.GetValue(output), r.GetValue(force), out var path);
            Print(report);
            Console.WriteLine($"wrote {path}");
            return Cli.Ok;
        });
        return cmd;
    }

    /// <summary>A mask file, or in a trace folder the file of <paramref name="set"/> at <paramref name="rho"/>.</summary>
    public static string MaskFile(string mask, double rho, string set = "shared")
    {
        if (Directory.Exists(mask))
        {
            var f = Path.Combine(mask, TraceFiles.Mask(set, rho));
            if (!File.Exists(f)) throw FactTraceException.Usage($"trace folder '{mask}' has no {TraceFiles.Mask(set, rho)} (traced at other rho?)");
            return f;
        }
        if (!File.Exists(mask)) throw FactTraceException.Usage($"--mask '{mask}' not found");
        return mask;
    }

    public static AblationReport Run(string worldDir, string modelDir, string? referenceDir, string maskArg, double rho,
        AblationOptions options, int? evalPeople, string? outDir, bool force, out string path)
    {
        var maskFile = Path.GetFullPath(MaskFile(maskArg, rho));
        outDir ??= Path.GetDirectoryName(maskFile)!;
        path = Path.Combine(outDir, "ablation.json");
        if (File.Exists(path) && !force) throw FactTraceException.Usage($"'{path}' exists (use --force to overwrite it)");

        var world = FactWorld.Load(worldDir);
        var (model, tok) = Common.LoadModel(modelDir, world);
        using var _ = model;
        string refPath = "";
        Dictionary<string, TorchSharp.torch.Tensor>? reference = null;
        if (options.ResetTo == ResetTo.Reference)
        {
            refPath = Path.GetFullPath(Common.ReferenceFolder(referenceDir, modelDir));
            reference = WeightEditor.LoadReference(refPath, model);
        }
        using var editor = new WeightEditor(model, reference);
        if (reference is not null) foreach (var t in reference.Values) t.Dispose();

        var (shared, meta) = ParameterMask.Load(maskFile);
        using var __ = shared;
        double? maskRho = meta.TryGetValue("rho", out var rs) && double.TryParse(rs, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : null;
        // The task masks beside a shared mask (same rho), for the bio_only / qa_only controls.
        ParameterMask? Sibling(string set)
        {
            var name = Path.GetFileName(maskFile);
            if (!name.StartsWith("mask_shared_", StringComparison.Ordinal)) return null;
            var f = Path.Combine(Path.GetDirectoryName(maskFile)!, "mask_" + set + "_" + name["mask_shared_".Length..]);
            return File.Exists(f) ? ParameterMask.Load(f).Mask : null;
        }
        using var bio = Sibling("bio");
        using var qa = Sibling("qa");
        var set = Common.EvalSet(world, tok, evalPeople);
        var report = Common.WithProgress("ablate", p => Ablation.Run(model, editor, new Evaluator(tok), set, shared, bio, qa, options,
            Path.GetFullPath(modelDir), refPath, maskFile, maskRho, evalPeople, p));
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(path, Json.Serialize(report) + "\n");
        return report;
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
