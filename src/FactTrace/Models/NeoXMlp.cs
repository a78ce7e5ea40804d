using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>GPT-NeoX MLP: dense_4h_to_h(gelu(dense_h_to_4h(x))), exact erf GELU (HF "gelu").</summary>
public sealed class NeoXMlp : nn.Module<Tensor, ScalarType?, Tensor>
{
    readonly Linear dense_h_to_4h, dense_4h_to_h;

    public NeoXMlp(ModelConfig c) : base(nameof(NeoXMlp))
    {
        dense_h_to_4h = nn.Linear(c.HiddenSize, c.IntermediateSize); // W [I, D]
        dense_4h_to_h = nn.Linear(c.IntermediateSize, c.HiddenSize); // W [D, I]
        register_module("dense_h_to_4h", dense_h_to_4h);
        register_module("dense_4h_to_h", dense_4h_to_h);
    }

    /// <param name="autocast">See <see cref="CausalLM.Autocast"/> (handed down by the layer).</param>
    public override Tensor forward(Tensor x, ScalarType? autocast) // [B,T,D]
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.gelu(Models.Autocast.Linear(dense_h_to_4h, x, autocast)); // [B,T,I]
        return Models.Autocast.Linear(dense_4h_to_h, h, autocast).MoveToOuterDisposeScope();
    }
}
