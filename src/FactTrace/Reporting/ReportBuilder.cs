using System.Text.RegularExpressions;
using FactTrace.IO;
using FactTrace.Study;
using static FactTrace.Reporting.ReportContext;

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
/// report.md, a self-contained report.html and figures/*.png. A missing input makes its section say so. The sections
/// live with their inputs: <see cref="ScoreSections"/> (eval, learning curves), <see cref="TraceSections"/> (trace) and
/// <see cref="InterventionSections"/> (ablation, grafting); rendering is <see cref="ReportDocument"/>'s.
/// </summary>
public static class ReportBuilder
{
    public const string FolderName = "report", MarkdownFile = "report.md", HtmlFile = "report.html", FiguresFolder = "figures";

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
            var ctx = new ReportContext(data, options, figuresDir);
            var (doc, claims) = Compose(ctx);
            AtomicFile.WriteAllText(Path.Combine(tmp, MarkdownFile), doc.ToMarkdown(FiguresFolder));
            AtomicFile.WriteAllText(Path.Combine(tmp, HtmlFile), doc.ToHtml(name => File.ReadAllBytes(Path.Combine(figuresDir, name))));
            result = new ReportResult(reportDir, Path.Combine(reportDir, MarkdownFile), Path.Combine(reportDir, HtmlFile),
                [.. ctx.Figures.Select(f => Path.Combine(reportDir, FiguresFolder, f))], claims);
        }, "report folder");
        return result!;
    }

    static (ReportDocument, IReadOnlyList<ClaimResult>) Compose(ReportContext c)
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

        var claims = Claims.Evaluate(ClaimInputsOf(c));
        var sections = new List<Section>
        {
            new("Headline: the paper's claims and ours", "headline", [.. Headline(claims), .. RobustnessLine(d)]),
            new("Final evaluation", "final", ScoreSections.FinalScores(c)),
            new("Learning curves", "curves", ScoreSections.LearningCurves(c)),
            new("QA-OOD per attribute", "attributes", ScoreSections.PerAttribute(c)),
            new("Shared parameters across rho", "shared", TraceSections.SharedSet(c)),
            new("Where the shared parameters sit", "heatmaps", TraceSections.Heatmaps(c)),
            new("Ablation: resetting S vs controls", "ablation", InterventionSections.Ablation(c)),
            new("Grafting", "graft", InterventionSections.Graft(c)),
            new("Robustness: every claim under every trace variant", "robustness", RobustnessSections.Table(c)),
            new("Run stages", "stages", Stages(c)),
            new("How to read this report", "method", Method()),
        };
        return (new ReportDocument("FactTrace report: two-stage vs mixed training", preamble, sections), claims);
    }

    static ClaimInputs ClaimInputsOf(ReportContext c)
    {
        var rho = c.HeadlineRho;
        Stat? Shared(string s) => c.Over(s, r => TraceSections.Nearest(r.Trace, rho)?.Shared);
        Stat? Gini(string s, bool heads) => c.Over(s, r => GiniOf(r, rho, heads));
        AblationSummary? Abl(string s)
        {
            var none = InterventionSections.QaOod(c, s, "none");
            var shared = InterventionSections.QaOod(c, s, "shared");
            var random = InterventionSections.QaOod(c, s, "random");
            return none is null && shared is null && random is null ? null : new AblationSummary(none, shared, random);
        }
        int compared = 0, larger = 0;
        foreach (var r in TraceSections.SweepRhos(c))
        {
            var t = c.Over("two-stage", x => TraceSections.At(x, r)?.Shared);
            var m = c.Over("mixed", x => TraceSections.At(x, r)?.Shared);
            if (t is null || m is null) continue;
            compared++;
            if (m.Value.Mean > t.Value.Mean) larger++;
        }
        return new ClaimInputs
        {
            HeadlineRho = rho,
            QaOodTwoStage = c.Over("two-stage", r => r.Eval?.QaOod),
            QaOodMixed = c.Over("mixed", r => r.Eval?.QaOod),
            SharedTwoStage = Shared("two-stage"), SharedMixed = Shared("mixed"),
            RhosCompared = compared, RhosMixedLarger = larger,
            GiniHeadsTwoStage = Gini("two-stage", true), GiniHeadsMixed = Gini("mixed", true),
            GiniNeuronsTwoStage = Gini("two-stage", false), GiniNeuronsMixed = Gini("mixed", false),
            AblationTwoStage = Abl("two-stage"), AblationMixed = Abl("mixed"),
            SeedEffects = SeedEffects(c, rho),
        };
    }

    /// <summary>
    /// A Gini coefficient of S at <paramref name="rho"/> over heads or neurons, or null where it is degenerate: fewer
    /// than 2 heads hold any of S, or no MLP parameter is in S (then "over neurons" measures nothing and reads 1.000).
    /// </summary>
    static double? GiniOf(StrategyRun r, double rho, bool heads)
    {
        if (TraceSections.Nearest(r.Trace, rho) is not { } p) return null;
        var nonzero = heads ? p.ByHead.Count(h => h.Shared > 0)
            : p.ByLayerComponent.Where(x => x.Component is "mlp_in" or "mlp_out").Sum(x => x.Shared) > 0 ? 2 : 0;
        return nonzero < 2 ? null : (heads ? p.Centralization.Heads : p.Centralization.Neurons).Gini;
    }

    /// <summary>Each claim's effect in each seed (see <see cref="ClaimInputs.SeedEffects"/>).</summary>
    static Dictionary<string, IReadOnlyList<double?>> SeedEffects(ReportContext c, double rho)
    {
        var seeds = c.Data.Seeds.Select(s => (Two: s.Strategies["two-stage"], Mixed: s.Strategies["mixed"])).ToList();
        double? Ood((StrategyRun Two, StrategyRun Mixed) s) =>
            s.Two.Eval is { } t && s.Mixed.Eval is { } m ? Claims.OodEffect(t.QaOod, m.QaOod) : null;
        double? Size((StrategyRun Two, StrategyRun Mixed) s) =>
            TraceSections.Nearest(s.Two.Trace, rho) is { } t && TraceSections.Nearest(s.Mixed.Trace, rho) is { } m ? m.Shared - t.Shared : null;
        double? Central((StrategyRun Two, StrategyRun Mixed) s)
        {
            var d = new[] { true, false }.Select(h => GiniOf(s.Mixed, rho, h) - GiniOf(s.Two, rho, h)).Where(x => x is not null).ToList();
            return d.Count == 0 ? null : d.Min();
        }
        double? Ablation((StrategyRun Two, StrategyRun Mixed) s)
        {
            if (s.Mixed.Ablation?.Conditions is not { } cs) return null;
            var none = cs.FirstOrDefault(x => x.Name == "none");
            var shared = cs.FirstOrDefault(x => x.Name == "shared");
            var random = cs.FirstOrDefault(x => x.Name == "random");
            return none is null || shared is null || random is null ? null
                : Claims.AblationEffect(none.QaOod, shared.QaOod, random.QaOod, random.QaOodSd ?? 0);
        }
        return new()
        {
            ["ood"] = [.. seeds.Select(Ood)], ["size"] = [.. seeds.Select(Size)],
            ["centralization"] = [.. seeds.Select(Central)], ["ablation"] = [.. seeds.Select(Ablation)],
        };
    }

    static List<Block> Headline(IReadOnlyList<ClaimResult> claims)
    {
        var rows = claims.Select(r => (IReadOnlyList<string>)[r.Claim, r.Criterion, r.TwoStage, r.Mixed, r.SeedsText, ClaimResult.Text(r.Verdict)]).ToList();
        var blocks = new List<Block>
        {
            new Paragraph("The paper's claims, the criterion each is judged by (fixed in the code, not tuned to the result), our numbers and the verdict, computed from the run's files."),
            new TableBlock("headline", ["Claim (paper)", "Criterion", "Two-stage", "Mixed", "Seeds", "Result"], rows, VerdictColumn: 5),
        };
        foreach (var r in claims.Where(r => r.Note is not null)) blocks.Add(new Paragraph($"{r.Claim}: {r.Note}."));
        var missing = claims.Where(r => r.Verdict == Verdict.NotMeasured).ToList();
        if (missing.Count > 0)
            blocks.Add(new Note($"{missing.Count} of {claims.Count} claims are not measured: their inputs are missing (see the sections below)."));
        return blocks;
    }

    static IEnumerable<Block> RobustnessLine(RunData d) =>
        RobustnessSections.HeadlineLine(d) is { } line ? [new Paragraph(line)] : [];

    static List<Block> Stages(ReportContext c)
    {
        if (c.Data.Manifest is not { } m)
            return [new Note($"No {Manifest.FileName}: this folder was not written by `facttrace reproduce`, so stage states are unknown.")];
        // The report stage itself is running while this is written.
        var rows = m.Stages.Where(s => s.Name != FolderName).Select(s => (IReadOnlyList<string>)
            [s.Name, s.Status.Replace('_', ' '), s.Seconds is { } sec ? sec.ToString("F1", Inv) : "", s.OptionsHash ?? "", s.Message ?? ""]).ToList();
        return
        [
            new Paragraph("Stages of the run as recorded in manifest.json (a stage reruns when its options hash changes)."),
            new TableBlock("stages", ["stage", "status", "seconds", "options hash", "note"], rows),
        ];
    }

    static List<Block> Method() =>
    [
        new Paragraph("Two-stage: all BIOs, then the QA pairs of ID people. Mixed: BIOs and ID QA shuffled together. QA-OOD asks about people " +
                      "whose QA was never trained on: only knowledge extracted from their BIOs answers it."),
        new Paragraph("Cross-task gradient trace: every parameter is scored on BIO examples and on QA examples; TopK_T holds the fraction rho " +
                      "of parameters with the highest scores for task T; S = TopK_BIO ∩ TopK_QA is the shared set. Enrichment = |S| / (rho x k): " +
                      "how many times more overlap than two independent random sets would have."),
        new Paragraph($"Verdicts: claim 1 holds when mixed QA-OOD exceeds two-stage by at least {100 * Claims.OodGap:0} points and by a factor " +
                      $"{Claims.OodRatio:0.#}; claim 2 when mixed's |S| is larger at the headline rho; claim 3 when mixed's Gini coefficient " +
                      "is higher over heads and over neurons (each one measured); claim 4 when resetting S lowers mixed QA-OOD more than random " +
                      $"sets do by at least max({100 * Claims.AblationMargin:0} points, 2 sd of the random drops). 'not measured' = inputs missing. " +
                      "A Gini over heads is n/a when fewer than 2 heads hold any of S, over neurons when S holds no MLP parameter (it would read 1.000)."),
        new Paragraph($"Noise: a claim is held only if its criterion holds on the means and in the seeds: in every seed (below " +
                      $"{SeedVerdict.SignTestSeeds} seeds) or by a one-sided sign test at the {100 * SeedVerdict.Alpha:0}% level (from " +
                      $"{SeedVerdict.SignTestSeeds} on), with a mean effect larger than its spread over seeds. A one-seed run reads '1 seed: not " +
                      "testable' beside its numbers: at this scale single-seed parameter-level results flip with rounding (run with --seeds N)."),
        new Paragraph("Several seeds: each number is the mean over seeds ± the sample standard deviation; random ablation controls pool the " +
                      "spread over draws and seeds (square root of the mean within-seed variance plus the variance of the seed means)."),
    ];
}
