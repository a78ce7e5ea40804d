using FactTrace.Models;

namespace FactTrace.Benchmarks;

/// <summary>
/// Matrix-multiply FLOPs of a training step (forward + backward), the usual accounting (Kaplan et al. 2020; PaLM's
/// attention term):
/// <code>
/// FLOPs = 6 * N_trunk * B*T  +  6 * N_out * P  +  12 * L * d_attn * B * T^2
/// </code>
/// N_trunk: parameters of the layers and final norm (everything but the input embedding and the output projection);
/// N_out: the output projection (d * V, also for a tied embedding); P: positions with logits (B*(T-1) for unpadded
/// rows); L layers; d_attn = heads * head_dim; the attention term counts the full T x T score matrix (QK^T and AV,
/// forward and backward) although causal kernels may skip half of it. The input embedding is a lookup (no FLOPs).
/// Elementwise work (norms, GELU, softmax, AdamW) is not counted: it is what keeps a small model below the peak.
/// </summary>
public sealed record FlopCount(long TrunkParams, long OutputParams, long EmbeddingParams, double PerStep)
{
    /// <summary>Parameters that multiply activations: N_trunk + N_out.</summary>
    public long MatmulParams => TrunkParams + OutputParams;

    public static FlopCount TrainStep(ModelConfig c, long rows, long seq, long logitPositions)
    {
        long d = c.HiddenSize, v = c.VocabSize, l = c.NumHiddenLayers;
        long dAttn = (long)c.NumAttentionHeads * c.HeadDim;
        long kv = (long)c.KvHeads * c.HeadDim;
        long attnParams = c.IsNeoX
            ? d * 3 * dAttn + 3 * dAttn + dAttn * d + d                           // qkv and dense (biases)
            : d * dAttn + 2 * d * kv + dAttn * d + (c.AttentionBias == true ? dAttn + 2 * kv + d : 0);
        long i = c.IntermediateSize;
        long mlpParams = c.IsNeoX ? 2 * d * i + i + d : 3 * d * i + (c.MlpBias == true ? 2 * i + d : 0);
        long normParams = c.IsNeoX ? 4 * d : 2 * d;                              // two norms per layer
        long trunk = l * (attnParams + mlpParams + normParams) + (c.IsNeoX ? 2 * d : d);
        long output = d * v;
        long embedding = c.TieWordEmbeddings ? 0 : d * v;
        double tokens = rows * seq;
        double flops = 6.0 * trunk * tokens + 6.0 * output * logitPositions + 12.0 * l * dAttn * rows * seq * seq;
        return new FlopCount(trunk, output, embedding, flops);
    }
}
