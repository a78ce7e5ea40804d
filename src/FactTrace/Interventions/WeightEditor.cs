using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Interventions;

/// <summary>What ablated parameters are set to.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<ResetTo>))]
public enum ResetTo
{
    [System.Text.Json.Serialization.JsonStringEnumMemberName("reference")] Reference,
    [System.Text.Json.Serialization.JsonStringEnumMemberName("zero")] Zero,
}

/// <summary>
/// Edits a trained model's parameters in place and puts them back: keeps a copy of the trained weights and of the
/// reference weights (the common starting point: init/ of a from-scratch run, the pretrained folder of a fine-tune).
/// <list type="bullet">
/// <item><see cref="Ablate"/>: theta = mask ? reference (or 0) : trained.</item>
/// <item><see cref="Graft"/>: theta = mask ? trained : reference, on the parameters the mask names; parameters it
/// does not name keep their trained values (the graft's domain is the mask's).</item>
/// <item><see cref="GraftRelaxed"/>: theta = reference + gamma * (trained - reference) on the parameters named.</item>
/// </list>
/// Every edit starts from the trained weights (earlier edits are undone first).
/// </summary>
public sealed class WeightEditor : IDisposable
{
    readonly Dictionary<string, Parameter> parameters;
    readonly Dictionary<string, Tensor> trained = new(StringComparer.Ordinal);
    readonly Dictionary<string, Tensor>? reference;
    readonly HashSet<string> dirty = new(StringComparer.Ordinal);

    /// <param name="reference">Reference weights by HF name (same names, shapes as the model); copied. Null: only
    /// <see cref="ResetTo.Zero"/> ablation is possible.</param>
    public WeightEditor(CausalLM model, IReadOnlyDictionary<string, Tensor>? reference)
    {
        parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, p) in parameters) trained[name] = p.detach().clone().DetachFromDisposeScope();
        if (reference is null) return;
        var missing = parameters.Keys.Where(n => !reference.ContainsKey(n)).ToList();
        if (missing.Count > 0) throw new FactTraceException($"the reference lacks {missing.Count} parameter(s) of the model, e.g. '{missing[0]}'");
        this.reference = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in parameters)
        {
            var r = reference[name];
            if (!r.shape.SequenceEqual(p.shape))
                throw new FactTraceException($"reference '{name}' is [{string.Join(", ", r.shape)}], the model's is [{string.Join(", ", p.shape)}]");
            this.reference[name] = r.detach().to(p.dtype).clone().DetachFromDisposeScope();
        }
    }

    /// <summary>Loads a reference HF folder and checks it matches the model (names and shapes).</summary>
    /// <summary>
    /// An editor of <paramref name="model"/> whose reference is the checkpoint in <paramref name="referenceFolder"/> (null:
    /// no reference, for zero resets); the loaded reference is copied into the editor and freed.
    /// </summary>
    public static WeightEditor Open(CausalLM model, string? referenceFolder)
    {
        var reference = referenceFolder is null ? null : LoadReference(referenceFolder, model);
        try { return new WeightEditor(model, reference); }
        finally { if (reference is not null) foreach (var t in reference.Values) t.Dispose(); }
    }

    public static Dictionary<string, Tensor> LoadReference(string folder, CausalLM model)
    {
        using var r = HfCheckpoint.Load(ModelFolder.Open(folder, "reference").Path);
        if (r.Config.ModelType != model.Config.ModelType)
            throw new FactTraceException($"reference '{folder}' is {r.Config.ModelType}, the model is {model.Config.ModelType}");
        return r.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope(), StringComparer.Ordinal);
    }

    public IReadOnlyDictionary<string, Tensor> Trained => trained;
    public IReadOnlyDictionary<string, Tensor>? Reference => reference;

    public void Ablate(ParameterMask mask, ResetTo to)
    {
        if (to == ResetTo.Reference && reference is null) throw new InvalidOperationException("no reference weights were given");
        Restore();
        using var noGrad = no_grad();
        foreach (var (name, m) in mask.Tensors)
        {
            if (mask.CountOf(name) == 0) continue;
            using var scope = NewDisposeScope();
            var p = Param(name, m);
            var target = to == ResetTo.Zero ? zeros_like(p) : reference![name];
            p.copy_(where(m, target, trained[name]));
            dirty.Add(name);
        }
    }

    public void Graft(ParameterMask mask)
    {
        if (reference is null) throw new InvalidOperationException("no reference weights were given");
        Restore();
        using var noGrad = no_grad();
        foreach (var (name, m) in mask.Tensors)
        {
            using var scope = NewDisposeScope();
            var p = Param(name, m);
            p.copy_(where(m, trained[name], reference[name]));
            dirty.Add(name);
        }
    }

    /// <summary>theta = reference + gamma * (trained - reference) for each named parameter (gamma: fp32, any values).</summary>
    public void GraftRelaxed(IReadOnlyDictionary<string, Tensor> gamma)
    {
        if (reference is null) throw new InvalidOperationException("no reference weights were given");
        Restore();
        using var noGrad = no_grad();
        foreach (var (name, g) in gamma)
        {
            using var scope = NewDisposeScope();
            var p = Param(name, g);
            var r = reference[name].to(ScalarType.Float32);
            p.copy_((r + g * (trained[name].to(ScalarType.Float32) - r)).to(p.dtype));
            dirty.Add(name);
        }
    }

    /// <summary>Puts the trained weights back.</summary>
    public void Restore()
    {
        using var noGrad = no_grad();
        foreach (var name in dirty) parameters[name].copy_(trained[name]);
        dirty.Clear();
    }

    Parameter Param(string name, Tensor like)
    {
        if (!parameters.TryGetValue(name, out var p)) throw new FactTraceException($"mask names '{name}', which is not a parameter of the model");
        if (!like.shape.SequenceEqual(p.shape))
            throw new FactTraceException($"mask of '{name}' is [{string.Join(", ", like.shape)}], the parameter is [{string.Join(", ", p.shape)}]");
        return p;
    }

    public void Dispose()
    {
        Restore();
        foreach (var t in trained.Values) t.Dispose();
        if (reference is not null) foreach (var t in reference.Values) t.Dispose();
    }
}
