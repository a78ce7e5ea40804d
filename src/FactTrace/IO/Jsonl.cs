using System.Text;
using System.Text.Json;

namespace FactTrace.IO;

/// <summary>JSON Lines: one object per line, snake_case, '\n' endings, written atomically; read strictly with line numbers.</summary>
public static class Jsonl
{
    /// <summary>Reading options: missing required fields and nulls in non-nullable fields are errors, not defaults.</summary>
    public static readonly JsonSerializerOptions Strict = new(Json.Line)
    {
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public static void Write<T>(string path, IEnumerable<T> items) => AtomicFile.Write(path, stream =>
    {
        // One writer reused for every line; the serializer writes straight into the file's buffer.
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = Json.Line.Encoder, Indented = false });
        foreach (var item in items)
        {
            JsonSerializer.Serialize(writer, item, Json.Line);
            writer.Flush();
            stream.WriteByte((byte)'\n');
            writer.Reset(stream);
        }
    });

    /// <summary>
    /// Reads every line of <paramref name="path"/> as a <typeparamref name="T"/>. <paramref name="check"/> may return a
    /// reason to reject an item. Any failure is a one-line <see cref="FactTraceException"/> naming the file and line.
    /// </summary>
    public static List<T> Read<T>(string path, Func<T, int, string?>? check = null)
    {
        if (!File.Exists(path)) throw new FactTraceException($"'{path}' not found");
        var items = new List<T>();
        var n = 0;
        try
        {
            using var reader = new StreamReader(path, StrictUtf8, detectEncodingFromByteOrderMarks: false, 1 << 16);
            while (reader.ReadLine() is { } line)
            {
                n++;
                if (line.Length == 0) throw Fail(path, n, "empty line");
                T item;
                try
                {
                    item = JsonSerializer.Deserialize<T>(line, Strict) ?? throw Fail(path, n, "null instead of an object");
                }
                catch (JsonException e)
                {
                    throw Fail(path, n, $"invalid {typeof(T).Name}: {e.Message.Split('\n')[0].Trim()}");
                }
                if (check?.Invoke(item, n) is { } why) throw Fail(path, n, why);
                items.Add(item);
            }
        }
        catch (DecoderFallbackException)
        {
            // The decoder works ahead of the line being parsed: find the line with the bad bytes.
            throw Fail(path, FirstInvalidUtf8Line(path), "not valid UTF-8");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FactTraceException($"'{path}' cannot be read ({e.Message})");
        }
        return items;
    }

    /// <summary>UTF-8 without a byte-order mark that throws on invalid bytes instead of replacing them.</summary>
    public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The 1-based number of the first line of <paramref name="path"/> that is not valid UTF-8 (0 if none).</summary>
    public static int FirstInvalidUtf8Line(string path)
    {
        var bytes = File.ReadAllBytes(path).AsSpan();
        for (int n = 1; ; n++)
        {
            var end = bytes.IndexOf((byte)'\n');
            var line = end < 0 ? bytes : bytes[..end];
            if (!System.Text.Unicode.Utf8.IsValid(line)) return n;
            if (end < 0) return 0;
            bytes = bytes[(end + 1)..];
        }
    }

    static FactTraceException Fail(string path, int line, string why) => new($"{path} line {line}: {why}");
}
