using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FactTrace.IO;

/// <summary>One set of JSON options for everything FactTrace writes and reads (snake_case fields, like HF files).</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>One object per line (JSONL), same naming.</summary>
    public static readonly JsonSerializerOptions Line = new(Indented) { WriteIndented = false };

    public static string Serialize<T>(T value, bool indented = true) => JsonSerializer.Serialize(value, indented ? Indented : Line);

    /// <summary>Reads and deserializes a JSON file; a missing file or malformed JSON is a one-line error naming the file.</summary>
    public static T ReadFile<T>(string path, string what = "file")
    {
        if (!File.Exists(path)) throw new FactTraceException($"{what} '{path}' not found");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FactTraceException($"{what} '{path}' cannot be read ({e.Message})");
        }
        try
        {
            return JsonSerializer.Deserialize<T>(text, Indented) ?? throw new FactTraceException($"{what} '{path}' is empty (null)");
        }
        catch (JsonException e)
        {
            var where = e.LineNumber is long l ? $" at line {l + 1}" : "";
            throw new FactTraceException($"{what} '{path}' is not valid JSON{where}: {FirstLine(e.Message)}");
        }
    }

    /// <summary>Copies <paramref name="from"/> into <paramref name="into"/>, objects field by field, everything else replaced.</summary>
    public static void Merge(System.Text.Json.Nodes.JsonObject into, System.Text.Json.Nodes.JsonObject from)
    {
        foreach (var (key, value) in from)
        {
            if (value is System.Text.Json.Nodes.JsonObject o && into[key] is System.Text.Json.Nodes.JsonObject target) Merge(target, o);
            else into[key] = value?.DeepClone();
        }
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
