using System.Globalization;

namespace FactTrace.Reporting;

/// <summary>A mean over seeds with its sample standard deviation (0 for one seed) and the number of values.</summary>
public readonly record struct Stat(double Mean, double Sd, int N)
{
    /// <summary>The statistic of the finite values; null when there are none.</summary>
    public static Stat? Of(IEnumerable<double?> values)
    {
        var xs = values.Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).ToList();
        if (xs.Count == 0) return null;
        var mean = xs.Average();
        var sd = xs.Count > 1 ? Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1)) : 0;
        return new Stat(mean, sd, xs.Count);
    }

    public static Stat? Of(IEnumerable<double> values) => Of(values.Select(v => (double?)v));

    /// <summary>
    /// Pools per-seed (mean, sd over draws) pairs into one spread over draws and seeds: the law of total variance with
    /// equal weights, sqrt(mean of within-seed variances + variance of the seed means).
    /// </summary>
    public static Stat? Pooled(IEnumerable<(double Mean, double Sd)> perSeed)
    {
        var xs = perSeed.Where(p => double.IsFinite(p.Mean)).ToList();
        if (xs.Count == 0) return null;
        var mean = xs.Average(p => p.Mean);
        var within = xs.Average(p => double.IsFinite(p.Sd) ? p.Sd * p.Sd : 0);
        var between = xs.Count > 1 ? xs.Sum(p => (p.Mean - mean) * (p.Mean - mean)) / (xs.Count - 1) : 0;
        return new Stat(mean, Math.Sqrt(within + between), xs.Count);
    }

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>"12.3%" or "12.3 ± 1.0%" (fractions shown as percent).</summary>
    public string Percent(int decimals = 1) => Sd > 0 || N > 1
        ? $"{(100 * Mean).ToString("F" + decimals, Inv)} ± {(100 * Sd).ToString("F" + decimals, Inv)}%"
        : (100 * Mean).ToString("F" + decimals, Inv) + "%";

    /// <summary>"1234" or "1234 ± 56" with <paramref name="format"/>.</summary>
    public string Number(string format = "N0") => Sd > 0 || N > 1
        ? $"{Mean.ToString(format, Inv)} ± {Sd.ToString(format, Inv)}"
        : Mean.ToString(format, Inv);

    public static string Percent(Stat? s, int decimals = 1) => s is { } v ? v.Percent(decimals) : "n/a";
    public static string Number(Stat? s, string format = "N0") => s is { } v ? v.Number(format) : "n/a";
}
