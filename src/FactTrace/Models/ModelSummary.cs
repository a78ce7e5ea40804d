using System.Text.RegularExpressions;
using FactTrace.IO;

namespace FactTrace.Models;

/// <summary>One row of the per-module table: the HF name (layers folded to <c>layers.*</c>), its components, shape and count.</summary>
public sealed record ModuleRow(string Name, string Component, long[] Shape, int Count, long Parameters);

/// <summary>
/// `facttrace inspect`: a model's architecture and parameter counts from its config alone (the parameter map; no
/// weights are allocated).
/// </summary>
public sealed record ModelSummary(
    string ModelType, string? Architecture, string Source, long Parameters, long NonEmbeddingParameters,
    long EmbeddingParameters, int Layers, int Heads, int KvHeads, int HeadDim, int HiddenSize, int IntermediateSize,
    int VocabSize, bool TieWordEmbeddings, Dictionary<string, long> Components, List<ModuleRow> Modules)
{
    /// <summary>About the vocabulary of the default world's word-level tokenizer.</summary>
    public const int DefaultTinyVocab = 2000;

    /// <summary>A config.json file, an HF folder with config.json, or a named config; an <see cref="OptionException"/> otherwise.</summary>
    public static (ModelConfig Config, string Source) Resolve(string model, int tinyVocab = DefaultTinyVocab)
    {
        if (File.Exists(model)) return (ModelConfig.Load(model), model);
        if (Directory.Exists(model))
        {
            var file = Path.Combine(model, "config.json");
            if (!File.Exists(file)) throw new OptionException("model", $"folder '{model}' has no config.json");
            return (ModelConfig.Load(file), file);
        }
        if (NamedConfigs.TryGetPublished(model, out var config)) return (config, $"published config {model}");
        if (NamedConfigs.TinyNames.Contains(model, StringComparer.OrdinalIgnoreCase))
            return (NamedConfigs.Get(model, tinyVocab), $"from-scratch config {model} (vocab {tinyVocab})");
        throw new OptionException("model",
            $"'{model}' is not a config.json, a folder with config.json, or a named config ({string.Join(", ", NamedConfigs.TinyNames.Concat(NamedConfigs.PublishedNames))})");
    }

    public static ModelSummary Of(string model, int tinyVocab = DefaultTinyVocab)
    {
        var (config, source) = Resolve(model, tinyVocab);
        return Of(config, source);
    }

    public static ModelSummary Of(ModelConfig config, string source)
    {
        var map = ParameterMap.For(config);
        var modules = map.Parameters
            .GroupBy(p => Regex.Replace(p.Name, @"\.layers\.\d+\.", ".layers.*."))
            .Select(g => new ModuleRow(g.Key, string.Join("+", g.First().Components.Select(c => c.ToSnakeCase())),
                g.First().Shape, g.Count(), g.Sum(p => p.NumEl)))
            .ToList();
        return new ModelSummary(config.ModelType, config.Architectures?.FirstOrDefault(), source, map.TotalParameters,
            map.NonEmbeddingParameters, map.EmbeddingParameters, map.Layers, map.Heads, map.KvHeads, map.HeadDim,
            config.HiddenSize, config.IntermediateSize, config.VocabSize, config.TieWordEmbeddings,
            map.CountByComponent().Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key.ToSnakeCase(), kv => kv.Value),
            modules);
    }
}
