using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>One Llama decoder layer: h = x + attn(norm1(x)); out = h + mlp(norm2(h)).</summary>
public sealed class LlamaLayer : nn.Module<Tensor, AttentionContext, Tensor>
{
    readonly LlamaAttention self_attn;
    readonly LlamaMlp mlp;
    readonly RmsNorm input_layernorm, post_attention_layernorm;

    public LlamaLayer(ModelConfig c) : base(nameof(LlamaLayer))
    {
        self_attn = new LlamaAttention(c);
        mlp = new LlamaMlp(c);
        input_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        post_attention_layernorm = new RmsNorm(c.HiddenSize, c.NormEps);
        register_module("self_attn", self_attn);
        register_module("mlp", mlp);
        register_module("input_layernorm", input_layernorm);
        register_module("post_attention_layernorm", post_attention_layernorm);
    }

    public override Tensor forward(Tensor x, AttentionContext ctx) // [B,T,D]
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.call(input_layernorm.call(x), ctx);
        return (h + mlp.call(post_attention_layernorm.call(h), ctx.Autocast)).MoveToOuterDisposeScope();
    }
}
