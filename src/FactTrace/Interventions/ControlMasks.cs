using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using static TorchSharp.torch;

namespace FactTrace.Interventions;

/// <summary>
/// Control masks for ablation, all deterministic by (seed, draw):
/// <list type="bullet">
/// <item><see cref="RandomLike"/>: uniform random elements with exactly the same count as a given mask in every
/// matrix, where a matrix is one (parameter, component): GPT-NeoX's fused query_key_value is three matrices (its q,
/// k and v rows), so the control matches S's split over q, k and v but not its split over heads.</item>
/// <item><see cref="Subsample"/>: a uniform subset of a mask (TopK_BIO \ S cut to |S|).</item>
/// <item><see cref="Heads"/>: every parameter of whole attention heads.</item>
/// </list>
/// </summary>
public static class ControlMasks
{
    /// <summary>Draw <paramref name="draw"/> of the random control of <paramref name="like"/> (stream "ablate-random").</summary>
    public static ParameterMask RandomLike(ParameterMask like, ParameterMap map, long seed, int draw)
    {
        var rng = new Rng(seed, "ablate-random", draw);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var p in map.Parameters)
        {
            if (!like.Tensors.TryGetValue(p.Name, out var m)) continue;
            var bytes = new byte[p.NumEl];
            if (like.CountOf(p.Name) > 0)
            {
                // Per component of this parameter: its count in the mask, through the map (fused qkv: q, k, v rows).
                var perComponent = map.SumByLayerComponent(new Dictionary<string, Tensor> { [p.Name] = m });
                var epi = p.ElementsPerIndex(0);
                foreach (var c in p.Components)
                {
                    var count = (long)Math.Round(perComponent[(p.Layer, c)]);
                    var ranges = p.Blocks.Where(b => b.Component == c).Select(b => (Start: b.Start * epi, Length: b.Length * epi)).ToList();
                    SelectUniform(bytes, ranges, count, rng);
                }
            }
            result[p.Name] = FromBytes(bytes, p.Shape);
        }
        return new ParameterMask(result);
    }

    /// <summary>
    /// <paramref name="count"/> elements of <paramref name="source"/> chosen uniformly (all of it if it holds fewer),
    /// enumerated in map order then flat index.
    /// </summary>
    public static ParameterMask Subsample(ParameterMask source, ParameterMap map, long count, Rng rng)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var total = source.Count;
        long remainingPool = total, needed = Math.Min(count, total);
        foreach (var p in map.Parameters)
        {
            if (!source.Tensors.TryGetValue(p.Name, out var m)) continue;
            var bytes = new byte[p.NumEl];
            if (source.CountOf(p.Name) > 0)
            {
                using var scope = NewDisposeScope();
                var idx = m.reshape(-1).nonzero().reshape(-1).data<long>().ToArray();
                foreach (var i in idx)
                {
                    if (needed > 0 && (long)rng.NextULong((ulong)remainingPool) < needed) { bytes[i] = 1; needed--; }
                    remainingPool--;
                }
            }
            result[p.Name] = FromBytes(bytes, p.Shape);
        }
        return new ParameterMask(result);
    }

    /// <summary>
    /// Every parameter of the given (layer, query head)s, as the map assigns them (<see cref="ParameterMap.QueryHeadSlices"/>):
    /// q rows (and bias), o columns, and without grouped-query attention also the head's own k and v rows. With
    /// grouped-query attention the shared k/v of a group are left alone (they serve other heads too).
    /// </summary>
    public static ParameterMask Heads(ParameterMap map, IEnumerable<(int Layer, int Head)> heads)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Tensor For(ParameterInfo p) =>
            result.TryGetValue(p.Name, out var t) ? t : result[p.Name] = zeros(p.Shape, ScalarType.Bool);
        using var noGrad = no_grad();
        foreach (var (layer, head) in heads)
        {
            foreach (var (p, s) in map.QueryHeadSlices(layer, head))
            {
                using var view = For(p).narrow(s.Dim, s.Start, s.Length);
                view.fill_(true);
            }
        }
        return new ParameterMask(result);
    }

    /// <summary>Selection sampling (Knuth's algorithm S): exactly <paramref name="count"/> of the elements in the ranges, uniformly.</summary>
    static void SelectUniform(byte[] bytes, List<(long Start, long Length)> ranges, long count, Rng rng)
    {
        var n = ranges.Sum(r => r.Length);
        if (count > n) throw new InvalidOperationException($"cannot draw {count} of {n} elements");
        long needed = count, left = n;
        foreach (var (start, length) in ranges)
            for (var i = start; i < start + length && needed > 0; i++, left--)
                if ((long)rng.NextULong((ulong)left) < needed) { bytes[i] = 1; needed--; }
    }

    static Tensor FromBytes(byte[] bytes, long[] shape)
    {
        using var t = tensor(bytes, ScalarType.Byte);
        return t.reshape(shape).to(ScalarType.Bool);
    }
}
