using System.Text.Json;
using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.Models;

/// <summary>llama3 rope_scaling block of a Llama 3.x config.json.</summary>
public sealed record RopeScaling
{
    [JsonPropertyName("rope_type")] public string? RopeType { get; init; }
    /// <summary>Older files spell rope_type as "type".</summary>
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("factor")] public double Factor { get; init; } = 1.0;
    [JsonPropertyName("low_freq_factor")] public double LowFreqFactor { get; init; } = 1.0;
    [JsonPropertyName("high_freq_factor")] public double HighFreqFactor { get; init; } = 4.0;
    [JsonPropertyName("original_max_position_embeddings")] public int OriginalMaxPositionEmbeddings { get; init; } = 8192;

    [JsonIgnore] public string Kind => RopeType ?? Type ?? "default";
}

/// <summary>
/// A Hugging Face config.json for the two supported families, with HF field names, so a downloaded checkpoint's
/// config loads as it is and ours loads in `transformers`. Family-specific fields are null for the other family.
/// </summary>
public sealed record ModelConfig
{
    public const string GptNeoX = "gpt_neox", Llama = "llama";

    [JsonPropertyName("architectures")] public string[]? Architectures { get; init; }
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; } = 2048;
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }
    [JsonPropertyName("bos_token_id"), JsonConverter(typeof(TokenIdConverter))] public int? BosTokenId { get; init; }
    [JsonPropertyName("eos_token_id"), JsonConverter(typeof(TokenIdConverter))] public int? EosTokenId { get; init; }
    [JsonPropertyName("pad_token_id"), JsonConverter(typeof(TokenIdConverter))] public int? PadTokenId { get; init; }
    [JsonPropertyName("hidden_act")] public string? HiddenAct { get; init; }
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; }

    // GPT-NeoX
    [JsonPropertyName("rotary_pct")] public double? RotaryPct { get; init; }
    [JsonPropertyName("rotary_emb_base")] public double? RotaryEmbBase { get; init; }
    [JsonPropertyName("use_parallel_residual")] public bool? UseParallelResidual { get; init; }
    [JsonPropertyName("layer_norm_eps")] public double? LayerNormEps { get; init; }
    [JsonPropertyName("attention_bias")] public bool? AttentionBias { get; init; }

    // Llama
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }
    [JsonPropertyName("head_dim")] public int? HeadDimField { get; init; }
    [JsonPropertyName("rms_norm_eps")] public double? RmsNormEps { get; init; }
    [JsonPropertyName("rope_theta")] public double? RopeTheta { get; init; }
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; init; }
    [JsonPropertyName("mlp_bias")] public bool? MlpBias { get; init; }

    /// <summary>Fields we do not model are kept so that a saved config round-trips.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public bool IsNeoX => ModelType == GptNeoX;
    [JsonIgnore] public bool IsLlama => ModelType == Llama;
    [JsonIgnore] public int KvHeads => IsLlama ? NumKeyValueHeads ?? NumAttentionHeads : NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimField ?? HiddenSize / NumAttentionHeads;
    /// <summary>GPT-NeoX rotates the first rotary_pct of each head's dims; Llama all of them.</summary>
    [JsonIgnore] public int RotaryDims => IsNeoX ? (int)(HeadDim * (RotaryPct ?? 0.25)) : HeadDim;
    [JsonIgnore] public double RopeBase => IsNeoX ? RotaryEmbBase ?? 10000 : RopeTheta ?? 10000;
    [JsonIgnore] public double NormEps => IsNeoX ? LayerNormEps ?? 1e-5 : RmsNormEps ?? 1e-6;

    /// <summary>Throws a <see cref="FactTraceException"/> naming the field for any value the models cannot use.</summary>
    public ModelConfig Validate(string source = "config")
    {
        void Fail(string field, object? value, string why) =>
            throw new FactTraceException($"{source}: field '{field}' = {value ?? "null"}: {why}");

        if (ModelType is not (GptNeoX or Llama))
            Fail("model_type", ModelType == "" ? null : $"\"{ModelType}\"", "unsupported model type (expected \"gpt_neox\" or \"llama\")");
        if (VocabSize <= 0) Fail("vocab_size", VocabSize, "must be positive");
        if (HiddenSize <= 0) Fail("hidden_size", HiddenSize, "must be positive");
        if (IntermediateSize <= 0) Fail("intermediate_size", IntermediateSize, "must be positive");
        if (NumHiddenLayers <= 0) Fail("num_hidden_layers", NumHiddenLayers, "must be positive");
        if (NumAttentionHeads <= 0) Fail("num_attention_heads", NumAttentionHeads, "must be positive");
        if (HeadDimField is null && HiddenSize % NumAttentionHeads != 0)
            Fail("hidden_size", HiddenSize, $"not divisible by num_attention_heads ({NumAttentionHeads})");
        if (HeadDimField is <= 0) Fail("head_dim", HeadDimField, "must be positive");
        if (MaxPositionEmbeddings <= 0) Fail("max_position_embeddings", MaxPositionEmbeddings, "must be positive");
        if (IsLlama)
        {
            if (NumKeyValueHeads is <= 0) Fail("num_key_value_heads", NumKeyValueHeads, "must be positive");
            if (NumAttentionHeads % KvHeads != 0)
                Fail("num_key_value_heads", KvHeads, $"does not divide num_attention_heads ({NumAttentionHeads})");
            if (HeadDim % 2 != 0) Fail("head_dim", HeadDim, "must be even for rotary embeddings");
            if (RopeScaling is { } rs && rs.Kind is not ("llama3" or "default"))
                Fail("rope_scaling.rope_type", rs.Kind, "unsupported (expected \"llama3\")");
            if (HiddenAct is not (null or "silu")) Fail("hidden_act", HiddenAct, "unsupported for llama (expected \"silu\")");
        }
        if (IsNeoX)
        {
            if (RotaryPct is < 0 or > 1) Fail("rotary_pct", RotaryPct, "must be in [0, 1]");
            if (RotaryDims % 2 != 0) Fail("rotary_pct", RotaryPct, $"gives an odd number of rotary dims ({RotaryDims})");
            if (HiddenAct is not (null or "gelu")) Fail("hidden_act", HiddenAct, "unsupported for gpt_neox (expected \"gelu\")");
        }
        foreach (var (field, id) in new[] { ("bos_token_id", BosTokenId), ("eos_token_id", EosTokenId), ("pad_token_id", PadTokenId) })
            if (id is { } v && (v < 0 || v >= VocabSize)) Fail(field, v, $"outside the vocabulary [0, {VocabSize})");
        return this;
    }

    public static ModelConfig Parse(string json, string source = "config.json")
    {
        ModelConfig? c;
        try { c = JsonSerializer.Deserialize<ModelConfig>(json, Options); }
        catch (JsonException e)
        {
            var where = e.LineNumber is long l ? $" at line {l + 1}" : "";
            throw new FactTraceException($"{source} is not valid JSON{where}: {e.Message.Split('\n')[0]}");
        }
        if (c is null) throw new FactTraceException($"{source} is empty");
        return c.Validate(source);
    }

    /// <summary>Reads config.json from a file or from an HF folder.</summary>
    public static ModelConfig Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "config.json") : path;
        if (!File.Exists(file)) throw new FactTraceException($"model config '{file}' not found");
        return Parse(File.ReadAllText(file), file);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Options);

    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
