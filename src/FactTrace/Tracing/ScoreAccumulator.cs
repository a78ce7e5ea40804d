using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Tracing;

/// <summary>
/// One task's scores: an fp32 tensor per HF parameter (the parameter's shape), summed over backward passes. It owns
/// the tensors; holding one per task is the whole memory cost of a trace beyond the model, its gradients and the
/// activations of one pass. For <see cref="ScoreKind.LrGrad"/> the sum is signed (sum of lr * g, still fp32: see
/// <see cref="Add"/>).
/// </summary>
public sealed class ScoreAccumulator : IDisposable
{
    readonly Dictionary<string, Tensor> scores;

    public ScoreAccumulator(CausalLM model, ScoreKind kind)
    {
        Kind = kind;
        scores = model.named_parameters().ToDictionary(p => p.name, p =>
        {
            var t = zeros(p.parameter.shape, ScalarType.Float32, p.parameter.device);
            t.DetachFromDisposeScope();
            return t;
        }, StringComparer.Ordinal);
    }

    /// <summary>Wraps existing fp32 score tensors (e.g. read from a file); the accumulator then owns them.</summary>
    public ScoreAccumulator(ScoreKind kind, Dictionary<string, Tensor> tensors, long units = 0, long examples = 0)
    {
        Kind = kind;
        scores = tensors;
        Units = units;
        Examples = examples;
    }

    public ScoreKind Kind { get; }
    /// <summary>Backward passes summed (examples, micro-batches or training-batch parts).</summary>
    public long Units { get; private set; }
    /// <summary>Examples those passes covered.</summary>
    public long Examples { get; private set; }
    /// <summary>Examples skipped because they carry no loss token.</summary>
    public long Skipped { get; private set; }
    public IReadOnlyDictionary<string, Tensor> Scores => scores;

    /// <summary>
    /// Forward and backward on <paramref name="unit"/> (one example, or a micro-batch whose loss is the mean over its
    /// loss tokens, as in training), then adds the score of the resulting gradients and clears them. Returns the loss,
    /// or NaN when no example of the unit has a loss token (nothing is added then).
    /// <para>
    /// <see cref="ScoreKind.LrGrad"/> takes the step's <paramref name="lr"/> and the unit's summed loss
    /// (<see cref="Loss.NextTokenSum"/>: each example's loss is the sum over its loss tokens), and adds lr * g, signed.
    /// </para>
    /// </summary>
    public double Add(CausalLM model, IReadOnlyList<EncodedExample> unit, int padId, double? lr = null, Action? beforeClear = null)
    {
        var kept = unit.Where(HasLossToken).ToList();
        Skipped += unit.Count - kept.Count;
        if (kept.Count == 0) return double.NaN;
        using var scope = NewDisposeScope();
        model.zero_grad(set_to_none: false);
        using var batch = Batch.Collate(kept, padId);
        var loss = Kind == ScoreKind.LrGrad ? Loss.NextTokenSum(model, batch) : Loss.NextToken(model, batch);
        var value = loss.item<float>();
        if (!float.IsFinite(value)) throw new FactTraceException($"loss is {value} on a probe example of person {kept[0].Person}: the model is broken");
        loss.backward();
        beforeClear?.Invoke();
        AddGradients(model, lr);
        Examples += kept.Count;
        return value;
    }

    /// <summary>
    /// Adds the score of one task part of a training step from the gradients its backward pass left
    /// (<see cref="ObservedPart"/>), without changing them: the gradient of the part's loss is g * N / n for its mean
    /// (the unit of grad, grad-x-weight and fisher, as <see cref="Add"/> of the part) and g * N for its sum (lr-grad,
    /// times the step's lr), N the step's loss tokens and n the part's. A part without a loss token adds nothing.
    /// </summary>
    public void AddObserved(CausalLM model, ObservedPart part)
    {
        if (part.LossTokens == 0) return;
        AddHeld(model, Kind == ScoreKind.LrGrad ? part.Batch.Lr * part.StepLossTokens : part.StepLossTokens / (double)part.LossTokens);
        Examples += part.Examples.Count(HasLossToken);
    }

    /// <summary>
    /// Adds the score of the gradients the parameters hold, times <paramref name="scale"/>, without changing them (the
    /// gradient is taken to be scale * g: |scale g|, |scale theta g|, (scale g)^2, or scale g for lr-grad). Counts one unit.
    /// </summary>
    public void AddHeld(CausalLM model, double scale = 1)
    {
        Accumulate(model, scale, overwrite: false);
        Units++;
    }

