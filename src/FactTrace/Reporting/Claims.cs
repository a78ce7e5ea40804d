using System.Globalization;

namespace FactTrace.Reporting;

/// <summary>NotTestable: one seed (or one measured seed) cannot tell an effect from seed noise.</summary>
public enum Verdict { Held, NotHeld, NotMeasured, NotTestable }

/// <summary>
/// One row of the headline table. <see cref="Verdict"/> is the claim's verdict: the criterion on the means over seeds
/// (<see cref="OnMeans"/>) and, where per-seed effects are given, the seeds' evidence (<see cref="Seeds"/>).
/// </summary>
public sealed record ClaimResult(string Id, string Claim, string Criterion, string TwoStage, string Mixed, Verdict Verdict, string? Note = null,
    Verdict? OnMeans = null, SeedEvidence? Seeds = null)
{
    public static string Text(Verdict v) => v switch
    {
        Verdict.Held => "held", Verdict.NotHeld => "not held", Verdict.NotTestable => "1 seed: not testable", _ => "not measured",
    };

    /// <summary>What the seeds say ("3 of 3 seeds agree", "1 seed", ...), or "" when no per-seed effects were given.</summary>
    public string SeedsText => Seeds is not { } e ? "" : e.Seeds <= 1
        ? $"{e.Seeds} seed{(e.Seeds == 1 ? $"; criterion {(OnMeans == Verdict.Held ? "met" : "not met")} in it" : "s")}"
        : e.Text;
}

/// <summary>Ablation numbers of one model: QA-OOD with nothing reset, with S reset, and with random sets reset.</summary>
public sealed record AblationSummary(Stat? None, Stat? Shared, Stat? Random);

/// <summary>The numbers the paper's claims are judged on (means and sds over seeds; null where not measured).</summary>
public sealed record ClaimInputs
{
    public double HeadlineRho { get; init; } = 0.01;
    public Stat? QaOodTwoStage { get; init; }
    public Stat? QaOodMixed { get; init; }
    /// <summary>|S| at the headline rho.</summary>
    public Stat? SharedTwoStage { get; init; }
    public Stat? SharedMixed { get; init; }
    /// <summary>Rhos of the sweep measured for both, and at how many of them mixed's |S| is larger.</summary>
    public int RhosCompared { get; init; }
    public int RhosMixedLarger { get; init; }
    public Stat? GiniHeadsTwoStage { get; init; }
    public Stat? GiniHeadsMixed { get; init; }
    public Stat? GiniNeuronsTwoStage { get; init; }
    public Stat? GiniNeuronsMixed { get; init; }
    public AblationSummary? AblationTwoStage { get; init; }
    public AblationSummary? AblationMixed { get; init; }
    /// <summary>
    /// Per claim id (ood, size, centralization, ablation), one effect per seed: positive when that seed meets the
    /// claim's criterion, by how much (see <see cref="Claims"/> for each); null for a seed where it is not measured or
    /// degenerate. Without an entry a claim is judged on the means alone.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<double?>> SeedEffects { get; init; } = new Dictionary<string, IReadOnlyList<double?>>();
}

/// <summary>
/// The paper's four claims, each with a criterion fixed in advance and judged on our numbers (never by hand).
/// </summary>
public static class Claims
{
    /// <summary>Claim 1: "far better" = at least this many points (as a fraction) ...</summary>
    public const double OodGap = 0.20;
    /// <summary>... and at least this ratio.</summary>
    public const double OodRatio = 2.0;
    /// <summary>Claim 4: "far more" = the drop from resetting S exceeds the random drop by at least this (fraction) and two random sds.</summary>
    public const double AblationMargin = 0.10;

    /// <summary>Comparisons at a threshold allow this much rounding (the numbers are fractions of a few thousand answers).</summary>
    const double Eps = 1e-9;

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static string Pts(double x) => (100 * x).ToString("F1", Inv);

    /// <summary>The per-seed effect of claim 1: how far a seed's QA-OOD pair clears both thresholds (min of the two margins).</summary>
    public static double OodEffect(double twoStage, double mixed) => Math.Min(mixed - twoStage - OodGap, mixed - OodRatio * twoStage) + Eps;

    /// <summary>The per-seed effect of claim 4: mixed's drop from S minus the random drop, minus the required margin.</summary>
    public static double AblationEffect(double none, double shared, double random, double randomSd) =>
        (none - shared) - (none - random) - Math.Max(AblationMargin, 2 * randomSd) + Eps;

