using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>
/// Which parameters AdamW decays, decided from the model's <see cref="ParameterMap"/>: weight matrices are decayed;
/// norms, biases and the input embedding are not (an untied output embedding is a matrix and is decayed).
/// </summary>
public static class WeightDecay
{
    /// <summary>Whether weight decay applies to <paramref name="p"/>.</summary>
    public static bool Applies(ParameterInfo p) => !(p.IsNorm || p.IsBias || p.IsInputEmbedding);

    /// <summary>
    /// Two AdamW groups, in named_parameters order within each: the decayed parameters with
    /// <paramref name="weightDecay"/>, then the others with 0.
    /// </summary>
    public static IEnumerable<AdamW.Group> Groups(CausalLM model, double weightDecay)
    {
        var map = ParameterMap.For(model.Config);
        var all = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter, Decays: Applies(map[p.name]))).ToList();
        yield return new AdamW.Group(all.Where(p => p.Decays).Select(p => (p.name, p.Item2)).ToList(), weightDecay);
        yield return new AdamW.Group(all.Where(p => !p.Decays).Select(p => (p.name, p.Item2)).ToList(), 0.0);
    }
}
