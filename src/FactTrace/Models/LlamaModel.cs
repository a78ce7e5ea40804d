using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>The Llama trunk ("model."): embed_tokens, layers, norm. (ids [B,T], mask) -> final-normed hidden [B,T,D].</summary>
public sealed class LlamaModel : nn.Module<Tensor, Tensor?, ScalarType?, AttentionKernel, Tensor>
{
    readonly Embedding embed_tokens;
    readonly ModuleList<LlamaLayer> layers;
    readonly RmsNorm norm;
    readonly double[] invFreq;

    public LlamaModel(ModelConfig c) : base(nameof(LlamaModel))
    {
        embed_tokens = nn.Embedding(c.VocabSize, c.HiddenSize); // W [V, D]
        layers = nn.ModuleList(Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new LlamaLayer(c)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.NormEps);
        invFreq = Rotary.InverseFrequencies(c);
        register_module("embed_tokens", embed_tokens);
        register_module("layers", layers);
        register_module("norm", norm);
    }

    public Parameter EmbedWeight => embed_tokens.weight!;

    /// <param name="autocast">The owning model's <see cref="CausalLM.Autocast"/>.</param>
    /// <param name="attention">The owning model's <see cref="ComputeOptions.Attention"/>.</param>
    public override Tensor forward(Tensor inputIds, Tensor? attentionMask, ScalarType? autocast, AttentionKernel attention)
    {
        using var scope = NewDisposeScope();
        var x = embed_tokens.call(inputIds); // [B,T,D]
        var t = inputIds.shape[1];
        var (cos, sin) = Rotary.Tables(invFreq, t, autocast ?? x.dtype, x.device); // [T,hd]
        var ctx = new AttentionContext(cos, sin, Attention.Mask(attentionMask, t), autocast, attention);
        foreach (var layer in layers) x = layer.call(x, ctx);
        return norm.call(x).MoveToOuterDisposeScope(); // [B,T,D]
    }
}
