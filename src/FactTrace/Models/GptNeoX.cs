using FactTrace.IO;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>GPT-NeoX / Pythia causal LM (HF GPTNeoXForCausalLM): "gpt_neox." trunk and an untied "embed_out".</summary>
public sealed class GptNeoX : CausalLM
{
    readonly GptNeoXModel gpt_neox;
    readonly Linear embed_out;

    public GptNeoX(ModelConfig config) : base(nameof(GptNeoX), config)
    {
        if (!config.IsNeoX) throw new ArgumentException($"model_type '{config.ModelType}' is not gpt_neox");
        if (config.TieWordEmbeddings) throw new FactTraceException("gpt_neox with tie_word_embeddings is not supported");
        gpt_neox = new GptNeoXModel(config);
        embed_out = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false); // W [V, D]
        register_module("gpt_neox", gpt_neox);
        register_module("embed_out", embed_out);
        DetachParametersFromDisposeScope();
    }

    public override Tensor InputEmbedding => gpt_neox.EmbedWeight;

    public override Tensor Hidden(Tensor inputIds, Tensor? attentionMask)
    {
        return gpt_neox.call(inputIds, attentionMask, Autocast, Compute.Attention);
    }

    public override Tensor Logits(Tensor hidden) // [..., D] -> [..., V]
    {
        using var scope = NewDisposeScope();
        return Models.Autocast.Linear(embed_out, hidden, Autocast).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
