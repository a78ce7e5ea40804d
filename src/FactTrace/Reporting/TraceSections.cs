using FactTrace.Tracing;
using static FactTrace.Reporting.ReportContext;

namespace FactTrace.Reporting;

/// <summary>The sections from trace.json: the shared set across rho, its centralization, and the density heatmaps.</summary>
static class TraceSections
{
    public static readonly string[] ComponentOrder =
        ["embed", "attn_q", "attn_k", "attn_v", "attn_o", "mlp_in", "mlp_out", "norm", "unembed"];

    /// <summary>The entry of the sweep nearest to <paramref name="rho"/> (relative distance).</summary>
    public static RhoResult? Nearest(TraceReport? t, double rho) =>
        t?.PerRho.Where(r => r.Rho > 0).OrderBy(r => Math.Abs(Math.Log(r.Rho / rho))).FirstOrDefault();

    /// <summary>The entry of the sweep at exactly <paramref name="rho"/>.</summary>
    public static RhoResult? At(StrategyRun run, double rho) => run.Trace?.PerRho.FirstOrDefault(p => p.Rho == rho);

    /// <summary>The rho of the sweeps nearest to <paramref name="requested"/>: the most common one over runs.</summary>
    public static double HeadlineRho(RunData data, double requested)
    {
        var all = data.Seeds.SelectMany(s => s.Strategies.Values).Select(r => Nearest(r.Trace, requested)?.Rho)
            .Where(r => r is not null).Select(r => r!.Value).ToList();
        return all.Count > 0 ? all.GroupBy(x => x).OrderByDescending(g => g.Count()).First().Key : requested;
    }

    /// <summary>Every positive rho of any sweep, ascending.</summary>
    public static List<double> SweepRhos(ReportContext c) =>
        c.Runs.SelectMany(r => r.Trace?.PerRho.Select(p => p.Rho) ?? []).Where(r => r > 0).Distinct().Order().ToList();

    /// <summary>The trace a trace.json was made with, in one sentence with its formula (and what is reconstructed).</summary>
    public static string Definition(TraceReport t)
    {
        var scope = t.Scope == "global" ? "ranked over all considered parameters" : "ranked within each tensor";
        var what = t.Score switch
        {
            "lr-grad" => "the paper's trace: Delta_T[i] = sum over the training examples n of task T of lr(step of n) x dL_n/dtheta_i, " +
                         "L_n the example's summed token loss, at the weights of the step that trains on n, accumulated during training (signed), " +
                         "ranked by |Delta_T[i]|",
            "grad" => "|g|: S_T[i] = sum over the probe examples of |dL/dtheta_i|",
            "grad-x-weight" => "|theta g|: S_T[i] = sum over the probe examples of |theta_i dL/dtheta_i|",
            "fisher" => "the empirical Fisher diagonal: S_T[i] = sum over the probe examples of (dL/dtheta_i)^2",
            _ => t.Score,
        };
        var when = t.When == "during-training"
            ? $"accumulated during training ({t.Granularity} backward passes: {t.Units.Bio:N0} BIO, {t.Units.Qa:N0} QA)"
            : $"computed after training on a probe set ({t.Probe.BioSize:N0} BIOs of {t.Probe.Bio} people, {t.Probe.QaSize:N0} questions of {t.Probe.Qa} people, per {t.Granularity})";
        var recon = t.Score == "lr-grad" ? "" : " This post-hoc score is our reconstruction, not the paper's during-training formula (score lr-grad).";
        return $"Trace used: {what}; {when}; top-k {scope}, S = TopK_BIO ∩ TopK_QA.{recon}";
    }

