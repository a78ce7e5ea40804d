using FactTrace.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>
/// One optimisation step exactly as the trainer takes it (forward, loss, backward, gradient clipping, AdamW, clearing
/// the gradients), shared with `facttrace bench` so that the benchmark measures the code that trains.
/// </summary>
public static class TrainStep
{
    /// <summary>
    /// Runs the step and returns the loss. <paramref name="checkLoss"/> sees the loss before backward and
    /// <paramref name="checkNorm"/> the gradient norm before the update; either may throw to stop before the
    /// weights change. <paramref name="precision"/> bf16: the forward (and so the backward) runs in a bf16
    /// <see cref="CausalLM.UseAutocast"/> scope; weights, gradients, optimizer and loss stay fp32.
    /// </summary>
    public static float Run(CausalLM model, Precision precision, AdamW opt, IReadOnlyList<Parameter> parameters, Batch batch,
        double lr, double gradClip, Action<float>? checkLoss = null, Action<double>? checkNorm = null) =>
        Run(model, null, precision == Precision.Bf16 ? ScalarType.BFloat16 : null, opt, parameters, batch, lr, gradClip, checkLoss, checkNorm);

    /// <summary>
    /// The step with an explicit mixed-precision mechanism: <paramref name="autocast"/> (what training uses), or a
    /// <paramref name="shadow"/> bf16 copy of the model (the earlier mechanism, kept for `bench step --mode bf16-shadow`).
    /// </summary>
    public static float Run(CausalLM model, Bf16Shadow? shadow, ScalarType? autocast, AdamW opt, IReadOnlyList<Parameter> parameters,
        Batch batch, double lr, double gradClip, Action<float>? checkLoss = null, Action<double>? checkNorm = null)
    {
        using var scope = NewDisposeScope();
        shadow?.Pull();
        var compute = shadow?.Model ?? model;
        Tensor loss;
        using (compute.UseAutocast(autocast)) loss = Loss.NextToken(compute, batch);
        var value = loss.item<float>();
        checkLoss?.Invoke(value);
        loss.backward();
        shadow?.PushGrads();
        if (gradClip > 0)
        {
            var norm = nn.utils.clip_grad_norm_(parameters, gradClip);
            checkNorm?.Invoke(norm);
        }
        opt.StepWith(lr);
        opt.ZeroGrad();
        return value;
    }
}
