using FactTrace.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>Builds models from configs with deterministic initialization.</summary>
public static class ModelFactory
{
    /// <summary>
    /// A fresh model initialized as Hugging Face does: normal(0, initializer_range) for linear and embedding weights,
    /// zeros for biases, ones (and zero bias) for norms. The same config and seed give bit-identical weights.
    /// </summary>
    public static CausalLM Create(ModelConfig config, long seed)
    {
        var model = Build(config);
        Initialize(model, seed);
        return model;
    }

    /// <summary>The architecture with placeholder weights, to be overwritten (e.g. by a checkpoint).</summary>
    public static CausalLM Build(ModelConfig config)
    {
        config.Validate();
        return config.IsNeoX ? new GptNeoX(config) : new Llama(config);
    }

    /// <summary>Re-initializes every parameter from a generator seeded with <paramref name="seed"/>, in registration order.</summary>
    public static void Initialize(CausalLM model, long seed)
    {
        using var generator = new Generator(unchecked((ulong)seed), CPU);
        using var noGrad = no_grad();
        var std = model.Config.InitializerRange;
        foreach (var (_, module) in model.named_modules())
        {
            var isNorm = module is LayerNorm or RmsNorm;
            foreach (var (name, p) in module.named_parameters(recurse: false))
            {
                if (name == "bias") p.zero_();
                else if (isNorm) p.fill_(1.0);
                else if (p.device_type == DeviceType.CPU) p.normal_(0, std, generator);
                else p.copy_(empty(p.shape, p.dtype).normal_(0, std, generator));
            }
        }
    }
}
