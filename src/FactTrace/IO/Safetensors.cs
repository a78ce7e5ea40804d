using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.IO;

/// <summary>
/// Reads and writes safetensors files (weights, traces, masks). Never pickle. Reading validates the whole header
/// first (see <see cref="SafetensorsFile"/>); writing is atomic.
/// </summary>
public static class Safetensors
{
    /// <summary>All tensors of a file, CPU, in the file's dtypes. The caller owns them.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var name in file.Entries.Keys) result[name] = file.Read(name);
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return result;
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device, any layout; stored contiguous, little-endian) sorted by name, with
    /// metadata {"format": "pt"} plus <paramref name="metadata"/>. The header is padded to a multiple of 8 bytes.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var items = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        foreach (var (name, _) in items)
            if (name.Length == 0 || name == "__metadata__") throw new ArgumentException($"invalid tensor name '{name}'");
        if (items.Select(kv => kv.Key).Distinct(StringComparer.Ordinal).Count() != items.Count)
            throw new ArgumentException("duplicate tensor names");

        var header = BuildHeader(items, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var (_, tensor) in items)
            {
                using var scope = NewDisposeScope();
                var t = tensor.detach().cpu().contiguous();
                SafetensorsFile.ForEachChunk(t, span => stream.Write(span));
            }
        });
    }

    static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> items, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            w.WriteString("format", "pt");
            if (metadata is not null)
                foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    if (k != "format") w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (var (name, t) in items)
            {
                var dtype = SafetensorsDtype.FromScalarType(t.dtype);
                var bytes = t.numel() * SafetensorsDtype.Size(dtype);
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                foreach (var d in t.shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        var json = ms.ToArray();
        var padded = (json.Length + 7) / 8 * 8;
        var header = new byte[padded];
        json.CopyTo(header, 0);
        header.AsSpan(json.Length).Fill((byte)' ');
        return header;
    }
}
