using System.Text.Json;
using FactTrace.IO;

namespace FactTrace.Text;

/// <summary>The parts of a tokenizer.json BPE model that every BPE flavour reads the same way.</summary>
internal static class BpeModelJson
{
    /// <summary>Files beside tokenizer.json that a tokenizer keeps and writes back with it.</summary>
    public static readonly string[] CompanionFiles = ["tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>The companion files present beside <paramref name="tokenizerJsonPath"/>, by file name.</summary>
    public static Dictionary<string, byte[]> ReadCompanions(string tokenizerJsonPath)
    {
        if (!File.Exists(tokenizerJsonPath)) throw new FactTraceException($"tokenizer file '{tokenizerJsonPath}' not found");
        var dir = Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!;
        return CompanionFiles.Select(n => Path.Combine(dir, n)).Where(File.Exists).ToDictionary(p => Path.GetFileName(p), p => File.ReadAllBytes(p));
    }

    /// <summary>The parsed document (the caller disposes it) and its "model" object; a one-line error otherwise.</summary>
    public static (JsonDocument Doc, JsonElement Model) Parse(byte[] json, Func<string, FactTraceException> fail)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw fail($"not valid JSON ({e.Message.Split('\n')[0]})"); }
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw fail("no \"model\" object");
        }
        return (doc, model);
    }

    /// <summary>
    /// model.vocab (token -> non-negative id) and model.merges in rank order, each a pair of vocabulary tokens whose
    /// concatenation is a token too ("a b" strings or ["a", "b"] arrays). <paramref name="spaceFree"/>: tokens may not
    /// hold a space (byte-level BPE, where "a b" would be ambiguous).
    /// </summary>
    public static (Dictionary<string, int> Vocab, List<(string A, string B)> Merges) Read(JsonElement model, Func<string, FactTraceException> fail,
        bool spaceFree)
    {
        if (!model.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
            throw fail("model.vocab is missing");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabEl.EnumerateObject())
        {
            if (!p.Value.TryGetInt32(out var id) || id < 0) throw fail($"model.vocab[\"{p.Name}\"] is not a non-negative integer");
            vocab[p.Name] = id;
        }
        var merges = new List<(string, string)>();
        if (model.TryGetProperty("merges", out var mergesEl) && mergesEl.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var m in mergesEl.EnumerateArray())
            {
                string? a = null, b = null;
                if (m.ValueKind == JsonValueKind.String && m.GetString()!.Split(' ') is [var x, var y]) (a, b) = (x, y);
                else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2
                         && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
                    (a, b) = (m[0].GetString(), m[1].GetString());
                if (a is null || b is null || (spaceFree && (a.Contains(' ') || b.Contains(' '))))
                    throw fail($"model.merges[{i}] is not a pair of tokens");
                if (!vocab.ContainsKey(a) || !vocab.ContainsKey(b) || !vocab.ContainsKey(a + b))
                    throw fail($"model.merges[{i}] (\"{a}\" \"{b}\") uses a token that is not in model.vocab");
                merges.Add((a, b));
                i++;
            }
        }
        return (vocab, merges);
    }
}