    public static List<Block> SharedSet(ReportContext c)
    {
        var rhos = SweepRhos(c);
        if (rhos.Count == 0)
            return [new Note($"No cross-task gradient trace: {c.WhyMissingBoth(RunInput.Trace)}. " +
                             "The shared-set size, centralization and heatmaps need trace/STRATEGY/trace.json.")];
        var blocks = new List<Block>();
        foreach (var d in c.Runs.Select(r => r.Trace).Where(t => t is not null).Select(t => Definition(t!)).Distinct())
            blocks.Add(new Paragraph(d));
        var series = new List<Series>();
        var x = rhos.Select(Math.Log10).ToArray();
        foreach (var s in Strategies)
        {
            var st = rhos.Select(r => c.Over(s, t => At(t, r)?.Shared)).ToList();
            var keep = Enumerable.Range(0, rhos.Count).Where(i => st[i] is not null).ToList();
            if (keep.Count > 0)
                series.Add(new Series($"{Title(s)} |S|", [.. keep.Select(i => x[i])], [.. keep.Select(i => st[i]!.Value.Mean)],
                    [.. keep.Select(i => st[i]!.Value.Sd)], ColorOf(s)));
        }
        // Chance overlap: two independent top-k sets of n parameters share rho * k on average.
        var chance = rhos.Select(r => Stat.Of(c.Runs.Select(t => At(t, r) is { } p ? (double?)(p.Rho * p.K) : null))).ToList();
        var keepChance = Enumerable.Range(0, rhos.Count).Where(i => chance[i] is not null).ToList();
        if (keepChance.Count > 0)
            series.Add(new Series("chance overlap (rho x k)", [.. keepChance.Select(i => x[i])], [.. keepChance.Select(i => chance[i]!.Value.Mean)], null, 7, true));
        var rows = new List<IReadOnlyList<string>>();
        foreach (var r in rhos)
        {
            // k is a property of the architecture and rho: one value per seed.
            var cells = new List<string> { RhoText(r), Stat.Number(Stat.Of(c.Data.Seeds.Select(sd => sd.Strategies.Values
                .Select(t => (double?)At(t, r)?.K).FirstOrDefault(k => k is not null)))) };
            foreach (var s in Strategies)
            {
                cells.Add(Stat.Number(c.Over(s, t => At(t, r)?.Shared)));
                cells.Add(Stat.Percent(c.Over(s, t => At(t, r)?.SharedFraction), 2));
                cells.Add(Stat.Number(c.Over(s, t => At(t, r)?.Iou), "F4"));
                cells.Add(Stat.Number(c.Over(s, t => At(t, r)?.Enrichment), "F2"));
            }
            rows.Add(cells);
        }
        var ticks = rhos.Select(RhoText).ToArray();
        Figures.Lines(c.Figure("shared_vs_rho.png"), "Size of the shared set S vs rho", "rho: top fraction of parameters per task (log scale)",
            "|S| (parameters in both top-k sets)", series, null, null, (x, ticks), logY: true);
        blocks.Add(new FigureRef("shared_vs_rho.png", "Size of the shared parameter set versus rho for two-stage and mixed",
            "|S| = |TopK_BIO ∩ TopK_QA| for each rho of the sweep; grey dashed: the overlap expected by chance (rho x k)." +
            (c.MultiSeed ? " Error bars: sd over seeds." : "")));
        blocks.Add(new TableBlock("shared-by-rho", ["rho", "k", .. Strategies.SelectMany(s => new[]
            { $"|S| {Title(s)}", $"|S|/k {Title(s)}", $"IoU {Title(s)}", $"enrichment {Title(s)}" })], rows));

        var rho = c.HeadlineRho;
        var measures = new (string Name, Func<CentralizationPair, double?> Pick)[]
        {
            ("heads: normalized entropy (lower = more centralized)", z => z.Heads.Entropy),
            ("heads: Gini coefficient (higher = more centralized)", z => z.Heads.Gini),
            ("heads: share of S in the top-10 heads", z => z.Heads.Top10Share),
            ("neurons: normalized entropy", z => z.Neurons.Entropy),
            ("neurons: Gini coefficient", z => z.Neurons.Gini),
            ("neurons: share of S in the top-10 neurons", z => z.Neurons.Top10Share),
        };
        var centralRows = measures.Select(m => (IReadOnlyList<string>)[m.Name, .. Strategies.Select(s =>
            Stat.Number(c.Over(s, t => Nearest(t.Trace, rho) is { } p ? m.Pick(p.Centralization) : null), "F3"))]).ToList();
        blocks.Add(new Paragraph($"Centralization of S over attention heads and MLP neurons at rho = {RhoText(rho)}."));
        blocks.Add(new TableBlock("centralization", ["measure", .. Strategies.Select(Title)], centralRows));
        if (c.Runs.Select(t => t.Trace).FirstOrDefault(t => t is not null) is { } t0)
            blocks.Add(new Paragraph($"Trace settings: score {t0.Score}, granularity {t0.Granularity}, scope {t0.Scope}, " +
                $"embeddings {(t0.IncludeEmbeddings ? "included" : "excluded")}, norms {(t0.IncludeNorms ? "included" : "excluded")}, " +
                $"{t0.ParametersConsidered.ToString("N0", Inv)} parameters considered."));
        blocks.AddRange(c.MissingNotes(RunInput.Trace));
        return blocks;
    }

