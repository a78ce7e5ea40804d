using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// One GPT-NeoX layer. use_parallel_residual: x + attn(ln1(x)) + mlp(ln2(x)); otherwise h = x + attn(ln1(x)),
/// h + mlp(ln2(h)).
/// </summary>
public sealed class NeoXLayer : nn.Module<Tensor, AttentionContext, Tensor>
{
    readonly LayerNorm input_layernorm, post_attention_layernorm;
    readonly NeoXAttention attention;
    readonly NeoXMlp mlp;
    readonly bool parallel;

    public NeoXLayer(ModelConfig c) : base(nameof(NeoXLayer))
    {
        parallel = c.UseParallelResidual ?? true;
        input_layernorm = nn.LayerNorm(c.HiddenSize, c.NormEps);
        post_attention_layernorm = nn.LayerNorm(c.HiddenSize, c.NormEps);
        attention = new NeoXAttention(c);
        mlp = new NeoXMlp(c);
        register_module("input_layernorm", input_layernorm);
        register_module("post_attention_layernorm", post_attention_layernorm);
        register_module("attention", attention);
        register_module("mlp", mlp);
    }

    public override Tensor forward(Tensor x, AttentionContext ctx) // [B,T,D]
    {
        using var scope = NewDisposeScope();
        var attn = attention.call(input_layernorm.call(x), ctx);
        var y = parallel
            ? x + attn + mlp.call(post_attention_layernorm.call(x), ctx.Autocast)
            : Sequential(x + attn, ctx.Autocast);
        return y.MoveToOuterDisposeScope();
    }

    Tensor Sequential(Tensor h, ScalarType? autocast) => h + mlp.call(post_attention_layernorm.call(h), autocast);
}
