using FactTrace.IO;

namespace FactTrace.Models;

/// <summary>
/// Named model shapes: tiny ones for training from scratch on a world's vocabulary, and the published Pythia and
/// Llama 3.2 shapes (HF config values) for inspection and benchmarks without downloads.
/// </summary>
public static class NamedConfigs
{
    static ModelConfig NeoX(int layers, int hidden, int heads, int intermediate, int vocab, int maxPositions = 2048) => new()
    {
        Architectures = ["GPTNeoXForCausalLM"],
        ModelType = ModelConfig.GptNeoX,
        VocabSize = vocab,
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        MaxPositionEmbeddings = maxPositions,
        InitializerRange = 0.02,
        TieWordEmbeddings = false,
        HiddenAct = "gelu",
        RotaryPct = 0.25,
        RotaryEmbBase = 10000,
        UseParallelResidual = true,
        LayerNormEps = 1e-5,
        AttentionBias = true,
    };

    static ModelConfig Llama(int layers, int hidden, int heads, int kvHeads, int headDim, int intermediate, int vocab,
        int maxPositions, double ropeTheta, RopeScaling? scaling) => new()
    {
        Architectures = ["LlamaForCausalLM"],
        ModelType = ModelConfig.Llama,
        VocabSize = vocab,
        HiddenSize = hidden,
        IntermediateSize = intermediate,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = kvHeads,
        HeadDimField = headDim,
        MaxPositionEmbeddings = maxPositions,
        InitializerRange = 0.02,
        TieWordEmbeddings = true,
        HiddenAct = "silu",
        RmsNormEps = 1e-5,
        RopeTheta = ropeTheta,
        RopeScaling = scaling,
        AttentionBias = false,
        MlpBias = false,
    };

    static readonly RopeScaling Llama3Scaling = new()
    {
        RopeType = "llama3", Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192,
    };

    const int PythiaVocab = 50304, Llama3Vocab = 128256;

    static ModelConfig Pythia(int layers, int hidden, int heads) =>
        NeoX(layers, hidden, heads, 4 * hidden, PythiaVocab) with { BosTokenId = 0, EosTokenId = 0, TorchDtype = "float16" };

    static ModelConfig Llama32(int layers, int hidden, int heads, int headDim) =>
        Llama(layers, hidden, heads, 8, headDim, 8192, Llama3Vocab, 131072, 500000, Llama3Scaling)
            with { BosTokenId = 128000, EosTokenId = 128001, TorchDtype = "bfloat16" };

    /// <summary>From-scratch shapes; their vocab_size is set by <see cref="Get(string, int)"/>.</summary>
    static readonly Dictionary<string, ModelConfig> Tiny = new(StringComparer.OrdinalIgnoreCase)
    {
        // 4 layers, d128, 4 heads of 32 (8 rotary dims), MLP 512, parallel residual: Pythia-14m's width at 4 layers.
        ["tiny-neox"] = NeoX(4, 128, 4, 512, vocab: 0),
        // 4 layers, d128, 4 heads of 32, 2 kv heads, SwiGLU 344 (~ 8/3 d), tied embeddings. RoPE theta 10000 without
        // llama3 scaling: sequences here are short, and Llama 3's theta would leave most dims almost unrotated.
        ["tiny-llama"] = Llama(4, 128, 4, 2, 32, 344, vocab: 0, 2048, 10000, null),
        ["micro-neox"] = NeoX(2, 64, 4, 256, vocab: 0),
        ["micro-llama"] = Llama(2, 64, 4, 2, 16, 172, vocab: 0, 2048, 10000, null),
    };

    /// <summary>Published shapes with their own vocabularies (Pythia 50304, Llama 3.2 128256).</summary>
    static readonly Dictionary<string, ModelConfig> Published = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pythia-14m"] = Pythia(6, 128, 4),
        ["pythia-70m"] = Pythia(6, 512, 8),
        ["pythia-160m"] = Pythia(12, 768, 12),
        ["pythia-410m"] = Pythia(24, 1024, 16),
        ["pythia-1b"] = Pythia(16, 2048, 8),
        ["pythia-1.4b"] = Pythia(24, 2048, 16),
        ["pythia-2.8b"] = Pythia(32, 2560, 32),
        ["llama-3.2-1b"] = Llama32(16, 2048, 32, 64),
        ["llama-3.2-3b"] = Llama32(28, 3072, 24, 128),
        // Karpathy's llama2.c stories260K (TinyStories; MIT): the real pretrained model small enough for a CPU.
        ["stories260k"] = Llama(5, 64, 8, 4, 8, 172, 512, 512, 10000, null) with { BosTokenId = 1, EosTokenId = 2, TorchDtype = "float32" },
    };

    public static IReadOnlyList<string> TinyNames => [.. Tiny.Keys];
    public static IReadOnlyList<string> PublishedNames => [.. Published.Keys];

    public static bool IsKnown(string name) => Tiny.ContainsKey(name) || Published.ContainsKey(name);

    /// <summary>A named shape (tiny or published) with <paramref name="vocabSize"/> tokens, for training from scratch.</summary>
    public static ModelConfig Get(string name, int vocabSize)
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize), "vocabulary size must be positive");
        var c = Tiny.GetValueOrDefault(name) ?? Published.GetValueOrDefault(name) ?? throw Unknown(name);
        // Published special-token ids may not exist in another vocabulary.
        return (c with { VocabSize = vocabSize, BosTokenId = null, EosTokenId = null, PadTokenId = null, TorchDtype = null }).Validate(name);
    }

    /// <summary>A published shape exactly as its Hugging Face config.json (vocabulary included).</summary>
    public static ModelConfig GetPublished(string name) =>
        (Published.GetValueOrDefault(name) ?? throw Unknown(name)).Validate(name);

    /// <summary>
    /// A model spec: a named config (published ones keep their vocabulary unless <paramref name="vocabSize"/> is given;
    /// tiny ones need it), a config.json path, or a Hugging Face folder.
    /// </summary>
    public static ModelConfig Resolve(string spec, int? vocabSize = null)
    {
        if (Published.ContainsKey(spec)) return vocabSize is int v ? Get(spec, v) : GetPublished(spec);
        if (Tiny.ContainsKey(spec))
            return vocabSize is int tv ? Get(spec, tv)
                : throw FactTraceException.Usage($"model '{spec}' is a from-scratch shape and needs a vocabulary (a tokenizer or world)");
        if (Directory.Exists(spec) || File.Exists(spec)) return ModelConfig.Load(spec);
        throw Unknown(spec);
    }

    static readonly string[] Orgs = ["EleutherAI", "meta-llama"];

    /// <summary>
    /// A published shape by name, also written with its hub organisation ("EleutherAI/pythia-70m",
    /// "meta-llama/Llama-3.2-1B"); other paths are not names.
    /// </summary>
    public static bool TryGetPublished(string name, out ModelConfig config)
    {
        var key = name.Split('/') is [var org, var rest] && Orgs.Contains(org, StringComparer.OrdinalIgnoreCase) ? rest : name;
        if (Published.TryGetValue(key, out var c))
        {
            config = c.Validate(key);
            return true;
        }
        config = null!;
        return false;
    }

    static FactTraceException Unknown(string name) => FactTraceException.Usage(
        $"model '{name}' is neither a config.json, a Hugging Face folder nor a named config ({string.Join(", ", Tiny.Keys.Concat(Published.Keys))})");
}
