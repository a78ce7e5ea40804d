using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// What every layer of one forward pass shares: rotary tables for positions 0..T-1, the mask, autocast and the
/// attention kernel (the last two read once from the model, see <see cref="CausalLM.Autocast"/> and <see cref="CausalLM.Compute"/>).
/// </summary>
/// <param name="Cos">[T, rotary dims]</param>
/// <param name="Sin">[T, rotary dims]</param>
/// <param name="Mask">[B,1,T,T] bool (true = may attend), or null for plain causal attention without padding.</param>
/// <param name="Autocast">Non-null: matrix products (and attention) in this dtype, see <see cref="CausalLM.Autocast"/>.</param>
/// <param name="Attention">The causal attention kernel, see <see cref="AttentionKernel"/>.</param>
public sealed record AttentionContext(Tensor Cos, Tensor Sin, Tensor? Mask, ScalarType? Autocast = null,
    AttentionKernel Attention = AttentionKernel.Auto);

/// <summary>
/// Mixed precision as PyTorch's CPU autocast does it: a linear layer casts its input, weight and bias to the autocast
/// dtype and returns that dtype; everything else keeps the dtype it is given (the residual stream, which starts as
/// the fp32 embedding, stays fp32 because bf16 + fp32 promotes to fp32; norms run on it in fp32). Autograd carries
/// the gradients back through the casts, so fp32 parameters receive fp32 gradients.
/// </summary>
public static class Autocast
{
    /// <summary><paramref name="layer"/>(x), in <paramref name="dtype"/> when it is set and differs from the weight's.</summary>
    public static Tensor Linear(Linear layer, Tensor x, ScalarType? dtype)
    {
        if (dtype is not { } dt || layer.weight!.dtype == dt) return layer.call(x);
        using var scope = NewDisposeScope();
        return nn.functional.linear(x.to(dt), layer.weight.to(dt), layer.bias?.to(dt)).MoveToOuterDisposeScope();
    }

    /// <summary>x @ weight^T (a tied output projection), in <paramref name="dtype"/> when it is set.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, ScalarType? dtype)
    {
        if (dtype is not { } dt || weight.dtype == dt) return nn.functional.linear(x, weight);
        using var scope = NewDisposeScope();
        return nn.functional.linear(x.to(dt), weight.to(dt)).MoveToOuterDisposeScope();
    }
}

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

    /// <summary>Longest sequence for which bf16 causal attention takes <see cref="CausalMath"/> (it holds B*H*T*T scores).</summary>
    public const int MaxMathCausalLength = 256;

    /// <summary>
    /// Causal attention as matrix products: softmax(q k^T / sqrt(hd) with the future masked) v. For bf16 and short
    /// sequences this is much faster than libtorch 2.10's fused CPU kernel (measured with `facttrace bench step --mode bf16`,
    /// 1 thread: tiny-neox 192 -> 139 ms per step, a 6-layer d256 NeoX 674 -> 494 ms), whose bf16 path spends its
    /// time in small reduced-precision GEMM calls; the products here go to oneDNN as batched bf16 matmuls, as
    /// PyTorch's own math attention does. fp32 keeps the fused kernel (same speed there, and bit-identical results).
    /// </summary>
    public static Tensor CausalMath(Tensor q, Tensor k, Tensor v)
    {
        using var scope = NewDisposeScope();
        var t = q.shape[2];
        var scores = q.matmul(k.transpose(-2, -1)).mul_(1.0 / Math.Sqrt(q.shape[3]));     // [B,H,T,T]
        var future = ones(t, t, ScalarType.Bool, q.device).triu(1);                       // [T,T] true above the diagonal
        return scores.masked_fill_(future, double.NegativeInfinity).softmax(-1).matmul(v).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Scaled dot-product attention with grouped-query heads: q [B,H,T,hd], k and v [B,KV,T,hd]; query head h reads
    /// kv head h / (H/KV). Returns [B,T,H*hd]. <paramref name="kernel"/>: see <see cref="AttentionKernel"/>.
    /// </summary>
    public static Tensor ScaledDotProduct(Tensor q, Tensor k, Tensor v, Tensor? mask, AttentionKernel kernel = AttentionKernel.Auto)
    {
        using var scope = NewDisposeScope();
        var (b, h, t, hd) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3]);
        var groups = h / k.shape[1];
        if (groups > 1)
        {
            k = k.repeat_interleave(groups, dim: 1); // [B,H,T,hd]
            v = v.repeat_interleave(groups, dim: 1);
        }
        var y = mask is null && q.dtype == ScalarType.BFloat16 && t <= MaxMathCausalLength && kernel == AttentionKernel.Auto
            ? CausalMath(q, k, v)
            : mask is null
                ? nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true)
                : nn.functional.scaled_dot_product_attention(q, k, v, attn_mask: mask);
        return y.transpose(1, 2).reshape(b, t, h * hd).MoveToOuterDisposeScope(); // [B,T,H*hd]
    }
}
