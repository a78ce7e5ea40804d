using FactTrace.IO;

namespace FactTrace.Models;

/// <summary>The kernel of causal attention without a padding mask (with a mask it is always the fused kernel).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<AttentionKernel>))]
public enum AttentionKernel
{
    /// <summary>
    /// The default: bf16 up to <see cref="Attention.MaxMathCausalLength"/> tokens as matrix products
    /// (<see cref="Attention.CausalMath"/>, much faster there), everything else libtorch's fused kernel.
    /// </summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("auto")] Auto,
    /// <summary>Always libtorch's fused scaled_dot_product_attention (to measure against, or for memory).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("fused")] Fused,
}

/// <summary>
/// How a model computes besides its weights and precision: set by the caller on <see cref="CausalLM.Compute"/> (e.g.
/// `facttrace bench step --attention fused`), read by the forward pass. The default is what training, evaluation and
/// tracing use.
/// </summary>
public sealed record ComputeOptions
{
    public static ComputeOptions Default { get; } = new();

    public AttentionKernel Attention { get; init; } = AttentionKernel.Auto;

    /// <summary>"auto" or "fused" (a command-line value).</summary>
    public static AttentionKernel ParseAttention(string value) => value switch
    {
        "auto" => AttentionKernel.Auto,
        "fused" => AttentionKernel.Fused,
        _ => throw new OptionException("attention", $"'{value}': expected auto or fused"),
    };
}