    public static List<Block> Heatmaps(ReportContext c)
    {
        var rho = c.HeadlineRho;
        var traces = Strategies.ToDictionary(s => s, s => c.Data.Of(s).Select(r => Nearest(r.Trace, rho)).OfType<RhoResult>().ToList());
        if (traces.Values.All(t => t.Count == 0))
            return [new Note($"No heatmaps: {c.WhyMissingBoth(RunInput.Trace)}.")];
        var blocks = new List<Block>();
        // Both panels on one scale: the mean over seeds of each cell's density in %, NaN where no seed has the cell.
        void Pair(string file, string what, IReadOnlyList<string> rowLabels, IReadOnlyList<string> colLabels, string rowAxis,
            string colAxis, string scale, Func<RhoResult, int, int, double?> density, string alt, string caption)
        {
            double[,] Grid(string s)
            {
                var g = new double[rowLabels.Count, colLabels.Count];
                for (int i = 0; i < rowLabels.Count; i++)
                    for (int j = 0; j < colLabels.Count; j++)
                        g[i, j] = Stat.Of(traces[s].Select(t => density(t, i, j)))?.Mean ?? double.NaN;
                return g;
            }
            Figures.HeatmapPair(c.Figure(file), $"Shared-parameter density, {what} (rho = {RhoText(rho)})", "two-stage", "mixed",
                Grid("two-stage"), Grid("mixed"), rowLabels, colLabels, rowAxis, colAxis, scale);
            blocks.Add(new FigureRef(file, alt, caption + (c.MultiSeed ? " Mean over seeds." : "")));
        }
        static double? Density(long shared, long total) => total > 0 ? 100.0 * shared / total : null;

        // Layer x component ('none' = embeddings and the output layer).
        var entries = traces.Values.SelectMany(t => t).SelectMany(t => t.ByLayerComponent).ToList();
        if (entries.Count > 0)
        {
            var rowKeys = entries.Where(e => e.Layer is not null).Select(e => e.Layer).Distinct().Order().ToList();
            if (entries.Any(e => e.Layer is null)) rowKeys.Add(null);
            var components = ComponentOrder.Where(k => entries.Any(e => e.Component == k))
                .Concat(entries.Select(e => e.Component).Where(k => !ComponentOrder.Contains(k)).Distinct()).ToList();
            Pair("density_layer_component.png", "layer x component", [.. rowKeys.Select(l => l is { } v ? v.ToString(Inv) : "none")],
                components, "layer", "component", "density: % of the cell's parameters in S", (t, i, j) =>
                {
                    var cell = t.ByLayerComponent.Where(e => e.Layer == rowKeys[i] && e.Component == components[j]).ToList();
                    return Density(cell.Sum(e => e.Shared), cell.Sum(e => e.Total));
                },
                "Heatmaps of shared-parameter density by layer and component, two-stage and mixed",
                "Share of each layer's component (q, k, v, attention output, MLP in/out, norms; 'none' = embeddings and the output layer) that is in S. " +
                "Both panels use one colour scale; grey = not in the trace.");
        }
        else blocks.Add(new Note("The trace has no by_layer_component table."));

        // Layer x head.
        var heads = traces.Values.SelectMany(t => t).SelectMany(t => t.ByHead).ToList();
        if (heads.Count > 0)
        {
            var hl = heads.Select(h => h.Layer).Distinct().Order().ToList();
            var hh = heads.Select(h => h.Head).Distinct().Order().ToList();
            Pair("density_layer_head.png", "layer x attention head", [.. hl.Select(l => l.ToString(Inv))], [.. hh.Select(h => h.ToString(Inv))],
                "layer", "head", "density: % of the head's parameters in S",
                (t, i, j) => t.ByHead.FirstOrDefault(h => h.Layer == hl[i] && h.Head == hh[j]) is { } h ? Density(h.Shared, h.Total) : null,
                "Heatmaps of shared-parameter density by layer and attention head, two-stage and mixed",
                "Share of each attention head's parameters that is in S; both panels on one colour scale.");
        }
        else blocks.Add(new Note("The trace has no by_head table."));
        blocks.AddRange(c.MissingNotes(RunInput.Trace.And(r => Nearest(r.Trace, rho) is not null)));
        return blocks;
    }
}
