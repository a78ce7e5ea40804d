using System.Text.Json;
using FactTrace.IO;

namespace FactTrace.Text;

/// <summary>Picks and loads the right tokenizer for a Hugging Face checkpoint folder (or a tokenizer file).</summary>
public static class TokenizerLoader
{
    /// <summary>
    /// The loader for tokenizer.json files of model type WordLevel (the synthetic world's tokenizer).
    /// </summary>
    static readonly Func<string, ITokenizer> DefaultWordLevel = WordLevelTokenizer.Load;

    /// <summary>
    /// Loads from a folder: tokenizer.json by its model type (BPE -> <see cref="ByteLevelBpeTokenizer"/>, or
    /// <see cref="SentencePieceBpeTokenizer"/> for the Llama-2 layout (a "▁"-prepending normalizer, byte fallback), WordLevel ->
    /// the world's word-level tokenizer), else a tiktoken tokenizer.model or original/tokenizer.model ->
    /// <see cref="Llama3Tokenizer"/>. A file path is read by its kind (.json or tiktoken).
    /// </summary>
    public static ITokenizer Load(string path) => Load(path, null);

    /// <param name="path">An HF folder, a tokenizer.json, or a tiktoken file.</param>
    /// <param name="wordLevel">Loads a WordLevel tokenizer.json (given its path); overrides the built-in hook.</param>
    public static ITokenizer Load(string path, Func<string, ITokenizer>? wordLevel)
    {
        string file;
        if (Directory.Exists(path))
        {
            var candidates = new[]
            {
                Path.Combine(path, ByteLevelBpeTokenizer.FileName),
                Path.Combine(path, Llama3Tokenizer.FileName),
                Path.Combine(path, Llama3Tokenizer.RelativePath),
            };
            file = candidates.FirstOrDefault(File.Exists)
                   ?? throw new FactTraceException($"no tokenizer in '{path}' (looked for {string.Join(", ", candidates.Select(Path.GetFileName).Distinct())} and original/{Llama3Tokenizer.FileName})");
        }
        else if (File.Exists(path)) file = path;
        else throw FactTraceException.Usage($"tokenizer path '{path}' not found");

        if (!file.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            var head = new byte[512];
            int n;
            using (var fs = File.OpenRead(file)) n = fs.Read(head);
            if (!Llama3Tokenizer.LooksLikeTiktoken(head.AsSpan(0, n)))
                throw new FactTraceException($"{file}: tokenizer type not supported: not a tiktoken file (\"base64 rank\" lines), e.g. a SentencePiece model");
            return Llama3Tokenizer.Load(file);
        }

        var (type, sentencePiece) = ReadModelType(file);
        return type switch
        {
            "BPE" when sentencePiece => SentencePieceBpeTokenizer.Load(file),
            "BPE" => ByteLevelBpeTokenizer.Load(file),
            "WordLevel" => (wordLevel ?? DefaultWordLevel)(file),
            _ => throw new FactTraceException($"{file}: tokenizer type \"{type}\" is not supported (BPE with ByteLevel, SentencePiece-style BPE, WordLevel, or a tiktoken tokenizer.model)"),
        };
    }

    static (string Type, bool SentencePiece) ReadModelType(string file)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("model", out var model)
                || model.ValueKind != JsonValueKind.Object)
                throw new FactTraceException($"{file}: no \"model\" object (not an HF tokenizer.json)");
            return (ByteLevelBpeTokenizer.ModelType(model), SentencePieceBpeTokenizer.IsSentencePiece(doc.RootElement));
        }
        catch (JsonException e)
        {
            throw new FactTraceException($"{file}: not valid JSON ({e.Message.Split('\n')[0]})");
        }
    }
}
