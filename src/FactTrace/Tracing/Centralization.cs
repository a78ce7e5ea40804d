using System.Text.Json.Serialization;

namespace FactTrace.Tracing;

/// <summary>
/// How concentrated a non-negative quantity (shared parameters per head or per neuron) is over units. Every field is
/// null when the quantity sums to 0.
/// <list type="bullet">
/// <item><c>entropy</c>: Shannon entropy of the shares p_i = x_i / sum x, divided by ln(n) (1 = spread evenly over
/// all n units, 0 = all in one unit).</item>
/// <item><c>gini</c>: Gini coefficient of x over the n units (0 = even, (n-1)/n = all in one unit).</item>
/// <item><c>top10_share</c>: the share of sum x held by the 10 largest units (1 when n &lt;= 10).</item>
/// </list>
/// </summary>
public sealed record Centralization(
    [property: JsonPropertyName("entropy"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Entropy,
    [property: JsonPropertyName("gini"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Gini,
    [property: JsonPropertyName("top10_share"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Top10Share)
{
    public static Centralization Of(IReadOnlyCollection<double> values)
    {
        var x = values.ToArray();
        if (x.Any(v => v < 0 || double.IsNaN(v))) throw new ArgumentException("values must be non-negative");
        var n = x.Length;
        var sum = x.Sum();
        if (n == 0 || sum <= 0) return new Centralization(null, null, null);

        var h = 0.0;
        foreach (var v in x)
            if (v > 0) { var p = v / sum; h -= p * Math.Log(p); }
        var entropy = n > 1 ? h / Math.Log(n) : 0.0;

        Array.Sort(x); // ascending
        var weighted = 0.0;
        for (var i = 0; i < n; i++) weighted += (i + 1) * x[i];
        var gini = 2 * weighted / (n * sum) - (n + 1.0) / n;

        var top = 0.0;
        for (var i = n - 1; i >= Math.Max(0, n - 10); i--) top += x[i];
        return new Centralization(entropy, gini, top / sum);
    }
}
