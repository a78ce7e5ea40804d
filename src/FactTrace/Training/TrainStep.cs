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
    /// weights change. <paramref name="shadow"/> non-null: forward and backward in bf16 (fp32 master weights).
    /// </summary>
    public static float Run(CausalLM model, Bf16Shadow? shadow, AdamW opt, IReadOnlyList<Parameter> parameters, Batch batch,
        double lr, double gradClip, Action<float>? checkLoss = null, Action<double>? checkNorm = null)
    {
        using var scope = NewDisposeScope();
        shadow?.Pull();
        var loss = Loss.NextToken(shadow?.Model ?? model, batch);
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
