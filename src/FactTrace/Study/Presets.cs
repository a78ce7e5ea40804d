using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Text;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Study;

/// <summary>
/// Everything `facttrace reproduce` runs with, short of the seed: the world, the model, both training strategies and
/// the analysis stages. <see cref="Model"/> is a named from-scratch shape; a preset with <see cref="Pretrained"/> set
/// fine-tunes a downloaded Hugging Face folder given with <c>--model PATH</c> instead.
/// </summary>
public sealed record Preset
{
    public required string Name { get; init; }
    public required string Description { get; init; }
    /// <summary>World options; the seed is replaced by each run's seed.</summary>
    public required WorldOptions World { get; init; }
    /// <summary>A named config (tiny-neox, ...) trained from scratch; null when <see cref="Pretrained"/> is set.</summary>
    public string? Model { get; init; }
    /// <summary>The published shape (a <see cref="NamedConfigs"/> name) that <c>--model PATH</c> must match.</summary>
    public string? Pretrained { get; init; }
    /// <summary>The model's hub name, for the error that explains what to download.</summary>
    public string? HubName { get; init; }
    /// <summary>Where to get the model folder, when it is not a `huggingface-cli download` of <see cref="HubName"/>.</summary>
    public string? ModelHint { get; init; }
    /// <summary>Two-stage options (the seed is replaced by each run's seed).</summary>
    public required TrainOptions TwoStage { get; init; }
    /// <summary>Mixed options (the seed is replaced by each run's seed).</summary>
    public required TrainOptions Mixed { get; init; }
    public TraceOptions Trace { get; init; } = new();
    public AblationOptions Ablate { get; init; } = new();
    public GraftOptions Graft { get; init; } = new();
    /// <summary>The robustness table's variants (trace kind x scope x rho, resets of S); resets on the mixed model only.</summary>
    public RobustnessOptions Robustness { get; init; } = new();
    /// <summary>The rho of the headline numbers and the heatmaps.</summary>
    public double HeadlineRho { get; init; } = 0.01;

    /// <summary>A model bundled in the library (<see cref="BundledModels"/>) used when no <c>--model</c> is given.</summary>
    public string? Bundled { get; init; }

    [JsonIgnore] public bool NeedsModel => Pretrained is not null;

    /// <summary>Every stage's options; a bad value is an <see cref="OptionException"/> naming its path (<c>two_stage.lr</c>).</summary>
    public void Validate()
    {
        OptionException.Nested("world", () => World.Validate(Pools.Default));
        OptionException.Nested("two_stage", TwoStage.Validate);
        OptionException.Nested("mixed", Mixed.Validate);
        OptionException.Nested("trace", Trace.Validate);
        OptionException.Nested("ablate", Ablate.Validate);
        OptionException.Nested("graft", Graft.Validate);
        OptionException.Nested("robustness", Robustness.Validate);
        if (!(HeadlineRho > 0 && HeadlineRho <= 1)) throw new OptionException("headline_rho", $"must be in (0, 1] (got {HeadlineRho})");
    }
}

/// <summary>
/// The presets of `facttrace reproduce`. All the numbers live here, so calibration changes one place.
/// </summary>
public static class Presets
{
    public const string DefaultName = "tiny";

    /// <summary>
    /// The embedded default, chosen by measurement on a 2-core CPU (docs/calibration.md): a 500-person world with
    /// knowledge augmentation (5 independently templated BIOs per person, sentences permuted, full name in every
    /// sentence) and tiny-neox from scratch; mixed 16 epochs; two-stage 16 BIO epochs, then 6 QA epochs with the same
    /// recipe (peak lr 3e-3, warmup then cosine within each stage). 16 rather than 20 epochs keeps `reproduce` inside
    /// 10 minutes on 2 cores (8 min 54 s measured in fp32) at mixed QA-OOD 92.3% (20 epochs: 94.6%; 12: 86.7%).
    /// Precision: bf16 autocast where the CPU has native bf16, else fp32 (<see cref="Precisions.Fastest"/>): on this
    /// 2-core machine bf16 trained each strategy in 180 s vs 232-256 s in fp32, QA-OOD within noise. The resolved
    /// precision is part of the options hash and of manifest.json.
    /// </summary>
    public static Preset Tiny { get; } = new()
    {
        Name = "tiny",
        Description = "tiny-neox from scratch on a 500-person augmented world (5 permuted full-name BIOs per person), on CPU",
        World = new WorldOptions(People: 500, BioVariants: 5, Permute: true, FullName: true),
        Model = "tiny-neox",
        TwoStage = new TrainOptions { Strategy = Strategy.TwoStage, BioEpochs = 16, QaEpochs = 6, Lr = 3e-3, Precision = Precisions.Fastest },
        Mixed = new TrainOptions { Strategy = Strategy.Mixed, BioEpochs = 16, Lr = 3e-3, Precision = Precisions.Fastest },
        // The headline trace is the paper's (lr-grad, accumulated during both trainings: about 1.0-1.07x a training
        // step, `bench train-trace`); the probe is that of the post-hoc variants of the robustness table.
        Trace = new TraceOptions { Score = ScoreKind.LrGrad, Probe = new ProbeOptions { BioSize = 256, QaSize = 256 } },
        // About 20 evaluations per model: on 100 people per split each.
        Ablate = new AblationOptions { EvalPeople = 100 },
        Graft = new GraftOptions { EvalPeople = 100 },
    };

