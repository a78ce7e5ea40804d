using FactTrace.Models;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Tests.Training;

public class WeightDecayTests
{
    /// <summary>The groups through the parameter map are the ones the trainer built from names and ranks before.</summary>
    [Theory]
    [InlineData("neox", false, false)]
    [InlineData("neox", false, true)]
    [InlineData("llama", true, false)]
    [InlineData("llama", false, true)]
    public void GroupsAreMatricesVersusNormsBiasesAndInputEmbedding(string family, bool tied, bool bias)
    {
        var config = NamedConfigs.Get($"micro-{family}", 50);
        config = family == "llama"
            ? config with { TieWordEmbeddings = tied, AttentionBias = bias, MlpBias = bias }
            : config with { AttentionBias = bias ? null : false };
        using var model = ModelFactory.Create(config.Validate(), 0);
        static bool OldNoDecay(string name, Tensor p) =>
            p.dim() < 2 || name.EndsWith("embed_in.weight") || name.EndsWith("embed_tokens.weight");
        var all = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        var groups = WeightDecay.Groups(model, 0.1).ToList();
        Assert.Equal(2, groups.Count);
        Assert.Equal(0.1, groups[0].WeightDecay);
        Assert.Equal(0.0, groups[1].WeightDecay);
        Assert.Equal(all.Where(p => !OldNoDecay(p.Item1, p.Item2)).Select(p => p.Item1), groups[0].Params.Select(p => p.Name));
        Assert.Equal(all.Where(p => OldNoDecay(p.Item1, p.Item2)).Select(p => p.Item1), groups[1].Params.Select(p => p.Name));
        Assert.All(groups.SelectMany(g => g.Params), p => Assert.Equal(all.Single(a => a.Item1 == p.Name).Item2.Handle, p.Param.Handle));
        Assert.Contains(groups[1].Params, p => p.Name.EndsWith("layernorm.weight"));
        if (bias) Assert.Contains(groups[1].Params, p => p.Name.EndsWith(".bias") && !p.Name.Contains("layernorm"));
    }
}
