using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>Llama RMSNorm: x / sqrt(mean(x^2) + eps) computed in fp32, cast back, then times weight. Parameter: weight [D].</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double eps;

    public RmsNorm(long dim, double eps) : base(nameof(RmsNorm))
    {
        this.eps = eps;
        // Parameters must outlive any dispose scope the model is built in (TorchSharp's own modules do the same).
        using var scope = NewDisposeScope();
        weight = new Parameter(ones(dim), requires_grad: true);
        weight.DetachFromDisposeScope();
        register_parameter("weight", weight);
    }

    public Parameter Weight => weight;

    public override Tensor forward(Tensor x) // [..., D]
    {
        using var scope = NewDisposeScope();
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.pow(2).mean([-1], keepdim: true);       // [..., 1]
        var normed = (x32 * (variance + eps).rsqrt()).to(x.dtype); // [..., D]
        return (weight * normed).MoveToOuterDisposeScope();
    }
}
