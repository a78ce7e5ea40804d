using System.Globalization;
using System.Text.RegularExpressions;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Study;

namespace FactTrace.Reporting;

public sealed record ReportOptions
{
    /// <summary>The rho of the headline numbers and the heatmaps (the nearest rho of the sweep is used).</summary>
    public double HeadlineRho { get; init; } = 0.01;
}

/// <summary>What <see cref="ReportBuilder.Build"/> wrote.</summary>
public sealed record ReportResult(string Dir, string MarkdownPath, string HtmlPath, IReadOnlyList<string> Figures,
    IReadOnlyList<ClaimResult> Claims);

/// <summary>
/// `facttrace report RUN_DIR`: reads a run folder (one seed or seed-K/ folders) and writes RUN_DIR/report/ with
/// report.md, a self-contained report.html and figures/*.png. A missing input makes its section say so.
/// </summary>
public static class ReportBuilder
{
    public const string FolderName = "report", MarkdownFile = "report.md", HtmlFile = "report.html", FiguresFolder = "figures";

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    static readonly string[] Strategies = RunData.Strategies;
    static readonly Dictionary<string, string> StrategyTitle = new() { ["two-stage"] = "two-stage", ["mixed"] = "mixed" };
    static int ColorOf(string strategy) => strategy == "mixed" ? 0 : 1;

    public static readonly string[] ComponentOrder =
        ["embed", "attn_q", "attn_k", "attn_v", "attn_o", "mlp_in", "mlp_out", "norm", "unembed"];
    public static readonly string[] ConditionOrder =
        ["none", "shared", "random", "bio_only", "qa_only", "top_heads", "random_heads"];
    static readonly Dictionary<string, string> ConditionTitle = new()
    {
        ["none"] = "nothing reset", ["shared"] = "S (shared)", ["random"] = "random, |S|", ["bio_only"] = "BIO-only \\ S",
        ["qa_only"] = "QA-only \\ S", ["top_heads"] = "top heads", ["random_heads"] = "random heads",
    };

    /// <summary>Null when <paramref name="reportDir"/> holds report.md, report.html and every figure report.md names.</summary>
    public static string? Check(string reportDir)
    {
        var md = Path.Combine(reportDir, MarkdownFile);
        if (!File.Exists(md)) return $"{MarkdownFile} missing";
        if (!File.Exists(Path.Combine(reportDir, HtmlFile))) return $"{HtmlFile} missing";
        foreach (Match m in Regex.Matches(File.ReadAllText(md), @"\]\((figures/[^)]+\.png)\)"))
            if (!File.Exists(Path.Combine(reportDir, m.Groups[1].Value))) return $"{m.Groups[1].Value} missing";
        return null;
    }

    public static ReportResult Build(string runDir, ReportOptions? options = null)
    {
        options ??= new ReportOptions();
        var data = RunData.Load(runDir);
        var reportDir = Path.Combine(runDir, FolderName);
        ReportResult? result = null;
        OutputFolder.Create(reportDir, force: true, tmp =>
        {
            var figuresDir = Path.Combine(tmp, FiguresFolder);
            Directory.CreateDirectory(figuresDir);
            var ctx = new Context(data, options, figuresDir);
            var (doc, claims) = Compose(ctx);
            AtomicFile.WriteAllText(Path.Combine(tmp, MarkdownFile), doc.ToMarkdown(FiguresFolder));
            AtomicFile.WriteAllText(Path.Combine(tmp, HtmlFile), doc.ToHtml(name => File.ReadAllBytes(Path.Combine(figuresDir, name))));
            result = new ReportResult(reportDir, Path.Combine(reportDir, MarkdownFile), Path.Combine(reportDir, HtmlFile),
                [.. ctx.Figures.Select(f => Path.Combine(reportDir, FiguresFolder, f))], claims);
        }, "report folder");
        return result!;
    }

    sealed class Context(RunData data, ReportOptions options, string figuresDir)
    {
        public RunData Data => data;
        public ReportOptions Options => options;
        public List<string> Figures { get; } = [];
        public string Figure(string name)
        {
            Figures.Add(name);
            return Path.Combine(figuresDir, name);
        }
        public bool MultiSeed => data.Seeds.Count > 1;
    }

