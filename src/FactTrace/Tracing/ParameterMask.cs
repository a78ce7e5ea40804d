using FactTrace.IO;
using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Tracing;

/// <summary>
/// A set of scalar parameters: a bool tensor of the parameter's shape per HF name. A name that is absent holds no
/// element. Saved as safetensors (dtype BOOL, keyed by parameter name; loadable with safetensors in Python) with the
/// metadata given at save time. The mask owns its tensors.
/// </summary>
public sealed class ParameterMask : IDisposable
{
    readonly Dictionary<string, Tensor> tensors;
    readonly Dictionary<string, long> counts;

    /// <summary>Takes ownership of <paramref name="masks"/> (converted to bool if needed).</summary>
    public ParameterMask(Dictionary<string, Tensor> masks)
    {
        tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, t) in masks)
        {
            var b = t.dtype == ScalarType.Bool ? t : t.ne(0);
            if (!ReferenceEquals(b, t)) t.Dispose();
            b.DetachFromDisposeScope();
            tensors[name] = b;
            using var s = b.sum();
            counts[name] = s.item<long>();
        }
        Count = counts.Values.Sum();
    }

    public IReadOnlyDictionary<string, Tensor> Tensors => tensors;
    public long Count { get; }
    public long CountOf(string name) => counts.GetValueOrDefault(name);
    public IEnumerable<string> Names => tensors.Keys;

    /// <summary>Every element of the given parameters (or none: <paramref name="full"/> false).</summary>
    public static ParameterMask Uniform(IEnumerable<ParameterInfo> parameters, bool full) =>
        new(parameters.ToDictionary(p => p.Name, p => full ? ones(p.Shape, ScalarType.Bool) : zeros(p.Shape, ScalarType.Bool), StringComparer.Ordinal));

    public static ParameterMask Empty() => new([]);

    /// <summary>Number of elements in both masks.</summary>
    public long IntersectCount(ParameterMask other)
    {
        long n = 0;
        foreach (var (name, t) in tensors)
            if (other.tensors.TryGetValue(name, out var o))
            {
                using var s = t.logical_and(o).sum();
                n += s.item<long>();
            }
        return n;
    }

    public ParameterMask Intersect(ParameterMask other) =>
        new(tensors.Where(kv => other.tensors.ContainsKey(kv.Key))
            .ToDictionary(kv => kv.Key, kv => kv.Value.logical_and(other.tensors[kv.Key]), StringComparer.Ordinal));

    /// <summary>This mask's elements that are not in <paramref name="other"/>.</summary>
    public ParameterMask Except(ParameterMask other) =>
        new(tensors.ToDictionary(kv => kv.Key,
            kv => other.tensors.TryGetValue(kv.Key, out var o) ? kv.Value.logical_and(o.logical_not()) : kv.Value.clone(),
            StringComparer.Ordinal));

    public ParameterMask Union(ParameterMask other)
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in tensors.Keys.Union(other.tensors.Keys))
        {
            var a = tensors.GetValueOrDefault(name);
            var b = other.tensors.GetValueOrDefault(name);
            d[name] = a is null ? b!.clone() : b is null ? a.clone() : a.logical_or(b);
        }
        return new ParameterMask(d);
    }

    /// <summary>Writes BOOL tensors with string metadata (e.g. rho, task, scope).</summary>
    public void Save(string path, IReadOnlyDictionary<string, string>? metadata = null) => Safetensors.Write(path, tensors, metadata);

    /// <summary>Reads a mask file (BOOL or U8 tensors; any non-zero is a member) and its metadata.</summary>
    public static (ParameterMask Mask, IReadOnlyDictionary<string, string> Metadata) Load(string path)
    {
        IReadOnlyDictionary<string, string> meta;
        using (var f = SafetensorsFile.Open(path)) meta = f.Metadata;
        var raw = Safetensors.Read(path);
        foreach (var (name, t) in raw)
            if (t.dtype is not (ScalarType.Bool or ScalarType.Byte))
            {
                foreach (var x in raw.Values) x.Dispose();
                throw new FactTraceException($"mask file '{path}': tensor '{name}' is {t.dtype}, expected BOOL or U8");
            }
        return (new ParameterMask(raw), meta);
    }

    public void Dispose()
    {
        foreach (var t in tensors.Values) t.Dispose();
        tensors.Clear();
    }
}
