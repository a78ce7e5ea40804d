using System.Text.Json;
using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.Text;

/// <summary>One text as `facttrace tokenize --json` prints it: ids, their vocabulary entries and source offsets.</summary>
public sealed record TokenizedText(
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("ids")] IReadOnlyList<int> Ids,
    [property: JsonPropertyName("tokens")] IReadOnlyList<string?> Tokens,
    [property: JsonPropertyName("offsets")] IReadOnlyList<int[]> Offsets);

/// <summary>
/// `facttrace tokenize`: any supported tokenizer (a tokenizer.json of any kind, a tiktoken file, or a model folder) on
/// texts, so its output can be compared with Python's. No special token is added unless asked (then BOS first, as the
/// tokenizer's template does, when it has one).
/// </summary>
public static class Tokenization
{
    /// <summary>Texts of a JSONL file: one JSON string per line (empty lines skipped); a bad line is named.</summary>
    public static IEnumerable<string> ReadTexts(string file)
    {
        if (!File.Exists(file)) throw FactTraceException.Usage($"--input: file '{file}' not found");
        var n = 0;
        foreach (var line in File.ReadLines(file))
        {
            n++;
            if (line.Trim().Length == 0) continue;
            string? text;
            try { text = JsonSerializer.Deserialize<string>(line); }
            catch (JsonException) { text = null; }
            if (text is null) throw new FactTraceException($"{file} line {n}: not a JSON string (one JSON string per line, e.g. \"Hello\")");
            yield return text;
        }
    }

    public static TokenizedText Tokenize(ITokenizer tok, string text, bool special)
    {
        var spans = tok.EncodeWithOffsets(text).ToList();
        if (special && tok.BosId is int bos) spans.Insert(0, new TokenSpan(bos, 0, 0));
        return new TokenizedText(text, spans.Select(s => s.Id).ToList(), spans.Select(s => tok.TokenText(s.Id)).ToList(),
            spans.Select(s => new[] { s.Start, s.End }).ToList());
    }
}
