using FactTrace.IO;
using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Tracing;

/// <summary>
/// Exact top-k selection over per-parameter score tensors, without concatenating them.
/// <para>
/// k: global scope k = round(rho * N) (at least 1) over the N considered elements; per-matrix scope k_p = round(rho *
/// n_p) in each parameter tensor (0 for small tensors at small rho), and k = sum of k_p. Rounding is half away from
/// zero.
/// </para>
/// <para>
/// The k-th largest value v is found by bisection on the IEEE-754 bit pattern: scores are non-negative, and for
/// non-negative floats the order of the int32 bit patterns is the order of the values, so 31 passes that count
/// <c>score &gt;= candidate</c> per tensor find v exactly. Every element &gt; v is selected; the remaining places go to
/// elements equal to v in the tie order: parameter order (the model map's, i.e. HF named_parameters order), then
/// ascending flat (row-major) index. Exactly k elements are selected.
/// </para>
/// </summary>
public static class TopK
{
    public static long K(double rho, long n, bool atLeastOne)
    {
        if (!(rho > 0 && rho <= 1)) throw FactTraceException.Usage($"rho must be in (0, 1] (got {rho})");
        var k = (long)Math.Round(rho * n, MidpointRounding.AwayFromZero);
        return Math.Clamp(k, atLeastOne && n > 0 ? 1 : 0, n);
    }

    /// <summary>The top elements of <paramref name="scores"/> restricted to <paramref name="candidates"/> (in tie order).</summary>
    public static ParameterMask Select(IReadOnlyDictionary<string, Tensor> scores, IReadOnlyList<ParameterInfo> candidates,
        double rho, TopKScope scope)
    {
        foreach (var p in candidates) Check(scores, p);
        if (scope == TopKScope.Global)
        {
            var n = candidates.Sum(p => p.NumEl);
            return SelectK(scores, candidates.Select(p => p.Name).ToList(), K(rho, n, atLeastOne: true));
        }
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var p in candidates)
        {
            using var one = SelectK(scores, [p.Name], K(rho, p.NumEl, atLeastOne: false));
            result[p.Name] = one.Tensors[p.Name].clone();
        }
        return new ParameterMask(result);
    }

    /// <summary>The k per scope (what <see cref="Select"/> takes), without selecting.</summary>
    public static long KFor(IReadOnlyList<ParameterInfo> candidates, double rho, TopKScope scope) =>
        scope == TopKScope.Global
            ? K(rho, candidates.Sum(p => p.NumEl), atLeastOne: true)
            : candidates.Sum(p => K(rho, p.NumEl, atLeastOne: false));

    /// <summary>Exactly <paramref name="k"/> elements of the named tensors, largest first, ties by (name order, flat index).</summary>
    public static ParameterMask SelectK(IReadOnlyDictionary<string, Tensor> scores, IReadOnlyList<string> names, long k)
    {
        var total = names.Sum(n => scores[n].numel());
        if (k < 0 || k > total) throw new ArgumentOutOfRangeException(nameof(k), k, $"must be in [0, {total}]");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (k == 0)
        {
            foreach (var n in names) result[n] = zeros(scores[n].shape, ScalarType.Bool);
            return new ParameterMask(result);
        }
        var v = KthLargest(scores, names, k);
        long taken = 0;
        foreach (var n in names)
        {
            using var scope = NewDisposeScope();
            var m = scores[n].gt(v);
            taken += m.sum().item<long>();
            result[n] = m.DetachFromDisposeScope();
        }
        var need = k - taken; // > 0: at least one element equals v
        foreach (var n in names)
        {
            if (need == 0) break;
            using var scope = NewDisposeScope();
            var eq = scores[n].eq(v).reshape(-1);
            var count = eq.sum().item<long>();
            if (count == 0) continue;
            var flat = result[n].view(-1);
            if (count <= need)
            {
                flat.logical_or_(eq);
                need -= count;
            }
            else
            {
                var idx = eq.nonzero().reshape(-1)[..(int)need]; // ascending flat indices
                flat.index_put_(tensor(true), idx);
                need = 0;
            }
        }
        if (need != 0) throw new InvalidOperationException($"top-k selection left {need} places unfilled");
        return new ParameterMask(result);
    }

    /// <summary>The k-th largest value among the named tensors (1 = the maximum), by bisection on the bit pattern.</summary>
    public static float KthLargest(IReadOnlyDictionary<string, Tensor> scores, IReadOnlyList<string> names, long k)
    {
        long CountAtLeast(float x)
        {
            using var scope = NewDisposeScope();
            long c = 0;
            foreach (var n in names) c += scores[n].ge(x).sum().item<long>();
            return c;
        }
        // Largest bit pattern b in [0, +inf] with count(score >= f(b)) >= k. f(0) = 0 qualifies (all scores are >= 0);
        // 0x7F800001 is a NaN, which no comparison satisfies.
        int lo = 0, hi = 0x7F800001;
        while (hi - lo > 1)
        {
            var mid = lo + (hi - lo) / 2;
            if (CountAtLeast(BitConverter.Int32BitsToSingle(mid)) >= k) lo = mid;
            else hi = mid;
        }
        return BitConverter.Int32BitsToSingle(lo);
    }

    static void Check(IReadOnlyDictionary<string, Tensor> scores, ParameterInfo p)
    {
        if (!scores.TryGetValue(p.Name, out var t)) throw new FactTraceException($"scores lack parameter '{p.Name}'");
        if (!t.shape.SequenceEqual(p.Shape))
            throw new FactTraceException($"scores of '{p.Name}' have shape [{string.Join(", ", t.shape)}], the parameter is [{string.Join(", ", p.Shape)}]");
        if (t.dtype != ScalarType.Float32) throw new FactTraceException($"scores of '{p.Name}' are {t.dtype}, expected float32");
        using var scope = NewDisposeScope();
        if (t.isnan().logical_or(t.lt(0)).any().item<bool>()) throw new FactTraceException($"scores of '{p.Name}' hold NaN or negative values");
    }
}
