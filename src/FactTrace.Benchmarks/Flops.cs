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

    /// <summary>
    /// The counts come from <see cref="ParameterMap"/> (the model's anatomy, the same one the trace and `inspect` use):
    /// N_trunk = its non-embedding parameters, N_out = the output projection (the untied output embedding, else the
    /// tied input embedding), L layers and d_attn = heads * head_dim from it.
    /// </summary>
    public static FlopCount TrainStep(ModelConfig c, long rows, long seq, long logitPositions)
    {
        var map = ParameterMap.For(c);
        long l = map.Layers;
        long dAttn = (long)map.Heads * map.HeadDim;
        long trunk = map.NonEmbeddingParameters;
        var unembed = map.Parameters.FirstOrDefault(p => p.Component == Component.Unembed)
                      ?? map.Parameters.Single(p => p.Component == Component.Embed);
        long output = unembed.NumEl;
        long embedding = map.TotalParameters - trunk - output;             // the input embedding unless it is tied
        double tokens = rows * seq;
        double flops = 6.0 * trunk * tokens + 6.0 * output * logitPositions + 12.0 * l * dAttn * rows * seq * seq;
        return new FlopCount(trunk, output, embedding, flops);
    }
}
