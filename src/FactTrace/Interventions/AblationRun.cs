using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.World;

namespace FactTrace.Interventions;

/// <summary>
/// Ablate the shared set <see cref="Mask"/> (a mask file, or a trace folder whose file at the options' rho is taken) of
/// <see cref="Model"/>, resetting it to <see cref="Reference"/> (default: init/ beside the model) or zero;
/// ablation.json goes into <see cref="Out"/> (default: the mask's folder).
/// </summary>
public sealed record AblationRequest(string World, string Model, string Mask, AblationOptions Options)
{
    public string? Reference { get; init; }
    public string? Out { get; init; }
    /// <summary>Overwrite an existing ablation.json.</summary>
    public bool Force { get; init; }
}

/// <summary>The `ablate` stage: loads the model, the reference and the masks, runs <see cref="Ablation.Run"/>, writes ablation.json.</summary>
public static class AblationRun
{
    public const string ReportFile = "ablation.json";

    /// <summary>Returns the report and the path of the ablation.json written.</summary>
    public static (AblationReport Report, string Path) Run(AblationRequest r, IProgress<WorkProgress>? progress = null)
    {
        var options = r.Options;
        options.Validate();
        var maskFile = Inputs.MaskFile(r.Mask, options.Rho);
        var outDir = r.Out ?? Path.GetDirectoryName(maskFile)!;
        var path = Path.Combine(outDir, ReportFile);
        if (File.Exists(path) && !r.Force) throw new OptionException("out", $"'{path}' exists (use `force` to overwrite it)");

        var world = FactWorld.Load(r.World);
        var (model, tok) = ModelFolder.Open(r.Model).Load(world.Tokenizer);
        using var _ = model;
        var refPath = options.ResetTo == ResetTo.Reference ? Inputs.ReferenceFolder(r.Reference, r.Model) : "";
        using var editor = WeightEditor.Open(model, refPath.Length > 0 ? refPath : null);

        var (shared, meta) = ParameterMask.Load(maskFile);
        using var __ = shared;
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
        var set = EvalSetBuilder.ForPeople(world, tok, options.EvalPeople);
        var report = Ablation.Run(model, editor, new Evaluator(tok), set, shared, bio, qa, options,
            Path.GetFullPath(r.Model), refPath, maskFile, Inputs.RhoOf(meta), options.EvalPeople, progress);
        Directory.CreateDirectory(outDir);
        AtomicFile.WriteAllText(path, Json.Serialize(report) + "\n");
        return (report, path);
    }
}
