using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>Llama grouped-query self-attention: q/k/v/o_proj (bias only with attention_bias), RoPE on all head dims.</summary>
public sealed class LlamaAttention : nn.Module<Tensor, AttentionContext, Tensor>
{
    readonly Linear q_proj, k_proj, v_proj, o_proj;
    readonly int heads, kvHeads, headDim;

    public LlamaAttention(ModelConfig c) : base(nameof(LlamaAttention))
    {
        (heads, kvHeads, headDim) = (c.NumAttentionHeads, c.KvHeads, c.HeadDim);
        var bias = c.AttentionBias ?? false;
        q_proj = nn.Linear(c.HiddenSize, heads * headDim, bias);   // W [H*hd, D]
        k_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, bias); // W [KV*hd, D]
        v_proj = nn.Linear(c.HiddenSize, kvHeads * headDim, bias); // W [KV*hd, D]
        o_proj = nn.Linear(heads * headDim, c.HiddenSize, bias);   // W [D, H*hd]
        register_module("q_proj", q_proj);
        register_module("k_proj", k_proj);
        register_module("v_proj", v_proj);
        register_module("o_proj", o_proj);
    }

    public override Tensor forward(Tensor x, AttentionContext ctx) // x [B,T,D]
    {
        using var scope = NewDisposeScope();
        var (b, t) = (x.shape[0], x.shape[1]);
        var q = Autocast.Linear(q_proj, x, ctx.Autocast).view(b, t, heads, headDim).transpose(1, 2);   // [B,H,T,hd]
        var k = Autocast.Linear(k_proj, x, ctx.Autocast).view(b, t, kvHeads, headDim).transpose(1, 2); // [B,KV,T,hd]
        var v = Autocast.Linear(v_proj, x, ctx.Autocast).view(b, t, kvHeads, headDim).transpose(1, 2); // [B,KV,T,hd]
        q = Rotary.Apply(q, ctx.Cos, ctx.Sin);
        k = Rotary.Apply(k, ctx.Cos, ctx.Sin);
        var y = Attention.ScaledDotProduct(q, k, v, ctx.Mask, ctx.Attention); // [B,T,H*hd]
        return Autocast.Linear(o_proj, y, ctx.Autocast).MoveToOuterDisposeScope(); // [B,T,D]
    }
}
