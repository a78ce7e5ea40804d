using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// Llama 3.x causal LM (HF LlamaForCausalLM): "model." trunk and "lm_head". With tie_word_embeddings the output
/// projection is model.embed_tokens.weight itself (one Parameter) and there is no lm_head in the state dict.
/// </summary>
public sealed class Llama : CausalLM
{
    readonly LlamaModel model;
    readonly Linear? lm_head;

    public Llama(ModelConfig config) : base(nameof(Llama), config)
    {
        if (!config.IsLlama) throw new ArgumentException($"model_type '{config.ModelType}' is not llama");
        model = new LlamaModel(config);
        register_module("model", model);
        if (!config.TieWordEmbeddings)
        {
            lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false); // W [V, D]
            register_module("lm_head", lm_head);
        }
        DetachParametersFromDisposeScope();
    }

    public override Tensor InputEmbedding => model.EmbedWeight;

    public override Tensor Hidden(Tensor inputIds, Tensor? attentionMask)
    {
        return model.call(inputIds, attentionMask, Autocast, Compute.Attention);
    }

    public override Tensor Logits(Tensor hidden) // [..., D] -> [..., V]
    {
        using var scope = NewDisposeScope();
        var logits = lm_head is null ? Models.Autocast.Linear(hidden, model.EmbedWeight, Autocast) : Models.Autocast.Linear(lm_head, hidden, Autocast);
        return logits.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
