using FactTrace.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>
/// One optimisation step exactly as the trainer takes it (forward, loss, backward, gradient clipping, AdamW, clearing
/// the gradients), shared with `facttrace bench` so that the benchmark measures the code that trains.
/// <para>
/// A batch holding both tasks (mixed training) is run as its task parts (<see cref="TaskParts"/>), one forward and
/// backward each, part p's loss its summed token losses over N, the loss tokens of the whole batch
/// (<see cref="Loss.NextTokenSum"/>): the losses add up to the batch's mean loss and the gradients to its gradient.
/// Between two parts an observer gets the part's own gradient (the paper's per-task trace needs exactly that); the
/// gradient of the parts before is set aside and added back after, g_later + g_earlier, which is bitwise the
/// autograd accumulation g_earlier + g_later (float addition commutes), so the weights do not depend on whether
/// anyone observed. A one-task batch is one part with the usual mean loss (<see cref="Loss.NextToken"/>).
/// </para>
/// </summary>
public static class TrainStep
{
    /// <summary>
    /// Runs the step on one collated batch (its examples one part) and returns the loss. <paramref name="checkLoss"/>
    /// sees the loss and <paramref name="checkNorm"/> the gradient norm, both before the update; either may throw to
    /// stop before the weights change. <paramref name="precision"/> bf16: the forward (and so the backward) runs in a
    /// bf16 <see cref="CausalLM.UseAutocast"/> scope; weights, gradients, optimizer and loss stay fp32.
    /// </summary>
    public static float Run(CausalLM model, Precision precision, AdamW opt, IReadOnlyList<Parameter> parameters, Batch batch,
        double lr, double gradClip, Action<float>? checkLoss = null, Action<double>? checkNorm = null) =>
        Run(model, null, AutocastOf(precision), opt, parameters, [batch], lr, gradClip, checkLoss, checkNorm);

    public static ScalarType? AutocastOf(Precision precision) => precision == Precision.Bf16 ? ScalarType.BFloat16 : null;

    /// <summary>
    /// The step over the task parts of one batch (<paramref name="parts"/>, collated separately). After part i's
    /// backward <paramref name="afterPartBackward"/>(i) may read (not change) the gradients, which then hold part i's
    /// alone. The mixed-precision mechanism is <paramref name="autocast"/> (what training uses), or a
    /// <paramref name="shadow"/> bf16 copy of the model (the earlier mechanism, kept for `bench step --mode
    /// bf16-shadow`; not with an observer).
    /// </summary>
    public static float Run(CausalLM model, Bf16Shadow? shadow, ScalarType? autocast, AdamW opt, IReadOnlyList<Parameter> parameters,
        IReadOnlyList<Batch> parts, double lr, double gradClip, Action<float>? checkLoss = null, Action<double>? checkNorm = null,
        Action<int>? afterPartBackward = null)
    {
        if (parts.Count == 0) throw new ArgumentException("a step needs at least one part", nameof(parts));
        if (shadow is not null && afterPartBackward is not null) throw new ArgumentException("an observer reads the model's own gradients: not with a bf16 shadow");
        using var scope = NewDisposeScope();
        shadow?.Pull();
        var compute = shadow?.Model ?? model;
        long lossTokens = parts.Sum(p => (long)p.LossTokens);
        Tensor?[]? aside = null;
        double value = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            Tensor loss;
            using (compute.UseAutocast(autocast))
                loss = parts.Count == 1 ? Loss.NextToken(compute, parts[0]) : Loss.NextTokenSum(compute, parts[i], lossTokens);
            value += loss.item<float>();
            loss.backward();
            if (afterPartBackward is null) continue;
            afterPartBackward(i);
            if (i < parts.Count - 1) aside = SetAside(parameters, aside);
            else if (aside is not null) AddBack(parameters, aside);
        }
        checkLoss?.Invoke((float)value);
        shadow?.PushGrads();
        if (gradClip > 0)
        {
            var norm = nn.utils.clip_grad_norm_(parameters, gradClip);
            checkNorm?.Invoke(norm);
        }
        opt.StepWith(lr);
        opt.ZeroGrad();
        return (float)value;
    }

    /// <summary>Takes the gradients out of the parameters (next backward starts from none) and adds them to what was set aside.</summary>
    static Tensor?[] SetAside(IReadOnlyList<Parameter> parameters, Tensor?[]? aside)
    {
        aside ??= new Tensor?[parameters.Count];
        using var noGrad = no_grad();
        for (var j = 0; j < parameters.Count; j++)
        {
            var g = parameters[j].grad;
            if (g is null) continue;
            if (aside[j] is null) aside[j] = g; // the tensor itself: no copy
            else aside[j]!.add_(g);              // earlier + later, as autograd would accumulate
            parameters[j].grad = null;
        }
        return aside;
    }

    /// <summary>grad = grad + aside (= aside + grad bitwise); a parameter the last part did not reach gets the aside.</summary>
    static void AddBack(IReadOnlyList<Parameter> parameters, Tensor?[] aside)
    {
        using var noGrad = no_grad();
        for (var j = 0; j < parameters.Count; j++)
        {
            if (aside[j] is not { } a) continue;
            var g = parameters[j].grad;
            if (g is null) parameters[j].grad = a;
            else g.add_(a);
        }
    }
}