    static (ReportDocument, IReadOnlyList<ClaimResult>) Compose(Context c)
    {
        var d = c.Data;
        var name = Path.GetFileName(Path.GetFullPath(d.RunDir).TrimEnd(Path.DirectorySeparatorChar));
        var preamble = new List<string>
        {
            $"Run '{name}'" + (d.Manifest?.Preset is { } p ? $", preset {p}" : "") +
            $", {d.Seeds.Count} seed{(d.Seeds.Count == 1 ? "" : "s")}" +
            $"; report written {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC by facttrace {Manifest.CurrentVersions()["facttrace"]}.",
            "Reproduces Zhang et al., \"Understanding Fact Recall in Language Models: Why Two-Stage Training Encourages " +
            "Memorization but Mixed Training Teaches Knowledge\" (arXiv 2505.16178): BIO texts store facts, QA pairs of " +
            "in-distribution (ID) people teach recall, and QA about out-of-distribution (OOD) people tests whether recall generalizes.",
        };
        if (c.MultiSeed) preamble.Add($"Numbers are means ± sample standard deviations over the {d.Seeds.Count} seeds ({string.Join(", ", d.Seeds.Select(s => s.Folder))}).");

        var claimInputs = ClaimInputsOf(c);
        var claims = Claims.Evaluate(claimInputs);
        var sections = new List<Section>
        {
            Headline(c, claims),
            FinalScores(c),
            LearningCurves(c),
            PerAttribute(c),
            SharedSet(c),
            Heatmaps(c),
            Ablation(c),
            Graft(c),
            Stages(c),
            Method(c),
        };
        return (new ReportDocument("FactTrace report: two-stage vs mixed training", preamble, sections), claims);
    }

    // ---------------------------------------------------------------- numbers

    static Stat? Over(Context c, string strategy, Func<StrategyRun, double?> pick) => Stat.Of(c.Data.Of(strategy).Select(pick));

    /// <summary>The entry of the sweep nearest to <paramref name="rho"/> (relative distance).</summary>
    static TraceRho? AtRho(TraceFile? t, double rho) =>
        t?.PerRho.Where(r => r.Rho > 0).OrderBy(r => Math.Abs(Math.Log(r.Rho / rho))).FirstOrDefault();

    static double HeadlineRho(Context c)
    {
        var all = c.Data.Seeds.SelectMany(s => s.Strategies.Values).Select(r => AtRho(r.Trace, c.Options.HeadlineRho)?.Rho)
            .Where(r => r is not null).Select(r => r!.Value).ToList();
        return all.Count > 0 ? all.GroupBy(x => x).OrderByDescending(g => g.Count()).First().Key : c.Options.HeadlineRho;
    }

    static AblationCondition? Condition(AblationFile? a, string name) => a?.Conditions.FirstOrDefault(x => x.Name == name);

    static Stat? AblationStat(Context c, string strategy, string condition, Func<AblationCondition, double?> value, Func<AblationCondition, double?> sd) =>
        Stat.Pooled(c.Data.Of(strategy).Select(r => Condition(r.Ablation, condition)).Where(x => x is not null && value(x) is not null)
            .Select(x => (value(x!)!.Value, sd(x!) ?? 0.0)));

    static ClaimInputs ClaimInputsOf(Context c)
    {
        var rho = HeadlineRho(c);
        Stat? Shared(string s) => Over(c, s, r => AtRho(r.Trace, rho)?.Shared);
        Stat? Gini(string s, bool heads) => Over(c, s, r =>
            AtRho(r.Trace, rho)?.Centralization is { } cz ? (heads ? cz.Heads?.Gini : cz.Neurons?.Gini) : null);
        AblationSummary? Abl(string s)
        {
            var none = AblationStat(c, s, "none", x => x.QaOod, x => x.QaOodSd);
            var shared = AblationStat(c, s, "shared", x => x.QaOod, x => x.QaOodSd);
            var random = AblationStat(c, s, "random", x => x.QaOod, x => x.QaOodSd);
            return none is null && shared is null && random is null ? null : new AblationSummary(none, shared, random);
        }
        var rhos = SweepRhos(c);
        int compared = 0, larger = 0;
        foreach (var r in rhos)
        {
            var t = Over(c, "two-stage", x => x.Trace?.PerRho.FirstOrDefault(p => p.Rho == r)?.Shared);
            var m = Over(c, "mixed", x => x.Trace?.PerRho.FirstOrDefault(p => p.Rho == r)?.Shared);
            if (t is null || m is null) continue;
            compared++;
            if (m.Value.Mean > t.Value.Mean) larger++;
        }
        return new ClaimInputs
        {
            HeadlineRho = rho,
            QaOodTwoStage = Over(c, "two-stage", r => r.Eval?.QaOod),
            QaOodMixed = Over(c, "mixed", r => r.Eval?.QaOod),
            SharedTwoStage = Shared("two-stage"), SharedMixed = Shared("mixed"),
            RhosCompared = compared, RhosMixedLarger = larger,
            GiniHeadsTwoStage = Gini("two-stage", true), GiniHeadsMixed = Gini("mixed", true),
            GiniNeuronsTwoStage = Gini("two-stage", false), GiniNeuronsMixed = Gini("mixed", false),
            AblationTwoStage = Abl("two-stage"), AblationMixed = Abl("mixed"),
        };
    }

