using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>The GPT-NeoX trunk ("gpt_neox."): embed_in, layers, final_layer_norm. (ids [B,T], mask) -> hidden [B,T,D].</summary>
public sealed class GptNeoXModel : nn.Module<Tensor, Tensor?, ScalarType?, AttentionKernel, Tensor>
{
    readonly Embedding embed_in;
    readonly ModuleList<NeoXLayer> layers;
    readonly LayerNorm final_layer_norm;
    readonly double[] invFreq;

    public GptNeoXModel(ModelConfig c) : base(nameof(GptNeoXModel))
    {
        embed_in = nn.Embedding(c.VocabSize, c.HiddenSize); // W [V, D]
        layers = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new NeoXLayer(c)).ToArray());
        final_layer_norm = nn.LayerNorm(c.HiddenSize, c.NormEps);
        invFreq = Rotary.InverseFrequencies(c);
        register_module("embed_in", embed_in);
        register_module("layers", layers);
        register_module("final_layer_norm", final_layer_norm);
    }

    public Parameter EmbedWeight => embed_in.weight!;

    /// <param name="autocast">The owning model's <see cref="CausalLM.Autocast"/>.</param>
    /// <param name="attention">The owning model's <see cref="ComputeOptions.Attention"/>.</param>
    public override Tensor forward(Tensor inputIds, Tensor? attentionMask, ScalarType? autocast, AttentionKernel attention)
    {
        using var scope = NewDisposeScope();
        var x = embed_in.call(inputIds); // [B,T,D]
        var t = inputIds.shape[1];
        var (cos, sin) = Rotary.Tables(invFreq, t, autocast ?? x.dtype, x.device); // [T, rotary dims]
        var ctx = new AttentionContext(cos, sin, Attention.Mask(attentionMask, t), autocast, attention);
        foreach (var layer in layers) x = layer.call(x, ctx);
        return final_layer_norm.call(x).MoveToOuterDisposeScope(); // [B,T,D]
    }
}
