using System.Text.Json;
using System.Text.Json.Nodes;
using FactTrace.IO;
using FactTrace.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// Hugging Face checkpoint folders: config.json + model.safetensors (or sharded model.safetensors.index.json).
/// Safetensors only; pickle files are never read.
/// </summary>
public static class HfCheckpoint
{
    public const string ConfigFile = "config.json", WeightsFile = "model.safetensors",
        IndexFile = "model.safetensors.index.json", GenerationConfigFile = "generation_config.json";

    /// <summary>True if <paramref name="folder"/> has a config.json and safetensors weights.</summary>
    public static bool IsCheckpointFolder(string folder) =>
        File.Exists(Path.Combine(folder, ConfigFile)) &&
        (File.Exists(Path.Combine(folder, WeightsFile)) || File.Exists(Path.Combine(folder, IndexFile)));

    /// <summary>
    /// Loads a checkpoint folder. Tensors (fp32, bf16 or fp16 in the file) are converted to <paramref name="dtype"/>.
    /// Non-parameter buffers of older files (attention.bias, attention.masked_bias, rotary_emb.inv_freq) are skipped, as
    /// is lm_head.weight of a tied Llama. Missing, unexpected or wrongly shaped tensors -> one error listing them all,
    /// raised before any weight is copied.
    /// </summary>
    public static CausalLM Load(string folder, ScalarType dtype = ScalarType.Float32)
    {
        if (!IsFloat(dtype)) throw new ArgumentException($"a model cannot be loaded as {dtype}", nameof(dtype));
        if (!Directory.Exists(folder)) throw new FactTraceException($"checkpoint folder '{folder}' not found");
        var config = ModelConfig.Load(folder);
        var files = WeightFiles(folder).Select(SafetensorsFile.Open).ToList();
        try
        {
            var model = ModelFactory.Build(config);
            try
            {
                if (dtype != ScalarType.Float32) model.to(dtype);
                var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                var plan = Match(folder, config, files, parameters);
                using var noGrad = no_grad();
                foreach (var (file, name) in plan)
                {
                    using var t = file.Read(name);
                    parameters[name].copy_(t);
                }
                return model;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }

    /// <summary>model.safetensors, or the shards named by model.safetensors.index.json.</summary>
    static List<string> WeightFiles(string folder)
    {
        var single = Path.Combine(folder, WeightsFile);
        if (File.Exists(single)) return [single];
        var index = Path.Combine(folder, IndexFile);
        if (File.Exists(index))
        {
            var root = Json.ReadFile<JsonElement>(index, "safetensors index");
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new FactTraceException($"safetensors index '{index}' has no weight_map object");
            var shards = new List<string>();
            foreach (var p in map.EnumerateObject())
            {
                var shard = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : "";
                if (shard.Length == 0 || Path.GetFileName(shard) != shard)
                    throw new FactTraceException($"safetensors index '{index}' maps '{p.Name}' to an invalid file name {p.Value.GetRawText()}");
                if (!shards.Contains(shard)) shards.Add(shard);
            }
            foreach (var s in shards)
                if (!File.Exists(Path.Combine(folder, s))) throw new FactTraceException($"shard '{s}' named in '{index}' not found");
            return shards.Select(s => Path.Combine(folder, s)).ToList();
        }
        var pickled = new[] { "pytorch_model.bin", "pytorch_model.bin.index.json" }.FirstOrDefault(f => File.Exists(Path.Combine(folder, f)));
        throw new FactTraceException(pickled is null
            ? $"checkpoint folder '{folder}' has no {WeightsFile} or {IndexFile}"
            : $"checkpoint folder '{folder}' has only {pickled}; pickle files are never loaded (convert it to safetensors)");
    }

    /// <summary>Which file holds each parameter; throws listing every missing, unexpected or mis-shaped tensor.</summary>
    static List<(SafetensorsFile File, string Name)> Match(string folder, ModelConfig config, List<SafetensorsFile> files,
        Dictionary<string, TorchSharp.Modules.Parameter> parameters)
    {
        var plan = new List<(SafetensorsFile, string)>();
        var found = new HashSet<string>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        var misShaped = new List<string>();
        var duplicated = new List<string>();
        foreach (var file in files)
            foreach (var e in file.Entries.Values.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                if (!parameters.TryGetValue(e.Name, out var p))
                {
                    if (!IsIgnored(e.Name, config)) unexpected.Add(e.Name);
                    continue;
                }
                if (!found.Add(e.Name)) { duplicated.Add(e.Name); continue; }
                if (!e.Shape.SequenceEqual(p.shape))
                    misShaped.Add($"{e.Name} (file [{string.Join(", ", e.Shape)}], model [{string.Join(", ", p.shape)}])");
                else if (!IsFloat(e.ScalarType))
                    misShaped.Add($"{e.Name} (dtype {e.Dtype}, expected a floating-point dtype)");
                else plan.Add((file, e.Name));
            }
        var missing = parameters.Keys.Where(n => !found.Contains(n)).ToList();
        if (missing.Count + unexpected.Count + misShaped.Count + duplicated.Count == 0) return plan;

        var parts = new List<string>();
        if (missing.Count > 0) parts.Add($"missing: {string.Join(", ", missing)}");
        if (unexpected.Count > 0) parts.Add($"unexpected: {string.Join(", ", unexpected)}");
        if (misShaped.Count > 0) parts.Add($"wrong shape or dtype: {string.Join("; ", misShaped)}");
        if (duplicated.Count > 0) parts.Add($"in more than one shard: {string.Join(", ", duplicated)}");
        throw new FactTraceException($"checkpoint '{folder}' does not match its {config.ModelType} config: {string.Join(" | ", parts)}");
    }

    static bool IsFloat(ScalarType t) => t is ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float64;

    /// <summary>Tensors that HF files may carry but that are not parameters.</summary>
    static bool IsIgnored(string name, ModelConfig config) =>
        name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal) ||
        (config.IsNeoX && (name.EndsWith(".attention.bias", StringComparison.Ordinal) || name.EndsWith(".attention.masked_bias", StringComparison.Ordinal))) ||
        (config.IsLlama && config.TieWordEmbeddings && name == "lm_head.weight");

    /// <summary>
    /// Writes an HF folder atomically (temp folder, then rename): config.json (explicit values for every field the
    /// model uses), model.safetensors (HF names, the parameters' dtype and shapes; a tied Llama without lm_head.weight),
    /// generation_config.json, and the tokenizer's files if given. An existing non-empty folder needs <paramref name="force"/>.
    /// </summary>
    public static void Save(CausalLM model, string folder, ITokenizer? tokenizer = null, bool force = false)
    {
        var weights = model.state_dict();
        var dtype = weights.Values.First().dtype;
        var config = SavedConfig(model.Config, dtype, tokenizer);
        OutputFolder.Create(folder, force, tmp =>
        {
            AtomicFile.WriteAllText(Path.Combine(tmp, ConfigFile), config.ToJson());
            Safetensors.Write(Path.Combine(tmp, WeightsFile), weights);
            AtomicFile.WriteAllText(Path.Combine(tmp, GenerationConfigFile), GenerationConfig(config));
            tokenizer?.Save(tmp);
        }, "checkpoint folder");
    }

    /// <summary>The config as saved: HF defaults that our code relies on written out, dtype and special tokens filled in.</summary>
    public static ModelConfig SavedConfig(ModelConfig c, ScalarType dtype, ITokenizer? tokenizer = null)
    {
        var saved = c with
        {
            TorchDtype = DtypeName(dtype),
            BosTokenId = c.BosTokenId ?? tokenizer?.BosId,
            EosTokenId = c.EosTokenId ?? tokenizer?.EosId,
            PadTokenId = c.PadTokenId ?? (tokenizer is null || tokenizer.PadId == tokenizer.EosId ? null : tokenizer.PadId),
        };
        return c.IsNeoX
            ? saved with
            {
                Architectures = c.Architectures ?? ["GPTNeoXForCausalLM"],
                HiddenAct = c.HiddenAct ?? "gelu",
                RotaryPct = c.RotaryPct ?? 0.25,
                RotaryEmbBase = c.RotaryEmbBase ?? 10000,
                UseParallelResidual = c.UseParallelResidual ?? true,
                LayerNormEps = c.LayerNormEps ?? 1e-5,
                AttentionBias = c.AttentionBias ?? true,
            }
            : saved with
            {
                Architectures = c.Architectures ?? ["LlamaForCausalLM"],
                HiddenAct = c.HiddenAct ?? "silu",
                NumKeyValueHeads = c.KvHeads,
                HeadDimField = c.HeadDim,
                RmsNormEps = c.NormEps,
                RopeTheta = c.RopeBase,
                AttentionBias = c.AttentionBias ?? false,
                MlpBias = c.MlpBias ?? false,
            };
    }

    static string GenerationConfig(ModelConfig c)
    {
        var o = new JsonObject { ["_from_model_config"] = true };
        if (c.BosTokenId is int bos) o["bos_token_id"] = bos;
        if (c.EosTokenId is int eos) o["eos_token_id"] = eos;
        if (c.PadTokenId is int pad) o["pad_token_id"] = pad;
        return o.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    static string DtypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => throw new FactTraceException($"cannot save a model with {t} parameters"),
    };
}