    static List<double> SweepRhos(Context c) =>
        c.Data.Seeds.SelectMany(s => s.Strategies.Values).SelectMany(r => r.Trace?.PerRho.Select(p => p.Rho) ?? []).Where(r => r > 0)
            .Distinct().Order().ToList();

    static string RhoText(double rho) => (100 * rho).ToString("0.###", Inv) + "%";

    static string MissingBoth(Context c, string stageKind, string file, Func<StrategyRun, bool> has)
    {
        var parts = Strategies.Where(s => !c.Data.Of(s).Any(has))
            .Select(s => c.Data.WhyMissing(stageKind is "" ? s : $"{stageKind}/{s}", file)).Distinct().ToList();
        return string.Join("; ", parts);
    }

    // ---------------------------------------------------------------- sections

    static Section Headline(Context c, IReadOnlyList<ClaimResult> claims)
    {
        var rows = claims.Select(r => (IReadOnlyList<string>)[r.Claim, r.Criterion, r.TwoStage, r.Mixed, ClaimResult.Text(r.Verdict)]).ToList();
        var blocks = new List<Block>
        {
            new Paragraph("The paper's claims, the criterion each is judged by (fixed in the code, not tuned to the result), our numbers and the verdict, computed from the run's files."),
            new TableBlock("headline", ["Claim (paper)", "Criterion", "Two-stage", "Mixed", "Result"], rows, VerdictColumn: 4),
        };
        foreach (var r in claims.Where(r => r.Note is not null)) blocks.Add(new Paragraph($"{r.Claim}: {r.Note}."));
        var missing = claims.Where(r => r.Verdict == Verdict.NotMeasured).ToList();
        if (missing.Count > 0)
            blocks.Add(new Note($"{missing.Count} of {claims.Count} claims are not measured: their inputs are missing (see the sections below)."));
        return new Section("Headline: the paper's claims and ours", "headline", blocks);
    }

    static Section FinalScores(Context c)
    {
        var blocks = new List<Block>();
        if (!Strategies.Any(s => c.Data.Of(s).Any(r => r.Eval is not null)))
        {
            blocks.Add(new Note($"No final evaluation: {MissingBoth(c, "", RunFiles.Eval, r => r.Eval is not null)}."));
            return new Section("Final evaluation", "final", blocks);
        }
        var measures = new (string Name, Func<EvalResult, double?> Pick)[]
        {
            ("QA-ID (exact match, trained questions)", e => e.QaId),
            ("QA-OOD (exact match, people never asked about)", e => e.QaOod),
            ("BIO memorization (all value tokens argmax in the BIO)", e => e.BioMemorization),
            ("BIO memorization, first token", e => e.Overall.BioMemorizationFirstToken),
            ("BIO extraction (greedy from an isolated prompt)", e => e.BioExtraction),
            ("BIO memorization after stage 1 (two-stage)", e => e.BioMemorizationStage1),
            ("chance (majority value, QA-OOD people)", e => e.Overall.Chance),
        };
        var rows = measures.Select(m => (IReadOnlyList<string>)
            [m.Name, .. Strategies.Select(s => Stat.Percent(Over(c, s, r => r.Eval is { } e ? m.Pick(e) : null)))]).ToList();
        blocks.Add(new Paragraph("Exact-match accuracy of the final models on every person of the world (eval.json)."));
        blocks.Add(new TableBlock("final-scores", ["measure", .. Strategies.Select(s => StrategyTitle[s])], rows));
        foreach (var s in Strategies.Where(s => c.Data.Of(s).All(r => r.Eval is null)))
            blocks.Add(new Note($"{StrategyTitle[s]}: {c.Data.WhyMissing(s, RunFiles.Eval)}."));
        return new Section("Final evaluation", "final", blocks);
    }

