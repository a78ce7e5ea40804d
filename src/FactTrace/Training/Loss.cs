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
    /// The next-token cross-entropy summed (not averaged) over the batch's loss positions, divided by
    /// <paramref name="divisor"/>: one task part of a training batch is <c>NextTokenSum(part, N)</c>, N the loss tokens of
    /// the whole batch, so the parts' losses add up to <see cref="NextToken"/> of the batch and their gradients to its
    /// gradient. With divisor 1 it is the sum of the examples' own losses, each the sum over its loss tokens (the
    /// example's negative log-likelihood of its labels): the per-example loss of the lr-grad trace.
    /// </summary>
    public static Tensor NextTokenSum(CausalLM model, Batch batch, double divisor = 1)
    {
        using var scope = NewDisposeScope();
        var (logits, targets, _) = LossPositions(model, batch);
        var loss = nn.functional.cross_entropy(logits, targets, reduction: nn.Reduction.Sum);
        if (divisor != 1) loss = loss.div(divisor);
        return loss.MoveToOuterDisposeScope();
    }
}
