namespace FactTrace.Models;

/// <summary>
/// The config.json values of the published models the paper uses (EleutherAI Pythia, Meta Llama 3.2), for counting
/// and inspecting without a download. Names are case-insensitive; an "org/" prefix ("EleutherAI/pythia-70m",
/// "meta-llama/Llama-3.2-1B") is accepted.
/// </summary>
public static class PublishedConfigs
{
    static ModelConfig Pythia(int hidden, int layers, int heads) => new()
    {
        Architectures = ["GPTNeoXForCausalLM"],
        ModelType = ModelConfig.GptNeoX,
        VocabSize = 50304,
        HiddenSize = hidden,
        IntermediateSize = 4 * hidden,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        MaxPositionEmbeddings = 2048,
        InitializerRange = 0.02,
        TieWordEmbeddings = false,
        BosTokenId = 0,
        EosTokenId = 0,
        HiddenAct = "gelu",
        TorchDtype = "float16",
        RotaryPct = 0.25,
        RotaryEmbBase = 10000,
        UseParallelResidual = true,
        LayerNormEps = 1e-5,
    };

    static ModelConfig Llama32(int hidden, int layers, int heads, int headDim) => new()
    {
        Architectures = ["LlamaForCausalLM"],
        ModelType = ModelConfig.Llama,
        VocabSize = 128256,
        HiddenSize = hidden,
        IntermediateSize = 8192,
        NumHiddenLayers = layers,
        NumAttentionHeads = heads,
        NumKeyValueHeads = 8,
        HeadDimField = headDim,
        MaxPositionEmbeddings = 131072,
        InitializerRange = 0.02,
        TieWordEmbeddings = true,
        BosTokenId = 128000,
        EosTokenId = 128001,
        HiddenAct = "silu",
        TorchDtype = "bfloat16",
        RmsNormEps = 1e-5,
        RopeTheta = 500000.0,
        RopeScaling = new RopeScaling
        {
            RopeType = "llama3", Factor = 32.0, LowFreqFactor = 1.0, HighFreqFactor = 4.0, OriginalMaxPositionEmbeddings = 8192,
        },
        AttentionBias = false,
        MlpBias = false,
    };

    static readonly Dictionary<string, Func<ModelConfig>> Configs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pythia-14m"] = () => Pythia(128, 6, 4),
        ["pythia-70m"] = () => Pythia(512, 6, 8),
        ["pythia-160m"] = () => Pythia(768, 12, 12),
        ["pythia-410m"] = () => Pythia(1024, 24, 16),
        ["pythia-1b"] = () => Pythia(2048, 16, 8),
        ["pythia-1.4b"] = () => Pythia(2048, 24, 16),
        ["pythia-2.8b"] = () => Pythia(2560, 32, 32),
        ["llama-3.2-1b"] = () => Llama32(2048, 16, 32, 64),
        ["llama-3.2-3b"] = () => Llama32(3072, 28, 24, 128),
    };

    public static IReadOnlyList<string> Names { get; } = Configs.Keys.ToArray();

    static readonly string[] Orgs = ["EleutherAI", "meta-llama"];

    public static bool TryGet(string name, out ModelConfig config)
    {
        var key = name.Split('/') is [var org, var rest] && Orgs.Contains(org, StringComparer.OrdinalIgnoreCase) ? rest : name;
        if (Configs.TryGetValue(key, out var make))
        {
            config = make().Validate($"published config {key}");
            return true;
        }
        config = null!;
        return false;
    }
}
