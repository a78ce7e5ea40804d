using FactTrace.IO;
using FactTrace.Text;

namespace FactTrace.Models;

/// <summary>
/// A Hugging Face model folder as FactTrace uses it: config.json, safetensors weights (one file or an index) and the
/// tokenizer, found in one place. The tokenizer is the folder's own (tokenizer.json, or Llama 3's tiktoken
/// tokenizer.model, also under original/); a folder without one (a from-scratch model saved without its tokenizer) reads
/// text with the world's tokenizer. Either way the tokenizer's vocabulary must fit the model's embedding.
/// </summary>
public sealed class ModelFolder
{
    public string Path { get; }
    /// <summary>The tokenizer file of the folder, or null when it has none.</summary>
    public string? TokenizerFile { get; }

    ModelFolder(string path, string? tokenizerFile) => (Path, TokenizerFile) = (path, tokenizerFile);

    /// <summary>The files a folder's tokenizer may be, in the order they are looked for.</summary>
    public static readonly string[] TokenizerFiles = ["tokenizer.json", Llama3Tokenizer.FileName, Llama3Tokenizer.RelativePath];

    /// <summary>
    /// Checks that <paramref name="path"/> is a checkpoint folder; <paramref name="field"/> names the option it came from
    /// in the error (the request field, e.g. "model" or "reference").
    /// </summary>
    public static ModelFolder Open(string path, string field = "model")
    {
        if (File.Exists(path)) throw new OptionException(field, $"'{path}' is a file; give a Hugging Face model folder (config.json + model.safetensors)");
        if (!Directory.Exists(path)) throw new OptionException(field, $"'{path}' not found");
        if (!HfCheckpoint.IsCheckpointFolder(path))
            throw new OptionException(field, $"'{path}' is not an HF checkpoint folder (config.json + model.safetensors)");
        var tok = TokenizerFiles.Select(f => System.IO.Path.Combine(path, f)).FirstOrDefault(File.Exists);
        return new ModelFolder(System.IO.Path.GetFullPath(path), tok);
    }

    /// <summary>True if <paramref name="path"/> is a checkpoint folder (config.json and safetensors weights).</summary>
    public static bool IsModelFolder(string path) => HfCheckpoint.IsCheckpointFolder(path);

    public bool HasTokenizer => TokenizerFile is not null;

    public ModelConfig Config => config ??= ModelConfig.Load(Path);
    ModelConfig? config;

    /// <summary>The folder's tokenizer, else <paramref name="fallback"/>; refused when its vocabulary does not fit the model.</summary>
    public ITokenizer Tokenizer(ITokenizer? fallback)
    {
        var tok = TokenizerFile is not null ? TokenizerLoader.Load(Path)
            : fallback ?? throw new FactTraceException($"model folder '{Path}' has no tokenizer ({string.Join(", ", TokenizerFiles)})");
        CheckFits(tok, Config, TokenizerFile ?? "the world's tokenizer.json");
        return tok;
    }

    /// <summary>Loads the weights (fp32) and the tokenizer (see <see cref="Tokenizer"/>).</summary>
    public (CausalLM Model, ITokenizer Tokenizer) Load(ITokenizer? fallback)
    {
        var tok = Tokenizer(fallback);
        return (HfCheckpoint.Load(Path), tok);
    }

    /// <summary>A tokenizer whose ids reach past the embedding would index out of range: refused, naming both sizes.</summary>
    public static void CheckFits(ITokenizer tok, ModelConfig config, string what)
    {
        if (tok.VocabSize > config.VocabSize)
            throw new FactTraceException($"{what}: the tokenizer has {tok.VocabSize:N0} tokens but the model's vocab_size is {config.VocabSize:N0}");
    }
}