    /// <summary>
    /// The paper's hard case: one BIO per person in a fixed sentence order (full names), as in bioS single. A tiny model
    /// stores these facts but cannot extract most of them, under either strategy (docs/calibration.md).
    /// </summary>
    public static Preset SingleBio { get; } = Tiny with
    {
        Name = "single-bio",
        Description = "tiny-neox from scratch on a 500-person world with a single fixed-order BIO per person, on CPU",
        World = new WorldOptions(People: 500, BioVariants: 1, Permute: false, FullName: true),
        TwoStage = Tiny.TwoStage with { BioEpochs = 30, QaEpochs = 10 },
        Mixed = Tiny.Mixed with { BioEpochs = 30 },
    };

    /// <summary>
    /// The paper's setting: fine-tune a pretrained model on the synthetic world. The training numbers below are
    /// placeholders to calibrate on a GPU (the paper's exact schedule is not reproduced here); the world and the
    /// analysis are as in the tiny preset.
    /// </summary>
    static Preset Pretrained(string name, string hub, string description) => new()
    {
        Name = name,
        Description = description,
        World = new WorldOptions(People: 1000, BioVariants: 5, Permute: true, FullName: true),
        Pretrained = name,
        HubName = hub,
        TwoStage = new TrainOptions { Strategy = Strategy.TwoStage, BioEpochs = 10, QaEpochs = 5, Lr = 1e-5, BatchSize = 16, WarmupFraction = 0.03 },
        Mixed = new TrainOptions { Strategy = Strategy.Mixed, BioEpochs = 10, Lr = 1e-5, BatchSize = 16, WarmupFraction = 0.03 },
        Trace = Tiny.Trace,
        Robustness = Tiny.Robustness,
        Ablate = Tiny.Ablate,
        Graft = Tiny.Graft,
    };

    /// <summary>
    /// The paper's protocol on a real pretrained model that fits a CPU: fine-tune stories260K (Karpathy's llama2.c,
    /// TinyStories, MIT; 5 layers, d 64, 8/4 heads, SwiGLU 172, tied embeddings, a 512-piece SentencePiece BPE) given
    /// bundled in the library (models/stories260K, MIT) or given with <c>--model PATH</c>, the world tokenized with its own
    /// tokenizer, S reset to the pretrained weights. Partly calibrated (docs/calibration.md, 2-core AVX2 EPYC, both
    /// strategies side by side): 50 people x 5 BIOs, 48 epochs at peak lr 3e-3 (two-stage: then 12 QA epochs) gives BIO
    /// memorization 99.8% (mixed) and 99.9% (two-stage after stage 1) in about 14.5 minutes, but QA-ID only 42.0% /
    /// 38.0% (target 95%; mixed's plateaus from epoch 32) and QA-OOD 4.7% / 0.0%; 100 people x 24 epochs gave 79.3% /
    /// 92.6% memorization and QA-ID 39.7% / 20.7%.
    /// </summary>
    public static Preset Stories260K { get; } = new()
    {
        Name = "stories260k",
        Description = "fine-tune the pretrained stories260K (llama2.c, 260k parameters; bundled) on a 50-person augmented world, on CPU (QA-ID not calibrated yet)",
        World = new WorldOptions(People: 50, BioVariants: 5, Permute: true, FullName: true),
        Pretrained = "stories260k",
        HubName = "karpathy/tinyllamas stories260K",
        Bundled = "stories260K",
        ModelHint = "e.g. ../shared/pretrained/stories260K (the HF conversion of llama2.c's stories260K, MIT)",
        TwoStage = new TrainOptions { Strategy = Strategy.TwoStage, BioEpochs = 48, QaEpochs = 12, Lr = 3e-3, Precision = Precisions.Fastest },
        Mixed = new TrainOptions { Strategy = Strategy.Mixed, BioEpochs = 48, Lr = 3e-3, Precision = Precisions.Fastest },
        Trace = Tiny.Trace,
        Robustness = Tiny.Robustness,
        Ablate = Tiny.Ablate,
        Graft = Tiny.Graft,
    };

    public static IReadOnlyList<Preset> All { get; } =
    [
        Tiny,
        SingleBio,
        Stories260K,
        Pretrained("pythia-2.8b", "EleutherAI/pythia-2.8b", "fine-tune Pythia-2.8B from --model PATH"),
        Pretrained("llama-3.2-1b", "meta-llama/Llama-3.2-1B", "fine-tune Llama-3.2-1B from --model PATH"),
        Pretrained("llama-3.2-3b", "meta-llama/Llama-3.2-3B", "fine-tune Llama-3.2-3B from --model PATH"),
    ];