    static Section LearningCurves(Context c)
    {
        var blocks = new List<Block>();
        var series = new List<Series>();
        Marker? qaStart = null;
        foreach (var s in Strategies)
        {
            var curves = c.Data.Of(s).Select(r => r.Curve).Where(x => x is { Count: > 0 }).ToList();
            if (curves.Count == 0) continue;
            // Per global epoch: the final (full) evaluation wins over a periodic one at the same epoch.
            var perSeed = curves.Select(cv => cv!.Where(p => double.IsFinite(p.GlobalEpoch))
                .GroupBy(p => p.GlobalEpoch).ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Final).First())).ToList();
            var epochs = perSeed.SelectMany(x => x.Keys).Distinct().Order().ToArray();
            foreach (var (label, pick, dashed) in new (string, Func<CurvePoint, double>, bool)[] { ("QA-ID", p => p.QaId, false), ("QA-OOD", p => p.QaOod, true) })
            {
                var stats = epochs.Select(e => Stat.Of(perSeed.Select(x => x.TryGetValue(e, out var p) ? (double?)pick(p) : null))).ToList();
                var keep = Enumerable.Range(0, epochs.Length).Where(i => stats[i] is not null).ToList();
                series.Add(new Series($"{StrategyTitle[s]} {label}", [.. keep.Select(i => epochs[i])],
                    [.. keep.Select(i => 100 * stats[i]!.Value.Mean)], [.. keep.Select(i => 100 * stats[i]!.Value.Sd)], ColorOf(s), dashed));
            }
            if (s == "two-stage")
            {
                var stage1End = curves.SelectMany(cv => cv!).Where(p => p.Stage == "stage1").Select(p => p.GlobalEpoch).DefaultIfEmpty(double.NaN).Max();
                if (double.IsFinite(stage1End)) qaStart = new Marker(stage1End, $"two-stage: QA stage starts (epoch {stage1End:0})");
            }
        }
        if (series.Count == 0)
        {
            blocks.Add(new Note($"No learning curves: {MissingBoth(c, "", RunFiles.Metrics, r => r.Curve is { Count: > 0 })}."));
            return new Section("Learning curves", "curves", blocks);
        }
        Figures.Lines(c.Figure("learning_curves.png"), "Learning curves: QA exact match, two-stage vs mixed",
            "epoch (passes over the training data, all stages)", "exact match (%)", series, qaStart is null ? null : [qaStart], (-1, 101));
        blocks.Add(new FigureRef("learning_curves.png", "Learning curves of QA-ID and QA-OOD for two-stage and mixed training",
            "QA-ID (solid) and QA-OOD (dashed) exact match per epoch, from the eval lines of metrics.jsonl. Periodic points use a " +
            "fixed subset of people per split; the last point of each run is the full evaluation." +
            (c.MultiSeed ? " Error bars: sd over seeds." : "")));
        return new Section("Learning curves", "curves", blocks);
    }

    static Section PerAttribute(Context c)
    {
        var blocks = new List<Block>();
        var attributes = c.Data.Seeds.SelectMany(s => s.Strategies.Values).SelectMany(r => r.Eval?.PerAttribute.Keys ?? [])
            .Distinct().ToList();
        if (attributes.Count == 0)
        {
            blocks.Add(new Note($"No per-attribute results: {MissingBoth(c, "", RunFiles.Eval, r => r.Eval is not null)}."));
            return new Section("QA-OOD per attribute", "attributes", blocks);
        }
        Stat? Value(string s, string a, Func<RecallScores, double?> pick) =>
            Over(c, s, r => r.Eval?.PerAttribute.TryGetValue(a, out var x) == true ? pick(x) : null);
        var values = new double[attributes.Count, Strategies.Length];
        var errors = new double[attributes.Count, Strategies.Length];
        var chance = new double[attributes.Count];
        var rows = new List<IReadOnlyList<string>>();
        for (int i = 0; i < attributes.Count; i++)
        {
            var a = attributes[i];
            // Chance is a property of the world: one value per seed (from whichever strategy has it).
            var ch = Stat.Of(c.Data.Seeds.Select(sd => Strategies.Select(s => sd.Strategies[s].Eval?.PerAttribute.GetValueOrDefault(a)?.Chance)
                .FirstOrDefault(v => v is not null)));
            chance[i] = ch is { } cs ? 100 * cs.Mean : double.NaN;
            var cells = new List<string> { a, Stat.Percent(ch) };
            for (int j = 0; j < Strategies.Length; j++)
            {
                var st = Value(Strategies[j], a, x => x.QaOod);
                values[i, j] = st is { } v ? 100 * v.Mean : double.NaN;
                errors[i, j] = st is { } e ? 100 * e.Sd : 0;
                cells.Add(Stat.Percent(st));
            }
            foreach (var s in Strategies) cells.Add(Stat.Percent(Value(s, a, x => x.QaId)));
            rows.Add(cells);
        }
        Figures.GroupedBars(c.Figure("qa_ood_per_attribute.png"), "QA-OOD exact match per attribute", "exact match on OOD people (%)",
            attributes, [.. Strategies.Select(s => StrategyTitle[s])], values, errors, chance, "chance (majority value)", (0, 101),
            "attribute", [.. Strategies.Select(ColorOf)]);
        blocks.Add(new FigureRef("qa_ood_per_attribute.png", "QA-OOD exact match per attribute for two-stage and mixed, with chance baselines",
            "Bars: QA-OOD exact match per attribute. Dashed black lines: chance, the share of OOD people whose value is the most common one." +
            (c.MultiSeed ? " Error bars: sd over seeds." : "")));
        blocks.Add(new TableBlock("per-attribute", ["attribute", "chance", .. Strategies.Select(s => $"QA-OOD {StrategyTitle[s]}"),
            .. Strategies.Select(s => $"QA-ID {StrategyTitle[s]}")], rows));
        return new Section("QA-OOD per attribute", "attributes", blocks);
    }

    static Section SharedSet(Context c)
    {
        var blocks = new List<Block>();
        var rhos = SweepRhos(c);
        if (rhos.Count == 0)
        {
            blocks.Add(new Note($"No cross-task gradient trace: {MissingBoth(c, "trace", RunFiles.Trace, r => r.Trace is not null)}. " +
                                "The shared-set size, centralization and heatmaps need trace/STRATEGY/trace.json."));
            return new Section("Shared parameters across rho", "shared", blocks);
        }
        var series = new List<Series>();
        var rows = new List<IReadOnlyList<string>>();
        var x = rhos.Select(Math.Log10).ToArray();
        foreach (var s in Strategies)
        {
            var st = rhos.Select(r => Over(c, s, t => t.Trace?.PerRho.FirstOrDefault(p => p.Rho == r)?.Shared)).ToList();
            var keep = Enumerable.Range(0, rhos.Count).Where(i => st[i] is not null).ToList();
            if (keep.Count > 0)
                series.Add(new Series($"{StrategyTitle[s]} |S|", [.. keep.Select(i => x[i])], [.. keep.Select(i => st[i]!.Value.Mean)],
                    [.. keep.Select(i => st[i]!.Value.Sd)], ColorOf(s)));
        }
        // Chance overlap: two independent top-k sets of n parameters share rho * k on average.
        var chance = rhos.Select(r => Stat.Of(c.Data.Seeds.SelectMany(sd => sd.Strategies.Values)
            .Select(t => t.Trace?.PerRho.FirstOrDefault(p => p.Rho == r) is { } p ? (double?)(p.Rho * p.K) : null))).ToList();
        var keepChance = Enumerable.Range(0, rhos.Count).Where(i => chance[i] is not null).ToList();
        if (keepChance.Count > 0)
            series.Add(new Series("chance overlap (rho x k)", [.. keepChance.Select(i => x[i])], [.. keepChance.Select(i => chance[i]!.Value.Mean)], null, 7, true));
        foreach (var r in rhos)
        {
            // k is a property of the architecture and rho: one value per seed.
            var cells = new List<string> { RhoText(r), Stat.Number(Stat.Of(c.Data.Seeds.Select(sd => sd.Strategies.Values
                .Select(t => t.Trace?.PerRho.FirstOrDefault(p => p.Rho == r)?.K).FirstOrDefault(k => k is not null)))) };
            foreach (var s in Strategies)
            {
                TraceRho? P(StrategyRun t) => t.Trace?.PerRho.FirstOrDefault(p => p.Rho == r);
                cells.Add(Stat.Number(Over(c, s, t => P(t)?.Shared)));
                cells.Add(Stat.Percent(Over(c, s, t => P(t)?.SharedFraction ?? (P(t) is { K: > 0 } q ? q.Shared / q.K : null)), 2));
                cells.Add(Stat.Number(Over(c, s, t => P(t)?.Iou), "F4"));
                cells.Add(Stat.Number(Over(c, s, t => P(t)?.Enrichment), "F2"));
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
            { $"|S| {StrategyTitle[s]}", $"|S|/k {StrategyTitle[s]}", $"IoU {StrategyTitle[s]}", $"enrichment {StrategyTitle[s]}" })], rows));

        var rho = HeadlineRho(c);
        var measures = new (string Name, Func<Centralization, double?> Pick)[]
        {
            ("heads: normalized entropy (lower = more centralized)", z => z.Heads?.Entropy),
            ("heads: Gini coefficient (higher = more centralized)", z => z.Heads?.Gini),
            ("heads: share of S in the top-10 heads", z => z.Heads?.Top10Share),
            ("neurons: normalized entropy", z => z.Neurons?.Entropy),
            ("neurons: Gini coefficient", z => z.Neurons?.Gini),
            ("neurons: share of S in the top-10 neurons", z => z.Neurons?.Top10Share),
        };
        var centralRows = measures.Select(m => (IReadOnlyList<string>)[m.Name, .. Strategies.Select(s =>
            Stat.Number(Over(c, s, t => AtRho(t.Trace, rho)?.Centralization is { } z ? m.Pick(z) : null), "F3"))]).ToList();
        blocks.Add(new Paragraph($"Centralization of S over attention heads and MLP neurons at rho = {RhoText(rho)}."));
        blocks.Add(new TableBlock("centralization", ["measure", .. Strategies.Select(s => StrategyTitle[s])], centralRows));
        var t0 = c.Data.Seeds.SelectMany(sd => sd.Strategies.Values).Select(t => t.Trace).FirstOrDefault(t => t is not null);
        if (t0 is not null)
            blocks.Add(new Paragraph($"Trace settings: score {t0.Score ?? "?"}, granularity {t0.Granularity ?? "?"}, scope {t0.Scope ?? "?"}, " +
                $"embeddings {(t0.IncludeEmbeddings == true ? "included" : "excluded")}, norms {(t0.IncludeNorms == true ? "included" : "excluded")}" +
                (t0.ParametersConsidered is { } n ? $", {n.ToString("N0", Inv)} parameters considered." : ".")));
        foreach (var s in Strategies.Where(s => c.Data.Of(s).All(r => r.Trace is null)))
            blocks.Add(new Note($"{StrategyTitle[s]}: {c.Data.WhyMissing($"trace/{s}", RunFiles.Trace)}."));
        return new Section("Shared parameters across rho", "shared", blocks);
    }

    static Section Heatmaps(Context c)
    {
        var blocks = new List<Block>();
        var rho = HeadlineRho(c);
        var traces = Strategies.ToDictionary(s => s, s => c.Data.Of(s).Select(r => AtRho(r.Trace, rho)).Where(t => t is not null).ToList());
        if (traces.Values.All(t => t.Count == 0))
        {
            blocks.Add(new Note($"No heatmaps: {MissingBoth(c, "trace", RunFiles.Trace, r => r.Trace is not null)}."));
            return new Section("Where the shared parameters sit", "heatmaps", blocks);
        }
        // Layer x component.
        var entries = traces.Values.SelectMany(t => t).SelectMany(t => t!.ByLayerComponent).ToList();
        var layers = entries.Where(e => e.Layer is not null).Select(e => e.Layer!.Value).Distinct().Order().ToList();
        bool other = entries.Any(e => e.Layer is null);
        var components = ComponentOrder.Where(k => entries.Any(e => e.Component == k))
            .Concat(entries.Select(e => e.Component).Where(k => !ComponentOrder.Contains(k)).Distinct()).ToList();
        if (entries.Count > 0)
        {
            var rowKeys = layers.Select(l => (int?)l).ToList();
            if (other) rowKeys.Add(null);
            double[,] Grid(string s)
            {
                var g = new double[rowKeys.Count, components.Count];
                for (int i = 0; i < rowKeys.Count; i++)
                    for (int j = 0; j < components.Count; j++)
                    {
                        var perSeed = traces[s].Select(t =>
                        {
                            var cell = t!.ByLayerComponent.Where(e => e.Layer == rowKeys[i] && e.Component == components[j]).ToList();
                            var total = cell.Sum(e => e.Total);
                            return total > 0 ? (double?)(100 * cell.Sum(e => e.Shared) / total) : null;
                        });
                        g[i, j] = Stat.Of(perSeed)?.Mean ?? double.NaN;
                    }
                return g;
            }
            Figures.HeatmapPair(c.Figure("density_layer_component.png"), $"Shared-parameter density, layer x component (rho = {RhoText(rho)})",
                "two-stage", "mixed", Grid("two-stage"), Grid("mixed"),
                [.. rowKeys.Select(l => l is { } v ? v.ToString(Inv) : "none")], components, "layer", "component",
                "density: % of the cell's parameters in S");
            blocks.Add(new FigureRef("density_layer_component.png", "Heatmaps of shared-parameter density by layer and component, two-stage and mixed",
                "Share of each layer's component (q, k, v, attention output, MLP in/out, norms; 'none' = embeddings and the output layer) that is in S. " +
                "Both panels use one colour scale; grey = not in the trace." + (c.MultiSeed ? " Mean over seeds." : "")));
        }
        else blocks.Add(new Note("The trace has no by_layer_component table."));

        // Layer x head.
        var heads = traces.Values.SelectMany(t => t).SelectMany(t => t!.ByHead).ToList();
        if (heads.Count > 0)
        {
            var hl = heads.Select(h => h.Layer).Distinct().Order().ToList();
            var hh = heads.Select(h => h.Head).Distinct().Order().ToList();
            double[,] Grid(string s)
            {
                var g = new double[hl.Count, hh.Count];
                for (int i = 0; i < hl.Count; i++)
                    for (int j = 0; j < hh.Count; j++)
                        g[i, j] = Stat.Of(traces[s].Select(t => t!.ByHead.FirstOrDefault(h => h.Layer == hl[i] && h.Head == hh[j]) is { Total: > 0 } h
                            ? (double?)(100 * h.Shared / h.Total) : null))?.Mean ?? double.NaN;
                return g;
            }
            Figures.HeatmapPair(c.Figure("density_layer_head.png"), $"Shared-parameter density, layer x attention head (rho = {RhoText(rho)})",
                "two-stage", "mixed", Grid("two-stage"), Grid("mixed"), [.. hl.Select(l => l.ToString(Inv))], [.. hh.Select(h => h.ToString(Inv))],
                "layer", "head", "density: % of the head's parameters in S");
            blocks.Add(new FigureRef("density_layer_head.png", "Heatmaps of shared-parameter density by layer and attention head, two-stage and mixed",
                "Share of each attention head's parameters that is in S; both panels on one colour scale." + (c.MultiSeed ? " Mean over seeds." : "")));
        }
        else blocks.Add(new Note("The trace has no by_head table."));
        foreach (var s in Strategies.Where(s => traces[s].Count == 0))
            blocks.Add(new Note($"{StrategyTitle[s]}: {c.Data.WhyMissing($"trace/{s}", RunFiles.Trace)}."));
        return new Section("Where the shared parameters sit", "heatmaps", blocks);
    }

    static Section Ablation(Context c)
    {
        var blocks = new List<Block>();
        if (!Strategies.Any(s => c.Data.Of(s).Any(r => r.Ablation is not null)))
        {
            blocks.Add(new Note($"No ablation: {MissingBoth(c, "ablate", RunFiles.Ablation, r => r.Ablation is not null)}."));
            return new Section("Ablation: resetting S vs controls", "ablation", blocks);
        }
        var names = c.Data.Seeds.SelectMany(s => s.Strategies.Values).SelectMany(r => r.Ablation?.Conditions.Select(x => x.Name) ?? []).Distinct().ToList();
        var conditions = ConditionOrder.Where(names.Contains).Concat(names.Where(n => !ConditionOrder.Contains(n))).ToList();
        var values = new double[Strategies.Length, conditions.Count];
        var errors = new double[Strategies.Length, conditions.Count];
        var rows = new List<IReadOnlyList<string>>();
        for (int i = 0; i < Strategies.Length; i++)
            for (int j = 0; j < conditions.Count; j++)
            {
                var s = Strategies[i];
                var ood = AblationStat(c, s, conditions[j], x => x.QaOod, x => x.QaOodSd);
                values[i, j] = ood is { } v ? 100 * v.Mean : double.NaN;
                errors[i, j] = ood is { } e ? 100 * e.Sd : 0;
                if (ood is null) continue;
                rows.Add([StrategyTitle[s], ConditionTitle.GetValueOrDefault(conditions[j], conditions[j]),
                    Stat.Number(Over(c, s, r => Condition(r.Ablation, conditions[j])?.MaskSize)),
                    Stat.Number(Over(c, s, r => Condition(r.Ablation, conditions[j])?.Draws)),
                    Stat.Percent(AblationStat(c, s, conditions[j], x => x.QaId, x => x.QaIdSd)),
                    Stat.Percent(ood),
                    Stat.Percent(AblationStat(c, s, conditions[j], x => x.BioMemorization, x => x.BioMemorizationSd))]);
            }
        Figures.GroupedBars(c.Figure("ablation.png"), "Ablation: QA-OOD after resetting parameter sets", "QA-OOD exact match after the reset (%)",
            [.. Strategies.Select(s => $"{StrategyTitle[s]} model")], [.. conditions.Select(n => ConditionTitle.GetValueOrDefault(n, n))], values, errors,
            yRange: (0, 101), xLabel: "trained model");
        var a0 = c.Data.Seeds.SelectMany(s => s.Strategies.Values).Select(r => r.Ablation).FirstOrDefault(a => a is not null)!;
        blocks.Add(new FigureRef("ablation.png", "Bar chart of QA-OOD after resetting S, random sets of the same size, and task-only sets",
            $"QA-OOD after resetting each set to {(a0.ResetTo ?? "the reference")} weights" + (a0.Rho is { } r0 ? $" (S at rho = {RhoText(r0)})" : "") +
            ". Random: sets of |S| parameters drawn per matrix in S's proportions; error bars: sd over draws" + (c.MultiSeed ? " and seeds (pooled)" : "") +
            ". BIO-only / QA-only: TopK of one task minus S, subsampled to |S|."));
        blocks.Add(new TableBlock("ablation", ["model", "reset", "mask size", "draws", "QA-ID", "QA-OOD", "BIO memorization"], rows));
        foreach (var s in Strategies.Where(s => c.Data.Of(s).All(r => r.Ablation is null)))
            blocks.Add(new Note($"{StrategyTitle[s]}: {c.Data.WhyMissing($"ablate/{s}", RunFiles.Ablation)}."));
        return new Section("Ablation: resetting S vs controls", "ablation", blocks);
    }

    static Section Graft(Context c)
    {
        var blocks = new List<Block>();
        if (!Strategies.Any(s => c.Data.Of(s).Any(r => r.Graft is not null)))
        {
            blocks.Add(new Note($"No grafting: {MissingBoth(c, "graft", RunFiles.Graft, r => r.Graft is not null)}."));
            return new Section("Grafting", "graft", blocks);
        }
        var rows = Strategies.Where(s => c.Data.Of(s).Any(r => r.Graft is not null)).Select(s => (IReadOnlyList<string>)
        [
            StrategyTitle[s],
            Stat.Percent(Over(c, s, r => r.Graft?.Sparsity), 3),
            Stat.Number(Over(c, s, r => r.Graft?.MaskSize)),
            Stat.Percent(Over(c, s, r => r.Graft?.QaId)),
            Stat.Percent(Over(c, s, r => r.Graft?.QaOod)),
            Stat.Percent(Over(c, s, r => r.Graft?.BioMemorization)),
            Stat.Percent(Over(c, s, r => r.Graft?.OverlapWithShared?.Precision)),
            Stat.Percent(Over(c, s, r => r.Graft?.OverlapWithShared?.Recall)),
            Stat.Number(Over(c, s, r => r.Graft?.OverlapWithShared?.Enrichment), "F2"),
        ]).ToList();
        blocks.Add(new Paragraph("A sparse mask learned so that reference + mask x (trained - reference) keeps QA on ID people " +
                                 "(Panigrahi et al. 2023); its overlap with S says whether the parameters that carry recall are the shared ones."));
        blocks.Add(new TableBlock("graft", ["model", "sparsity", "mask size", "QA-ID", "QA-OOD", "BIO memorization", "precision vs S", "recall of S", "enrichment"], rows));
        foreach (var s in Strategies.Where(s => c.Data.Of(s).All(r => r.Graft is null)))
            blocks.Add(new Note($"{StrategyTitle[s]}: {c.Data.WhyMissing($"graft/{s}", RunFiles.Graft)}."));
        return new Section("Grafting", "graft", blocks);
    }

    static Section Stages(Context c)
    {
        var blocks = new List<Block>();
        if (c.Data.Manifest is not { } m)
        {
            blocks.Add(new Note($"No {Manifest.FileName}: this folder was not written by `facttrace reproduce`, so stage states are unknown."));
            return new Section("Run stages", "stages", blocks);
        }
        // The report stage itself is running while this is written.
        var rows = m.Stages.Where(s => s.Name != FolderName).Select(s => (IReadOnlyList<string>)
            [s.Name, s.Status.Replace('_', ' '), s.Seconds is { } sec ? sec.ToString("F1", Inv) : "", s.OptionsHash ?? "", s.Message ?? ""]).ToList();
        blocks.Add(new Paragraph("Stages of the run as recorded in manifest.json (a stage reruns when its options hash changes)."));
        blocks.Add(new TableBlock("stages", ["stage", "status", "seconds", "options hash", "note"], rows));
        return new Section("Run stages", "stages", blocks);
    }

    static Section Method(Context c) => new("How to read this report", "method",
    [
        new Paragraph("Two-stage: all BIOs, then the QA pairs of ID people. Mixed: BIOs and ID QA shuffled together. QA-OOD asks about people " +
                      "whose QA was never trained on: only knowledge extracted from their BIOs answers it."),
        new Paragraph("Cross-task gradient trace: every parameter is scored on BIO examples and on QA examples; TopK_T holds the fraction rho " +
                      "of parameters with the highest scores for task T; S = TopK_BIO ∩ TopK_QA is the shared set. Enrichment = |S| / (rho x k): " +
                      "how many times more overlap than two independent random sets would have."),
        new Paragraph($"Verdicts: claim 1 holds when mixed QA-OOD exceeds two-stage by at least {100 * Claims.OodGap:0} points and by a factor " +
                      $"{Claims.OodRatio:0.#}; claim 2 when mixed's |S| is larger at the headline rho; claim 3 when mixed's Gini coefficient " +
                      "is higher over heads and over neurons (each one measured); claim 4 when resetting S lowers mixed QA-OOD more than random " +
                      $"sets do by at least max({100 * Claims.AblationMargin:0} points, 2 sd of the random drops). 'not measured' = inputs missing."),
        new Paragraph("Several seeds: each number is the mean over seeds ± the sample standard deviation; random ablation controls pool the " +
                      "spread over draws and seeds (square root of the mean within-seed variance plus the variance of the seed means)."),
    ]);
}
