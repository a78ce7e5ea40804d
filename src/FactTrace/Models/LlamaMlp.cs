using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>SwiGLU: down_proj(silu(gate_proj(x)) * up_proj(x)); bias only with mlp_bias.</summary>
public sealed class LlamaMlp : nn.Module<Tensor, ScalarType?, Tensor>
{
    readonly Linear gate_proj, up_proj, down_proj;

    public LlamaMlp(ModelConfig c) : base(nameof(LlamaMlp))
    {
        var bias = c.MlpBias ?? false;
        gate_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, bias); // W [I, D]
        up_proj = nn.Linear(c.HiddenSize, c.IntermediateSize, bias);   // W [I, D]
        down_proj = nn.Linear(c.IntermediateSize, c.HiddenSize, bias); // W [D, I]
        register_module("gate_proj", gate_proj);
        register_module("up_proj", up_proj);
        register_module("down_proj", down_proj);
    }

    /// <param name="autocast">See <see cref="CausalLM.Autocast"/> (handed down by the layer).</param>
    public override Tensor forward(Tensor x, ScalarType? autocast) // [B,T,D]
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.silu(Models.Autocast.Linear(gate_proj, x, autocast)) * Models.Autocast.Linear(up_proj, x, autocast); // [B,T,I]
        return Models.Autocast.Linear(down_proj, h, autocast).MoveToOuterDisposeScope(); // [B,T,D]
    }
}
