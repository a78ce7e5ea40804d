using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Training;

public static class Loss
{
    /// <summary>
    /// Mean next-token cross-entropy over the positions whose next label is not ignored. Logits are computed only at
    /// those positions: with answer-only QA loss most positions carry none, and the output layer is a large part of
    /// a tiny model's cost.
    /// </summary>
    public static Tensor NextToken(CausalLM model, Batch batch)
    {
        using var scope = NewDisposeScope();
        var (logits, targets, _) = LossPositions(model, batch);
        var loss = nn.functional.cross_entropy(logits, targets);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The logits at the positions whose next label counts, their labels, and the mask of those positions.</summary>
    static (Tensor Logits, Tensor Targets, Tensor Keep) LossPositions(CausalLM model, Batch batch)
    {
        var hidden = model.Hidden(batch.Ids, batch.Mask);                 // [B, T, D]
        var d = hidden.shape[2];
        var targets = batch.Labels[.., 1..];                              // [B, T-1]
        var keep = targets.ne(EncodedExample.Ignore);                     // [B, T-1]
        var h = hidden[.., ..^1].masked_select(keep.unsqueeze(-1)).view(-1, d); // [N, D]
        return (model.Logits(h), targets.masked_select(keep), keep);      // [N, V], [N], [B, T-1]
    }

    /// <summary>
    /// The sum over the batch's examples of each example's own loss, i.e. of <see cref="NextToken"/> of the example
    /// alone (its mean over its own loss tokens), computed in one pass: every loss token of example n weighs 1/T_n,
    /// T_n its loss tokens. Unlike <see cref="NextToken"/> of the batch (one mean over all its loss tokens), an
    /// example's term does not depend on the batch it is in. An example without a loss token adds 0.
    /// </summary>
    public static Tensor SumOfExampleMeans(CausalLM model, Batch batch)
    {
        using var scope = NewDisposeScope();
        var (logits, targets, keep) = LossPositions(model, batch);
        var perToken = nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.None); // [N]
        var weight = keep.sum(1, keepdim: true).clamp_min(1).to(ScalarType.Float32).reciprocal().expand_as(keep).masked_select(keep); // [N]
        return perToken.mul(weight).sum().MoveToOuterDisposeScope();
    }
}
