using System.Globalization;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Interventions;

/// <summary>
/// Graft <see cref="Model"/> onto <see cref="Reference"/> (default: init/ beside the model) into the folder
/// <see cref="Out"/>; with <see cref="Shared"/> (a mask file or a trace folder, then the options' rho) the graft is
/// compared with S.
/// </summary>
public sealed record GraftRequest(string World, string Model, string Out, GraftOptions Options)
{
    public string? Reference { get; init; }
    public string? Shared { get; init; }
    /// <summary>Replace a non-empty <see cref="Out"/>.</summary>
    public bool Force { get; init; }
}

/// <summary>The `graft` stage: runs <see cref="Graft.Run"/> and writes graft.json and the masks.</summary>
public static class GraftRun
{
    public const string MaskFile = "graft_mask.safetensors", MovementMaskFile = "movement_mask.safetensors", ReportFile = "graft.json";

    public static GraftReport Run(GraftRequest r, IProgress<WorkProgress>? progress = null)
    {
        var options = r.Options;
        options.Validate();
        OutputFolder.CheckWritable(r.Out, r.Force);
        var world = FactWorld.Load(r.World);
        var (model, tok) = ModelFolder.Open(r.Model).Load(world.Tokenizer);
        using var _ = model;
        var refPath = Inputs.ReferenceFolder(r.Reference, r.Model);
        using var editor = WeightEditor.Open(model, refPath);

        ParameterMask? s = null;
        double? sRho = null;
        if (r.Shared is not null)
        {
            var (mask, meta) = ParameterMask.Load(Inputs.MaskFile(r.Shared, options.Rho, "shared"));
            s = mask;
            sRho = Inputs.RhoOf(meta);
        }
        using var __ = s;
        var qaTrain = world.QaTrain.Select(q => ExampleEncoder.Qa(tok, q)).ToList();
        var set = EvalSetBuilder.ForPeople(world, tok, options.EvalPeople);
        using var result = Graft.Run(model, editor, qaTrain, tok.PadId, new Evaluator(tok), set, options,
            Path.GetFullPath(r.Model), refPath, s, sRho, progress);
        OutputFolder.Create(r.Out, r.Force, tmp =>
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
}
