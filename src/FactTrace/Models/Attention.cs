using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>What every attention layer of one forward pass shares: rotary tables for positions 0..T-1 and the mask.</summary>
/// <param name="Cos">[T, rotary dims]</param>
/// <param name="Sin">[T, rotary dims]</param>
/// <param name="Mask">[B,1,T,T] bool (true = may attend), or null for plain causal attention without padding.</param>
public sealed record AttentionContext(Tensor Cos, Tensor Sin, Tensor? Mask);

/// <summary>Attention helpers shared by both families.</summary>
public static class Attention
{
    /// <summary>
    /// Causal mask combined with key padding: query t may attend key s if s &lt;= t and key s is real. Every query may
    /// also attend itself, so padded query rows never see an all-masked row (no NaN); real queries are unaffected.
    /// attentionMask [B,T] (1 real, 0 pad) -> [B,1,T,T] bool, or null when attentionMask is null.
    /// </summary>
    public static Tensor? Mask(Tensor? attentionMask, long t)
    {
        if (attentionMask is null || IsRightPadded(attentionMask)) return null;
        using var scope = NewDisposeScope();
        var device = attentionMask.device;
        var causal = ones(t, t, ScalarType.Bool, device).tril();                   // [T,T]
        var self = eye(t, t, ScalarType.Bool, device);                            // [T,T]
        var keyReal = attentionMask.to(ScalarType.Bool)[.., TensorIndex.None, TensorIndex.None, ..]; // [B,1,1,T]
        return causal.logical_and(keyReal.logical_or(self)).MoveToOuterDisposeScope(); // [B,1,T,T]
    }

    /// <summary>
    /// Right padding (every row 1...1 0...0) needs no mask: under causal attention a real token only sees earlier
    /// positions, which are all real, and padded positions' outputs are never used. Plain causal attention takes
    /// the fused kernel instead of materialising a [B,1,T,T] mask (measured faster: see `facttrace bench step --padded`).
    /// </summary>
    public static bool IsRightPadded(Tensor attentionMask)
    {
        if (attentionMask.shape[1] < 2) return true;
        using var scope = NewDisposeScope();
        var m = attentionMask.to(ScalarType.Int64);
        return m[.., 1..].le(m[.., ..^1]).all().item<bool>();
    }

    /// <summary>
    /// Scaled dot-product attention with grouped-query heads: q [B,H,T,hd], k and v [B,KV,T,hd]; query head h reads
    /// kv head h / (H/KV). Returns [B,T,H*hd].
    /// </summary>
    public static Tensor ScaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        var (b, h, t, hd) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
        var groups = h / k.shape[1];
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1); // [B,H,T,hd]
            v = v.repeat_interleave(groups, dim: 1);
        }
        var y = mask is null
            ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
            : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        return y.transpose(1, 2).reshape(b, t, h * hd).MoveToOuterDisposeScope(); // [B,T,H*hd]
    }
}
