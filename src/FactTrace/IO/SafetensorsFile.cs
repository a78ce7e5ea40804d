using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.IO;

/// <summary>One tensor's header entry: dtype name as in the file ("F32", "BF16", ...), shape and byte range in the data area.</summary>
public sealed record SafetensorsEntry(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public ScalarType ScalarType => SafetensorsDtype.ToScalarType(Dtype);
    public long ByteLength => End - Begin;
}

/// <summary>
/// A safetensors file whose header has been fully validated before any tensor is read: 8-byte little-endian header
/// length (within the file and under <see cref="MaxHeaderBytes"/>), JSON header {name: {dtype, shape, data_offsets}},
/// known dtypes, offsets inside the data area, no overlaps, and each byte length equal to numel * dtype size.
/// Tensors are read one at a time, so a large checkpoint can be copied into a model without holding it twice.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    public const long MaxHeaderBytes = 100L << 20;
    /// <summary>Largest span read or written at once (spans are int-sized).</summary>
    const long ChunkBytes = 1L << 30;

    readonly FileStream stream;
    readonly long dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    SafetensorsFile(string path, FileStream stream, long dataStart, Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        this.stream = stream;
        this.dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FactTraceException($"safetensors file '{path}' not found");
        FileStream stream;
        try { stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FactTraceException($"safetensors file '{path}' cannot be read ({e.Message})");
        }
        try
        {
            var (dataStart, entries, metadata) = ReadHeader(path, stream);
            return new SafetensorsFile(path, stream, dataStart, entries, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads one tensor (CPU, the file's dtype). The caller owns it.</summary>
    public Tensor Read(string name)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new FactTraceException($"safetensors file '{Path}' has no tensor '{name}'");
        var t = empty(e.Shape, e.ScalarType);
        try
        {
            stream.Position = dataStart + e.Begin;
            ForEachChunk(t, span => stream.ReadExactly(span));
            return t;
        }
        catch (EndOfStreamException)
        {
            t.Dispose();
            throw new FactTraceException($"safetensors file '{Path}' is truncated: tensor '{name}' ends past the end of the file");
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    public void Dispose() => stream.Dispose();

    /// <summary>Calls <paramref name="action"/> on the raw bytes of a contiguous CPU tensor, in spans of at most 1 GiB.</summary>
    internal static void ForEachChunk(Tensor t, SpanAction action)
    {
        if (t.numel() == 0) return;
        using var flat = t.view(-1);
        var perChunk = Math.Max(1, ChunkBytes / t.ElementSize);
        for (long start = 0; start < flat.shape[0]; start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, flat.shape[0] - start));
            action(part.bytes);
        }
    }

    internal delegate void SpanAction(Span<byte> bytes);

    static (long, Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ReadHeader(string path, FileStream stream)
    {
        FactTraceException Bad(string why) => new($"safetensors file '{path}' {why}");

        var fileLength = stream.Length;
        if (fileLength < 8) throw Bad($"is truncated: {fileLength} bytes, shorter than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > (ulong)MaxHeaderBytes)
            throw Bad($"has an implausible header length ({headerLength} bytes; limit {MaxHeaderBytes}): not a safetensors file or corrupt");
        if (8 + (long)headerLength > fileLength)
            throw Bad($"is truncated: header length {headerLength} exceeds the {fileLength - 8} bytes after the length field");

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw Bad($"has a header that is not valid JSON: {e.Message.Split('\n')[0]}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad("has a header that is not a JSON object");

        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                if (p.Value.ValueKind != JsonValueKind.Object) throw Bad("has a __metadata__ that is not an object");
                foreach (var m in p.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                continue;
            }
            entries[p.Name] = ParseEntry(p.Name, p.Value, dataLength, Bad);
        }

        // No two tensors may share bytes.
        SafetensorsEntry? previous = null;
        foreach (var e in entries.Values.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin))
        {
            if (previous is not null && e.Begin < previous.End)
                throw Bad($"is corrupt: tensors '{previous.Name}' [{previous.Begin}, {previous.End}) and '{e.Name}' [{e.Begin}, {e.End}) overlap");
            previous = e;
        }
        return (dataStart, entries, metadata);
    }

    static SafetensorsEntry ParseEntry(string name, JsonElement v, long dataLength, Func<string, FactTraceException> bad)
    {
        if (v.ValueKind != JsonValueKind.Object) throw bad($"is corrupt: entry '{name}' is not an object");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw bad($"is corrupt: tensor '{name}' has no dtype");
        var dtype = dt.GetString()!;
        if (!SafetensorsDtype.IsKnown(dtype)) throw bad($"has tensor '{name}' with unsupported dtype '{dtype}'");

        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw bad($"is corrupt: tensor '{name}' has no shape");
        var shape = new long[sh.GetArrayLength()];
        var i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out var n) || n < 0)
                throw bad($"is corrupt: tensor '{name}' has an invalid shape {sh.GetRawText()}");
            shape[i++] = n;
        }

        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw bad($"is corrupt: tensor '{name}' has no data_offsets [begin, end]");
        var o = off.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var n) ? n : -1).ToArray();
        var (begin, end) = (o[0], o[1]);
        if (begin < 0 || end < begin) throw bad($"is corrupt: tensor '{name}' has invalid data_offsets {off.GetRawText()}");
        if (end > dataLength)
            throw bad($"is truncated or corrupt: tensor '{name}' data [{begin}, {end}) lies outside the {dataLength}-byte data area");

        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, b) => a * b) * SafetensorsDtype.Size(dtype)); }
        catch (OverflowException) { throw bad($"is corrupt: tensor '{name}' shape {sh.GetRawText()} is too large"); }
        if (end - begin != expected)
            throw bad($"is corrupt: tensor '{name}' has {end - begin} bytes but {dtype} {sh.GetRawText()} needs {expected}");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }
}

/// <summary>Safetensors dtype names and their torch types.</summary>
public static class SafetensorsDtype
{
    static readonly Dictionary<string, (ScalarType Type, int Size)> Map = new(StringComparer.Ordinal)
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    public static bool IsKnown(string dtype) => Map.ContainsKey(dtype);
    public static int Size(string dtype) => Map[dtype].Size;
    public static ScalarType ToScalarType(string dtype) => Map[dtype].Type;

    public static string FromScalarType(ScalarType type)
    {
        foreach (var (name, v) in Map) if (v.Type == type) return name;
        throw new FactTraceException($"dtype {type} cannot be stored in a safetensors file");
    }
}
