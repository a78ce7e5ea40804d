using FactTrace.Interventions;
using static FactTrace.Reporting.ReportContext;

namespace FactTrace.Reporting;

/// <summary>
/// The robustness table ("specification curve"): the size, centralization and reset claims under every trace variant
/// (kind x scope x rho, at the run's precision) that the robustness stages measured, each with its mean effect ± sd
/// over seeds, how many seeds agree, and the seed-aware verdict (<see cref="SeedVerdict"/>), so that a reader sees
/// which conclusions depend on which choice. Inputs: robustness/STRATEGY/robustness.json of every seed.
/// </summary>
static class RobustnessSections
{
    /// <summary>A variant: what the rows of one model's robustness.json are matched on across strategies and seeds.</summary>
    public sealed record Variant(string Score, string When, string Granularity, string Scope, double Rho, string Precision)
    {
        public string Text => $"{Score} ({(When == "during-training" ? "during training" : "post-hoc")}, {Granularity})";
    }

    /// <summary>The claims of the table, in order: id, column title, what the effect is.</summary>
    static readonly (string Id, string Title)[] Columns =
    [
        ("size", "|S| larger: (mixed - two-stage) / k"),
        ("heads", "more centralized, Gini over heads: mixed - two-stage"),
        ("neurons", "more centralized, Gini over neurons: mixed - two-stage"),
        ("reset", "reset S hurts mixed more: QA-OOD drop S - drop random (points)"),
    ];

    /// <summary>Per variant and claim: the effect per seed shown (null = not measured or degenerate) and the one judged.</summary>
    public static Dictionary<Variant, Dictionary<string, (List<double?> Shown, List<double?> Judged)>> Effects(RunData data)
    {
        var result = new Dictionary<Variant, Dictionary<string, (List<double?>, List<double?>)>>();
        // Per seed, one (two-stage, mixed) pair per training precision: the main trainings and any precision-P/ ones.
        var seeds = data.Seeds.Select(s =>
        {
            var pairs = new List<(RobustnessReport? Two, RobustnessReport? Mixed)> { (s.Strategies["two-stage"].Robustness, s.Strategies["mixed"].Robustness) };
            pairs.AddRange(s.AtPrecision.Values.Select(x => (x.GetValueOrDefault("two-stage"), x.GetValueOrDefault("mixed"))));
            var two = new Dictionary<Variant, RobustnessRow>();
            var mixed = new Dictionary<Variant, RobustnessRow>();
            var none = new Dictionary<string, double?>();
            foreach (var (t, m) in pairs)
            {
                foreach (var (k, row) in Index(t)) two.TryAdd(k, row);
                foreach (var (k, row) in Index(m)) mixed.TryAdd(k, row);
                if (m is not null) none.TryAdd(m.Precision, m.QaOodNone);
            }
            return (Two: two, Mixed: mixed, None: none);
        }).ToList();
        var variants = seeds.SelectMany(s => s.Two.Keys.Concat(s.Mixed.Keys)).Distinct()
            .OrderBy(v => v.Precision, StringComparer.Ordinal).ThenBy(v => v.When == "during-training" ? 0 : 1).ThenBy(v => v.Score, StringComparer.Ordinal)
            .ThenBy(v => v.Scope, StringComparer.Ordinal).ThenBy(v => v.Rho).ToList();
        foreach (var v in variants)
        {
            var cells = Columns.ToDictionary(c => c.Id, _ => (Shown: new List<double?>(), Judged: new List<double?>()));
            foreach (var s in seeds)
            {
                var t = s.Two.GetValueOrDefault(v);
                var m = s.Mixed.GetValueOrDefault(v);
                double? size = t is not null && m is not null && m.K > 0 ? (m.Shared - t.Shared) / (double)m.K : null;
                double? heads = t?.GiniHeads is { } th && m?.GiniHeads is { } mh ? mh - th : null;
                double? neurons = t?.GiniNeurons is { } tn && m?.GiniNeurons is { } mn ? mn - tn : null;
                double? shown = null, judged = null;
                if (m?.Reset is { } r && s.None.GetValueOrDefault(v.Precision) is { } none)
                {
                    shown = 100 * (r.QaOodRandom - r.QaOodShared);
                    judged = Claims.AblationEffect(none, r.QaOodShared, r.QaOodRandom, r.QaOodRandomSd ?? 0);
                }
                foreach (var (id, x, j) in new[] { ("size", size, size), ("heads", heads, heads), ("neurons", neurons, neurons), ("reset", shown, judged) })
                {
                    cells[id].Shown.Add(x);
                    cells[id].Judged.Add(j);
                }
            }
            result[v] = cells.ToDictionary(kv => kv.Key, kv => (kv.Value.Shown, kv.Value.Judged));
        }
        return result;
    }

