using System.Globalization;

namespace FactTrace.Reporting;

/// <summary>What the seeds of a run say about one claim (see <see cref="SeedVerdict.Judge"/>).</summary>
/// <param name="Seeds">Seeds with a measured effect (degenerate ones, e.g. a Gini over fewer than 2 components, left out).</param>
/// <param name="Agreeing">Seeds whose effect is in the claim's direction (&gt; 0).</param>
/// <param name="Mean">Mean effect over the measured seeds.</param>
/// <param name="Sd">Sample sd of the effect over the measured seeds (0 for one seed).</param>
/// <param name="SignTestP">One-sided sign-test p-value (used from <see cref="SeedVerdict.SignTestSeeds"/> seeds on).</param>
public sealed record SeedEvidence(int Seeds, int Agreeing, double Mean, double Sd, double? SignTestP, Verdict Verdict, string Text);

/// <summary>
/// The noise-aware verdict of a claim over seeds. The input is one effect per seed, signed so that a positive value
/// is the claim's direction beyond its own threshold (e.g. mixed QA-OOD minus two-stage minus 20 points), or null where
/// the statistic is degenerate in that seed. Rules: one seed cannot test a claim ("1 seed: not testable"); otherwise
/// "held" needs the effect in every seed (below <see cref="SignTestSeeds"/> seeds) or a one-sided sign test at the 5%
/// level (from <see cref="SignTestSeeds"/> seeds on), and a mean effect larger than the seed spread (its sd).
/// </summary>
public static class SeedVerdict
{
    public const int SignTestSeeds = 6;
    public const double Alpha = 0.05;

    public static SeedEvidence Judge(IReadOnlyList<double?> effects)
    {
        var xs = effects.Where(e => e is { } v && double.IsFinite(v)).Select(e => e!.Value).ToList();
        int n = xs.Count, agree = xs.Count(x => x > 0);
        if (n == 0) return new SeedEvidence(0, 0, double.NaN, double.NaN, null, Verdict.NotMeasured, "n/a (no seed measured it)");
        var mean = xs.Average();
        var sd = n < 2 ? 0 : Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (n - 1));
        string Of() => $"{agree} of {n} seeds agree";
        if (n == 1) return new SeedEvidence(1, agree, mean, 0, null, Verdict.NotMeasured, "1 seed: not testable");
        double? p = n >= SignTestSeeds ? SignTestP(agree, n) : null;
        var direction = p is { } pv ? pv < Alpha : agree == n;
        var margin = mean > sd;
        var verdict = direction && margin ? Verdict.Held : Verdict.NotHeld;
        var why = !direction
            ? (p is { } q ? $"{Of()} (sign test p = {q.ToString("0.###", CultureInfo.InvariantCulture)})" : Of())
            : !margin ? $"{Of()}, but the mean effect is within the seed spread" : Of();
        return new SeedEvidence(n, agree, mean, sd, p, verdict, why);
    }

    /// <summary>P(X &gt;= k) for X ~ Binomial(n, 1/2): the one-sided sign test of k positive effects out of n.</summary>
    public static double SignTestP(int k, int n)
    {
        double p = 0, c = 1; // c = C(n, i)
        for (int i = 0; i <= n; i++)
        {
            if (i >= k) p += c;
            c = c * (n - i) / (i + 1);
        }
        return p / Math.Pow(2, n);
    }
}