    public static IReadOnlyList<string> Names => [.. All.Select(p => p.Name)];

    /// <summary>
    /// A preset by name, or read from a JSON file (a path ending in .json): the fields of manifest.json's "options", any
    /// left out keeping the tiny preset's values, unknown fields refused. A researcher's own experiment in one file.
    /// </summary>
    public static Preset Load(string nameOrFile)
    {
        if (!nameOrFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return Get(nameOrFile);
        var file = nameOrFile;
        if (!File.Exists(file)) throw new OptionException("preset", $"file '{file}' not found");
        JsonObject overrides;
        try
        {
            overrides = JsonNode.Parse(File.ReadAllText(file, Jsonl.StrictUtf8)) as JsonObject
                        ?? throw new OptionException("preset", $"file '{file}' does not hold a JSON object");
        }
        catch (Exception e) when (e is JsonException or System.Text.DecoderFallbackException)
        {
            throw new OptionException("preset", $"file '{file}' is not valid JSON: {e.Message.Split('\n')[0].Trim()}");
        }
        var merged = JsonSerializer.SerializeToNode(Tiny, Json.Line)!.AsObject();
        Json.Merge(merged, overrides);
        // Named after the file unless it says otherwise: a changed preset is not "tiny".
        if (!overrides.ContainsKey("name")) merged["name"] = Path.GetFileNameWithoutExtension(file);
        if (!overrides.ContainsKey("description")) merged["description"] = $"preset file {Path.GetFileName(file)} (fields not in it as in tiny)";
        try
        {
            return merged.Deserialize<Preset>(FileOptions) ?? throw new OptionException("preset", $"file '{file}' is null");
        }
        catch (JsonException e)
        {
            throw new OptionException("preset", $"file '{file}': {e.Message.Split('\n')[0].Trim()}");
        }
    }

    static readonly JsonSerializerOptions FileOptions = new(Json.Line) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    public static Preset Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new OptionException("preset", $"'{name}': expected one of {string.Join(", ", Names)}");

    /// <summary>
    /// Checks that <paramref name="path"/> is a usable Hugging Face folder for <paramref name="preset"/>: it exists, has
    /// config.json of the preset's model type and shape, safetensors weights and a tokenizer. Every failure is a one-line
    /// usage error saying what the preset needs.
    /// </summary>
    public static void ValidatePretrained(Preset preset, string? path)
    {
        if (preset.Pretrained is not { } shape) return;
        if (string.IsNullOrEmpty(path) && preset.Bundled is { } b && BundledModels.Has(b)) return; // the library's own copy
        var needs = $"preset {preset.Name} fine-tunes {preset.HubName}: pass `model` PATH, a local Hugging Face folder of it " +
                    "(config.json, model.safetensors or its index, and the tokenizer), " +
                    (preset.ModelHint ?? $"e.g. from `huggingface-cli download {preset.HubName} --local-dir PATH`");
        if (string.IsNullOrEmpty(path)) throw new OptionException("model", needs);
        if (!Directory.Exists(path)) throw new OptionException("model", $"'{path}' is not a folder; {needs}");
        var configPath = Path.Combine(path, HfCheckpoint.ConfigFile);
        if (!File.Exists(configPath)) throw new OptionException("model", $"'{path}' has no config.json; {needs}");
        ModelConfig config;
        try { config = ModelConfig.Parse(File.ReadAllText(configPath), configPath); }
        catch (FactTraceException e) { throw new OptionException("model", $"'{path}': {e.Message}"); }
        var want = NamedConfigs.GetPublished(shape);
        if (config.ModelType != want.ModelType)
            throw new OptionException("model", $"'{path}' is a {Quote(config.ModelType)} model but preset {preset.Name} needs {want.ModelType} ({preset.HubName})");
        var diffs = new List<string>();
        void Compare(string field, int? got, int? expected) { if (got != expected) diffs.Add($"{field} {got?.ToString() ?? "missing"} (expected {expected})"); }
        Compare("hidden_size", config.HiddenSize, want.HiddenSize);
        Compare("num_hidden_layers", config.NumHiddenLayers, want.NumHiddenLayers);
        Compare("num_attention_heads", config.NumAttentionHeads, want.NumAttentionHeads);
        Compare("intermediate_size", config.IntermediateSize, want.IntermediateSize);
        if (want.IsLlama) Compare("num_key_value_heads", config.KvHeads, want.KvHeads);
        if (diffs.Count > 0)
            throw new OptionException("model", $"'{path}' is not {preset.HubName}: {string.Join(", ", diffs)}");
        if (!HfCheckpoint.IsCheckpointFolder(path))
            throw new OptionException("model", $"'{path}' has no safetensors weights (model.safetensors or model.safetensors.index.json); {needs}");
        if (!ModelFolder.Open(path).HasTokenizer)
            throw new OptionException("model", $"'{path}' has no tokenizer ({string.Join(", ", ModelFolder.TokenizerFiles)}); {needs}");
    }

    static string Quote(string s) => s.Length == 0 ? "(no model_type)" : s;
}
