using FactTrace.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>
/// Mixed precision with fp32 master weights: a bf16 copy of the model runs forward and backward (matrix products on
/// AMX/AVX-512 bf16 units), its gradients come back to the fp32 model as fp32, and the optimizer, clipping,
/// checkpoints and evaluation all stay on the fp32 model. Logits and the loss are computed in fp32 by the model.
/// </summary>
public sealed class Bf16Shadow : IDisposable
{
    readonly List<(Parameter Master, Parameter Shadow)> pairs;
    public CausalLM Model { get; }

    public Bf16Shadow(CausalLM master)
    {
        Model = ModelFactory.Build(master.Config);
        Model.to(ScalarType.BFloat16);
        Model.Compute = master.Compute;
        var shadow = Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        pairs = master.named_parameters().Select(p => (p.parameter, shadow[p.name])).ToList();
        Model.train(master.training);
    }

    /// <summary>Copies the master weights (rounded to bf16) into the shadow; before every forward.</summary>
    public void Pull()
    {
        using var noGrad = no_grad();
        foreach (var (master, shadow) in pairs) shadow.copy_(master);
    }

    /// <summary>Moves the shadow's gradients to the master parameters as fp32, and clears the shadow's.</summary>
    public void PushGrads()
    {
        foreach (var (master, shadow) in pairs)
        {
            using var g = shadow.grad;
            master.grad = g?.to(ScalarType.Float32).DetachFromDisposeScope();
            shadow.grad = null;
        }
    }

    public void Dispose() => Model.Dispose();
}