    /// <summary>acc += score(scale * g) for every parameter with a gradient; <paramref name="overwrite"/>: g may be used as scratch (no copies).</summary>
    void Accumulate(CausalLM model, double scale, bool overwrite)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, p) in model.named_parameters())
        {
            var g = p.grad;
            if (g is null) continue;
            var acc = scores[name];
            if (g.dtype != ScalarType.Float32) g = g.to(ScalarType.Float32);
            switch (Kind)
            {
                case ScoreKind.Grad:
                    acc.add_(overwrite ? g.abs_() : g.abs(), scale);
                    break;
                case ScoreKind.GradXWeight:
                    acc.add_((overwrite ? g.mul_(p) : g.mul(p)).abs_(), scale);
                    break;
                case ScoreKind.Fisher:
                    acc.addcmul_(g, g, scale * scale);
                    break;
                case ScoreKind.LrGrad:
                    acc.add_(g, scale); // fp32: acc += (float)scale * g
                    break;
            }
        }
    }

    /// <summary>
    /// Adds the score of the gradients the parameters hold now (one unit) and zeroes them in place. Parameters without
    /// a gradient add 0. The gradient tensors are overwritten in place (no copies) and stay allocated: freeing and
    /// reallocating gradient-sized buffers on every pass fragments the C heap (callers set them to null when done,
    /// as <see cref="GradientTrace.Run"/> does). <paramref name="lr"/>: required by <see cref="ScoreKind.LrGrad"/>
    /// (the score is lr * g), not used by the other kinds.
    /// </summary>
    public void AddGradients(CausalLM model, double? lr = null)
    {
        if (Kind == ScoreKind.LrGrad && lr is null)
            throw new InvalidOperationException("lr-grad scores need the step's learning rate (they are accumulated during training only)");
        Accumulate(model, Kind == ScoreKind.LrGrad ? lr!.Value : 1, overwrite: true);
        model.zero_grad(set_to_none: false);
        Units++;
    }

    /// <summary>
    /// Replaces the sums and counts with saved ones (a resumed training's, from <see cref="TrainingTrace.SaveState"/>);
    /// every parameter must be there with its shape. <paramref name="file"/> names the source in errors.
    /// </summary>
    public void Restore(IReadOnlyDictionary<string, Tensor> saved, long units, long examples, long skipped, string file)
    {
        using var noGrad = no_grad();
        foreach (var (name, acc) in scores)
        {
            if (!saved.TryGetValue(name, out var t))
                throw new FactTraceException($"'{file}' lacks the scores of '{name}'");
            if (!t.shape.SequenceEqual(acc.shape))
                throw new FactTraceException($"'{file}': '{name}' has shape [{string.Join(",", t.shape)}], the model [{string.Join(",", acc.shape)}]");
            acc.copy_(t);
        }
        (Units, Examples, Skipped) = (units, examples, skipped);
    }

    /// <summary>Takes the example counts of the accumulator whose passes this one read (<see cref="GradientTrace.RunKinds"/>).</summary>
    internal void CountExamplesLike(ScoreAccumulator lead) => (Examples, Skipped) = (lead.Examples, lead.Skipped);

    static bool HasLossToken(EncodedExample e)
    {
        for (var i = 1; i < e.Labels.Length; i++) if (e.Labels[i] != EncodedExample.Ignore) return true;
        return false;
    }

    public void Dispose()
    {
        foreach (var t in scores.Values) t.Dispose();
        scores.Clear();
    }
}

/// <summary>Post-hoc scores of a trained model over a probe set.</summary>
public static class GradientTrace
{
    /// <summary>Examples (or micro-batches) between forced garbage collections: native memory is freed by finalizers.</summary>
    public const int CollectEvery = 16;

    /// <summary>
    /// Several post-hoc kinds at once from the same backward passes (one per example or micro-batch, as
    /// <see cref="Run"/>): each kind's sums equal those of its own <see cref="Run"/>, at the cost of one.
    /// </summary>
    public static Dictionary<ScoreKind, ScoreAccumulator> RunKinds(CausalLM model, IReadOnlyList<EncodedExample> examples,
        IReadOnlyList<ScoreKind> kinds, Granularity granularity, int padId, int microBatch = 8, Action<long, long>? progress = null)
    {
        if (kinds.Count == 0) return [];
        if (kinds.Distinct().Count() != kinds.Count) throw new ArgumentException("a kind is given twice", nameof(kinds));
        foreach (var k in kinds)
            if (k.DuringTrainingOnly())
                throw new OptionException("score", $"{k.Name()} is accumulated during training only (train --trace-score {k.Name()}, then trace --during-training)");
        if (granularity == Granularity.MicroBatch && microBatch <= 0)
            throw new OptionException("micro_batch", $"must be positive (got {microBatch})");
        var size = granularity == Granularity.Example ? 1 : microBatch;
        var all = kinds.ToDictionary(k => k, k => new ScoreAccumulator(model, k));
        var wasTraining = model.training;
        model.eval();
        try
        {
            long done = 0, units = 0;
            var others = kinds.Skip(1).Select(k => all[k]).ToList();
            var lead = all[kinds[0]];
            foreach (var unit in examples.Chunk(size))
            {
                // The lead kind runs the pass; the others read its gradients before it clears them.
                lead.Add(model, unit, padId, beforeClear: others.Count == 0 ? null : () => { foreach (var o in others) o.AddHeld(model); });
                done += unit.Length;
                if (++units % CollectEvery == 0) GC.Collect();
                if (units % (CollectEvery * 8) == 0) NativeHeap.Collect();
                progress?.Invoke(done, examples.Count);
            }
            foreach (var o in others) o.CountExamplesLike(lead);
            model.zero_grad();
            NativeHeap.Collect();
            return all;
        }
        catch
        {
            foreach (var a in all.Values) a.Dispose();
            throw;
        }
        finally
        {
            model.zero_grad();
            model.train(wasTraining);
        }
    }

    /// <summary>
    /// Sums the score over <paramref name="examples"/>: one backward pass per example (batch of 1, no padding) or per
    /// consecutive micro-batch of <paramref name="microBatch"/> examples. The model is put in eval mode (and restored).
    /// </summary>
    public static ScoreAccumulator Run(CausalLM model, IReadOnlyList<EncodedExample> examples, ScoreKind kind,
        Granularity granularity, int padId, int microBatch = 8, Action<long, long>? progress = null) =>
        RunKinds(model, examples, [kind], granularity, padId, microBatch, progress)[kind];
}