    static Dictionary<Variant, RobustnessRow> Index(RobustnessReport? r) =>
        r?.Variants.GroupBy(x => new Variant(x.Score, x.When, x.Granularity, x.Scope, x.Rho, r.Precision)).ToDictionary(g => g.Key, g => g.First()) ?? [];

    /// <summary>How many variants support each claim (held), out of those that measured it; null without robustness files.</summary>
    public static IReadOnlyList<(string Title, int Held, int Measured, int Testable)>? Summary(RunData data)
    {
        var effects = Effects(data);
        if (effects.Count == 0) return null;
        return Columns.Select(c =>
        {
            var verdicts = effects.Values.Select(e => SeedVerdict.Judge(e[c.Id].Judged)).Where(e => e.Seeds > 0).ToList();
            return (c.Title, verdicts.Count(e => e.Verdict == Verdict.Held && e.Seeds > 1), verdicts.Count, verdicts.Count(e => e.Seeds > 1));
        }).ToList();
    }

    /// <summary>One line for the headline: how many variants support each claim.</summary>
    public static string? HeadlineLine(RunData data)
    {
        if (Summary(data) is not { } s) return null;
        return "Robustness (every trace variant, see the robustness section): " + string.Join("; ", s.Select(x =>
            x.Measured == 0 ? $"{x.Title}: not measured" : x.Testable == 0 ? $"{x.Title}: {x.Measured} variants, 1 seed: not testable"
                : $"{x.Title}: held in {x.Held} of {x.Measured} variants")) + ".";
    }

    public static List<Block> Table(ReportContext c)
    {
        var effects = Effects(c.Data);
        if (effects.Count == 0)
            return [new Note("No robustness analysis: robustness/STRATEGY/robustness.json is missing (stages robustness/two-stage and robustness/mixed).")];
        var precisions = effects.Keys.Select(v => v.Precision).Distinct().ToList();
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (v, cells) in effects)
        {
            var row = new List<string> { v.Text, v.Scope, RhoText(v.Rho), v.Precision };
            foreach (var (id, _) in Columns)
            {
                var (shown, judged) = cells[id];
                var e = SeedVerdict.Judge(judged);
                var xs = shown.Where(x => x is { } y && double.IsFinite(y)).Select(x => x!.Value).ToList();
                if (xs.Count == 0) { row.Add(id == "reset" ? "—" : "n/a"); continue; }
                var fmt = id == "reset" ? "0.0" : "0.000";
                var mean = xs.Average();
                var sd = xs.Count < 2 ? 0 : Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1));
                var verdict = e.Seeds <= 1 ? "1 seed: not testable" : ClaimResult.Text(e.Verdict);
                var m = mean.ToString(fmt, Inv);
                if (!m.StartsWith('-')) m = "+" + m; // a value that rounds to 0 keeps the sign it rounds to
                row.Add($"{m}{(xs.Count > 1 ? " ± " + sd.ToString(fmt, Inv) : "")}; " +
                        $"{e.Agreeing}/{e.Seeds} seeds; {verdict}");
            }
            rows.Add(row);
        }
        var blocks = new List<Block>
        {
            new Paragraph("Every claim about S under every trace variant the robustness stages measured: the trace kind (lr-grad is the paper's " +
                          "during-training sum; grad, grad-x-weight and fisher are post-hoc reconstructions on a probe set), the top-k scope, rho, " +
                          "and the precision the models were trained in. No variant retrains: all reuse the trained models. Each cell: the mean " +
                          "effect over seeds ± its sd, how many seeds have it in the claim's direction, and the verdict by the headline's rules " +
                          $"(every seed, or a sign test from {SeedVerdict.SignTestSeeds} seeds; mean larger than the spread). A Gini is n/a where S " +
                          "touches fewer than 2 heads (or neurons) in a model. Reset: QA-OOD of the mixed model with S reset to the starting " +
                          "weights vs random sets of the same per-tensor counts, at the reset rhos only (—); its verdict also needs the " +
                          $"headline's margin of max({100 * Claims.AblationMargin:0} points, 2 sd of the random draws)."),
            new TableBlock("robustness", ["trace", "scope", "rho", "precision", .. Columns.Select(x => x.Title)], rows),
        };
        if (Summary(c.Data) is { } s)
            blocks.Add(new TableBlock("robustness-summary", ["claim", "variants held", "variants measured"],
                [.. s.Select(x => (IReadOnlyList<string>)[x.Title, x.Testable == 0 ? "1 seed: not testable" : $"{x.Held}", $"{x.Measured}"])]));
        var skipped = c.Runs.SelectMany(r => r.Robustness?.Skipped ?? []).Distinct().ToList();
        foreach (var x in skipped) blocks.Add(new Note($"Not in the table: {x}."));
        if (precisions.Count <= 1)
            blocks.Add(new Note($"Precision: every model here was trained in {string.Join("", precisions)}; the preset's robustness.precisions " +
                                "(e.g. [\"bf16\"]) trains both strategies again at another precision and adds its variants to this table."));
        return blocks;
    }
}
