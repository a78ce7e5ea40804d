using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>
/// AdamW (Loshchilov & Hutter), written out so that its state is ours: moments are plain tensors keyed by HF
/// parameter name, saved and restored exactly for resume, and the update order is fixed (bit-exact runs).
/// Matches torch.optim.AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
/// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
/// </summary>
public sealed class AdamW : IDisposable
{
    public sealed record Group(IReadOnlyList<(string Name, Tensor Param)> Params, double WeightDecay);

    readonly List<Group> groups;
    readonly Dictionary<string, (Tensor M, Tensor V)> state = new();
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public long Step { get; private set; }

    public AdamW(IEnumerable<Group> groups, double beta1 = 0.9, double beta2 = 0.95, double eps = 1e-8)
    {
        this.groups = groups.ToList();
        (Beta1, Beta2, Eps) = (beta1, beta2, eps);
        foreach (var g in this.groups)
            foreach (var (name, p) in g.Params)
                state[name] = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
    }

    public IEnumerable<(string Name, Tensor Param)> Parameters => groups.SelectMany(g => g.Params);

    /// <summary>One update with learning rate <paramref name="lr"/>; parameters without a gradient are skipped.</summary>
    public void StepWith(double lr)
    {
        Step++;
        double bc1 = 1 - Math.Pow(Beta1, Step), bc2 = 1 - Math.Pow(Beta2, Step);
        double stepSize = lr / bc1, sqrtBc2 = Math.Sqrt(bc2);
        using var _ = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var group in groups)
            foreach (var (name, p) in group.Params)
            {
                var g = p.grad;
                if (g is null) continue;
                var (m, v) = state[name];
                if (group.WeightDecay != 0) p.mul_(1 - lr * group.WeightDecay);
                m.mul_(Beta1).add_(g, alpha: 1 - Beta1);
                v.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
                var denom = v.sqrt().div_(sqrtBc2).add_(Eps);
                p.addcdiv_(m, denom, value: -stepSize);
            }
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in Parameters) p.grad = null;
    }

    /// <summary>Moments keyed "exp_avg.NAME" / "exp_avg_sq.NAME" (for a safetensors file), plus the step count.</summary>
    public Dictionary<string, Tensor> StateTensors()
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (name, (m, v)) in state)
        {
            d["exp_avg." + name] = m;
            d["exp_avg_sq." + name] = v;
        }
        return d;
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long step)
    {
        using var noGrad = no_grad();
        foreach (var (name, (m, v)) in state)
        {
            if (!tensors.TryGetValue("exp_avg." + name, out var sm) || !tensors.TryGetValue("exp_avg_sq." + name, out var sv))
                throw new IO.FactTraceException($"optimizer state lacks the moments of parameter '{name}'");
            if (!sm.shape.SequenceEqual(m.shape) || !sv.shape.SequenceEqual(v.shape))
                throw new IO.FactTraceException($"optimizer state for '{name}' has shape [{string.Join(",", sm.shape)}], expected [{string.Join(",", m.shape)}]");
            m.copy_(sm);
            v.copy_(sv);
        }
        Step = step;
    }

    public void Dispose()
    {
        foreach (var (m, v) in state.Values) { m.Dispose(); v.Dispose(); }
        state.Clear();
    }
}
