using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// A decoder-only language model with Hugging Face parameter names (named_parameters()/state_dict() keys equal the
/// keys of the HF checkpoint). forward(inputIds [B,T] int64, attentionMask [B,T] or null) -> logits [B,T,V] fp32.
/// attentionMask: 1 = real token, 0 = padding (right padding); null = every token real.
/// </summary>
public abstract class CausalLM : nn.Module<Tensor, Tensor?, Tensor>
{
    protected CausalLM(string name, ModelConfig config) : base(name) => Config = config;

    public ModelConfig Config { get; }

    /// <summary>
    /// Mixed precision (null = off): linear layers, attention and the output projection compute in this dtype
    /// (bf16) from fp32 weights, as torch.autocast does on CPU; norms and the residual stream stay fp32 and the
    /// logits are returned in fp32. Gradients reach the fp32 parameters in fp32.
    /// </summary>
    public ScalarType? Autocast { get; set; }

    /// <summary>Final-normed hidden states [B,T,D] (model dtype).</summary>
    public abstract Tensor Hidden(Tensor inputIds, Tensor? attentionMask);

    /// <summary>Output projection: hidden [..., D] -> logits [..., V] fp32. Lets callers project only the positions they need.</summary>
    public abstract Tensor Logits(Tensor hidden);

    /// <summary>The input embedding matrix [V, D] (for Llama with tied embeddings also the output projection).</summary>
    public abstract Tensor InputEmbedding { get; }

    public override Tensor forward(Tensor inputIds, Tensor? attentionMask)
    {
        using var scope = NewDisposeScope();
        return Logits(Hidden(inputIds, attentionMask)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean cross-entropy of logits[:, :-1] [B,T,V] against labels[:, 1:] [B,T] (int64), ignoring label -100, as
    /// Hugging Face's causal-LM loss (fp32). NaN if every label is ignored, as in HF.
    /// </summary>
    public static Tensor NextTokenLoss(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        var v = logits.shape[^1];
        var predicted = logits[.., ..^1, ..].to(ScalarType.Float32).reshape(-1, v); // [B*(T-1), V]
        var targets = labels[.., 1..].to(ScalarType.Int64).reshape(-1);              // [B*(T-1)]
        return nn.functional.cross_entropy(predicted, targets, ignore_index: -100).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Called at the end of each constructor: a model built inside a dispose scope must outlive it, but TorchSharp's
    /// nn.Embedding registers its weight in the current scope (measured with 0.107), which would dispose it.
    /// </summary>
    protected void DetachParametersFromDisposeScope()
    {
        foreach (var p in parameters()) p.DetachFromDisposeScope();
    }

    /// <summary>Number of parameter elements (a tied embedding counted once).</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
