using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// GPT-NeoX self-attention: fused query_key_value whose output rows are head-major (head, {q,k,v}, d_head), rotary on
/// the first rotary_pct * d_head dims of q and k, then dense. Biases unless attention_bias is false.
/// </summary>
public sealed class NeoXAttention : nn.Module<Tensor, AttentionContext, Tensor>
{
    readonly Linear query_key_value, dense;
    readonly int heads, headDim;

    public NeoXAttention(ModelConfig c) : base(nameof(NeoXAttention))
    {
        (heads, headDim) = (c.NumAttentionHeads, c.HeadDim);
        var bias = c.AttentionBias ?? true;
        query_key_value = nn.Linear(c.HiddenSize, 3 * heads * headDim, bias); // W [H*3*hd, D]
        dense = nn.Linear(heads * headDim, c.HiddenSize, bias);                // W [D, H*hd]
        register_module("query_key_value", query_key_value);
        register_module("dense", dense);
    }

    public override Tensor forward(Tensor x, AttentionContext ctx) // x [B,T,D]
    {
        using var scope = NewDisposeScope();
        var (b, t) = (x.shape[0], x.shape[1]);
        var qkv = Autocast.Linear(query_key_value, x, ctx.Autocast).view(b, t, heads, 3 * headDim).transpose(1, 2); // [B,H,T,3hd]
        var q = qkv[.., .., .., ..headDim];                  // [B,H,T,hd]
        var k = qkv[.., .., .., headDim..(2 * headDim)];     // [B,H,T,hd]
        var v = qkv[.., .., .., (2 * headDim)..];            // [B,H,T,hd]
        q = Rotary.Apply(q, ctx.Cos, ctx.Sin);
        k = Rotary.Apply(k, ctx.Cos, ctx.Sin);
        var y = Attention.ScaledDotProduct(q, k, v, ctx.Mask, ctx.Attention); // [B,T,H*hd]
        return Autocast.Linear(dense, y, ctx.Autocast).MoveToOuterDisposeScope(); // [B,T,D]
    }
}
