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
    /// Mixed precision in effect (null = off): linear layers, attention and the output projection compute in this
    /// dtype (bf16) from fp32 weights, as torch.autocast does on CPU; norms and the residual stream stay fp32 and the
    /// logits are returned in fp32. Gradients reach the fp32 parameters in fp32. Set by the caller around the work
    /// through <see cref="UseAutocast"/>; forward passes only read it and hand it down explicitly.
    /// </summary>
    public ScalarType? Autocast { get; private set; }

    /// <summary>Autocast to <paramref name="dtype"/> (null = off) until the returned scope is disposed.</summary>
    public AutocastScope UseAutocast(ScalarType? dtype) => new(this, dtype);

    /// <summary>Kernel choices (the attention kernel); the default unless a caller such as a benchmark sets another.</summary>
    public ComputeOptions Compute { get; set; } = ComputeOptions.Default;

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

    /// <summary>
    /// Mixed precision for the duration of some work (a training step's forward pass, a benchmark's loop): sets
    /// <see cref="Autocast"/> on creation and restores the previous value on Dispose (once). Forward passes only read
    /// the state. Per model, so models trained side by side on other threads do not see each other's.
    /// </summary>
    public sealed class AutocastScope : IDisposable
    {
        readonly CausalLM model;
        readonly ScalarType? previous;
        bool disposed;

        internal AutocastScope(CausalLM model, ScalarType? dtype)
        {
            this.model = model;
            previous = model.Autocast;
            model.Autocast = dtype;
        }

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            model.Autocast = previous;
        }
    }
}