    /// <summary>The claims with their verdicts: the criteria on the means, then the seeds' evidence (<see cref="SeedVerdict"/>).</summary>
    public static IReadOnlyList<ClaimResult> Evaluate(ClaimInputs x) => OnMeans(x).Select(r =>
    {
        if (r.Verdict == Verdict.NotMeasured || !x.SeedEffects.TryGetValue(r.Id, out var effects)) return r with { OnMeans = r.Verdict };
        var e = SeedVerdict.Judge(effects);
        var verdict = e.Seeds <= 1 ? Verdict.NotTestable : r.Verdict == Verdict.Held && e.Verdict == Verdict.Held ? Verdict.Held : Verdict.NotHeld;
        return r with { Verdict = verdict, OnMeans = r.Verdict, Seeds = e };
    }).ToList();

    static IReadOnlyList<ClaimResult> OnMeans(ClaimInputs x)
    {
        var rho = (100 * x.HeadlineRho).ToString("0.###", Inv) + "%";
        var rows = new List<ClaimResult>();

        // 1. Generalization to OOD people.
        {
            var verdict = Verdict.NotMeasured;
            if (x.QaOodTwoStage is { } t && x.QaOodMixed is { } m)
                verdict = m.Mean - t.Mean >= OodGap - Eps && m.Mean >= OodRatio * t.Mean - Eps ? Verdict.Held : Verdict.NotHeld;
            rows.Add(new ClaimResult("ood",
                "Mixed training answers questions about OOD people far better than two-stage training (paper: 88.6% vs 9.7%)",
                $"QA-OOD: mixed - two-stage >= {Pts(OodGap)} points and mixed >= {OodRatio:0.#} x two-stage",
                Stat.Percent(x.QaOodTwoStage), Stat.Percent(x.QaOodMixed), verdict));
        }

        // 2. Size of the shared set.
        {
            var verdict = Verdict.NotMeasured;
            if (x.SharedTwoStage is { } t && x.SharedMixed is { } m) verdict = m.Mean > t.Mean ? Verdict.Held : Verdict.NotHeld;
            rows.Add(new ClaimResult("size",
                "Mixed training yields a larger set S of shared parameters",
                $"|S| at rho = {rho}: mixed > two-stage",
                Stat.Number(x.SharedTwoStage), Stat.Number(x.SharedMixed), verdict,
                x.RhosCompared > 0 ? $"mixed larger at {x.RhosMixedLarger} of {x.RhosCompared} rhos of the sweep" : null));
        }

        // 3. Centralization.
        {
            var pairs = new[] { (x.GiniHeadsTwoStage, x.GiniHeadsMixed), (x.GiniNeuronsTwoStage, x.GiniNeuronsMixed) }
                .Where(p => p.Item1 is not null && p.Item2 is not null).ToList();
            var verdict = pairs.Count == 0 ? Verdict.NotMeasured
                : pairs.All(p => p.Item2!.Value.Mean > p.Item1!.Value.Mean) ? Verdict.Held : Verdict.NotHeld;
            string Both(Stat? heads, Stat? neurons) => $"Gini heads {Stat.Number(heads, "F3")}, neurons {Stat.Number(neurons, "F3")}";
            rows.Add(new ClaimResult("centralization",
                "Mixed training's shared set is more centralized (in few heads and neurons)",
                $"Gini coefficient of S over heads and over neurons at rho = {rho}: mixed > two-stage for each measured",
                Both(x.GiniHeadsTwoStage, x.GiniNeuronsTwoStage), Both(x.GiniHeadsMixed, x.GiniNeuronsMixed), verdict));
        }

        // 4. Ablation: resetting S vs random sets of the same size, for the mixed model.
        {
            var verdict = Verdict.NotMeasured;
            string? note = null;
            if (Drops(x.AblationMixed) is { } d)
            {
                var margin = Math.Max(AblationMargin, 2 * d.RandomSd);
                verdict = d.Shared - d.Random >= margin - Eps ? Verdict.Held : Verdict.NotHeld;
                note = $"required margin for mixed: {Pts(margin)} points";
            }
            rows.Add(new ClaimResult("ablation",
                "Resetting S hurts mixed training's QA-OOD far more than resetting random sets of the same size",
                $"mixed: QA-OOD drop from resetting S - drop from random sets >= max({Pts(AblationMargin)} points, 2 sd of the random drops)",
                DropText(x.AblationTwoStage), DropText(x.AblationMixed), verdict, note));
        }
        return rows;
    }

    /// <summary>QA-OOD drops (fractions) from resetting S and from random sets, and the random drops' sd.</summary>
    public static (double Shared, double Random, double RandomSd)? Drops(AblationSummary? a)
    {
        if (a is not { None: { } none, Shared: { } shared, Random: { } random }) return null;
        return (none.Mean - shared.Mean, none.Mean - random.Mean, random.Sd);
    }

    static string DropText(AblationSummary? a) => Drops(a) is { } d
        ? $"drop {Pts(d.Shared)} points (S) vs {Pts(d.Random)} ± {Pts(d.RandomSd)} (random)"
        : "n/a";
}
