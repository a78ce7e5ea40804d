using System.Text.RegularExpressions;
using FactTrace.IO;
using FactTrace.Reporting;
using FactTrace.Study;
using FactTrace.Tests.World;

namespace FactTrace.Tests.Reporting;

public class ReportTests
{
    static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    static string Verdict(ReportResult r, string id) => ClaimResult.Text(r.Claims.Single(c => c.Id == id).Verdict);

    [Fact]
    public void FullRunGivesMarkdownSelfContainedHtmlAndEveryFigure()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        SyntheticRun.Write(tmp.Path, two, mixed);
        var r = ReportBuilder.Build(tmp.Path);

        Assert.Null(ReportBuilder.Check(r.Dir));
        var names = r.Figures.Select(Path.GetFileName).ToHashSet();
        Assert.Equal(new HashSet<string?> { "learning_curves.png", "qa_ood_per_attribute.png", "shared_vs_rho.png",
            "density_layer_component.png", "density_layer_head.png", "ablation.png" }, names);
        foreach (var f in r.Figures)
        {
            var bytes = File.ReadAllBytes(f);
            Assert.True(bytes.Length > 5000, $"{f}: {bytes.Length} bytes");
            Assert.Equal(PngSignature, bytes[..8]);
        }

        var md = File.ReadAllText(r.MarkdownPath);
        foreach (var f in names) Assert.Contains($"](figures/{f})", md);
        Assert.Contains("| Claim (paper) |", md);

        var html = File.ReadAllText(r.HtmlPath);
        Assert.Contains("<table id=\"headline\">", html);
        Assert.Equal(names.Count, Regex.Matches(html, "<img [^>]*src=\"data:image/png;base64,").Count);
        // Self-contained: nothing to fetch (no external src/href, no stylesheet links).
        Assert.DoesNotMatch("(src|href)=\"(https?:|//|figures/)", html);
        Assert.DoesNotContain("<link", html);

        // The criteria hold on the numbers, but one seed cannot tell an effect from seed noise.
        Assert.All(r.Claims, c => Assert.Equal(FactTrace.Reporting.Verdict.Held, c.OnMeans));
        Assert.All(r.Claims, c => Assert.Equal(FactTrace.Reporting.Verdict.NotTestable, c.Verdict));
        Assert.All(r.Claims, c => Assert.Equal("1 seed; criterion met in it", c.SeedsText));
        Assert.Contains("85.0%", r.Claims.Single(c => c.Id == "ood").Mixed);
        Assert.Contains("8.0%", r.Claims.Single(c => c.Id == "ood").TwoStage);
        Assert.Equal("600", r.Claims.Single(c => c.Id == "size").Mixed);
        Assert.Equal(4, Regex.Matches(html, "<td class=\"not-measured\">1 seed: not testable</td>").Count);
    }

    [Fact]
    public void WithSeveralSeedsTheVerdictsFollowTheNumbersInEverySeed()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        foreach (var k in new[] { 0, 1, 2 }) SyntheticRun.Write(Path.Combine(tmp.Path, $"seed-{k}"), two, mixed);
        var r = ReportBuilder.Build(tmp.Path);
        Assert.All(r.Claims, c => Assert.Equal(FactTrace.Reporting.Verdict.Held, c.Verdict));
        Assert.All(r.Claims, c => Assert.Equal("3 of 3 seeds agree", c.SeedsText));
        Assert.Equal(4, Regex.Matches(File.ReadAllText(r.HtmlPath), "<td class=\"held\">held</td>").Count);

        // One seed where two-stage generalizes as well: the OOD claim no longer holds in every seed.
        SyntheticRun.Write(Path.Combine(tmp.Path, "seed-2"), two with { QaOod = mixed.QaOod }, mixed);
        var turned = ReportBuilder.Build(tmp.Path).Claims.Single(c => c.Id == "ood");
        Assert.Equal(FactTrace.Reporting.Verdict.NotHeld, turned.Verdict);
        Assert.Equal("2 of 3 seeds agree", turned.SeedsText);
    }

    [Fact]
    public void VerdictsTurnWhenTheNumbersDo()
    {
        using var tmp = new TempDir();
        // Two-stage generalizes as well as mixed, has the larger and more central S, and S matters no more than random.
        var two = new FakeStrategy { QaOod = 0.7, SharedPerRho = [30, 900, 9000], GiniHeads = 0.6, GiniNeurons = 0.7 };
        var mixed = new FakeStrategy { QaOod = 0.75, SharedPerRho = [20, 600, 8000], GiniHeads = 0.5, GiniNeurons = 0.6,
            AblateNone = 0.75, AblateShared = 0.70, AblateRandom = 0.72, AblateRandomSd = 0.01 };
        foreach (var k in new[] { 0, 1 }) SyntheticRun.Write(Path.Combine(tmp.Path, $"seed-{k}"), two, mixed);
        var r = ReportBuilder.Build(tmp.Path);
        Assert.All(r.Claims, c => Assert.Equal(FactTrace.Reporting.Verdict.NotHeld, c.Verdict));
        Assert.Equal(4, Regex.Matches(File.ReadAllText(r.HtmlPath), "<td class=\"not-held\">not held</td>").Count);
        Assert.Contains("**not held**", File.ReadAllText(r.MarkdownPath));
    }

    [Fact]
    public void MissingAnalysisIsSaidInItsSectionsNotAFailure()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        SyntheticRun.Write(tmp.Path, two, mixed, analysis: false);
        // A manifest as reproduce leaves it in a build without the analysis stages.
        new Manifest
        {
            Preset = "tiny",
            Stages =
            [
                new StageRecord { Name = "two-stage", Status = StageStatus.Done },
                new StageRecord { Name = "mixed", Status = StageStatus.Done },
                .. new[] { "trace", "ablate", "graft" }.SelectMany(k => new[] { "two-stage", "mixed" }.Select(s =>
                    new StageRecord { Name = $"{k}/{s}", Status = StageStatus.NotAvailable, Message = "not available in this build" })),
            ],
        }.Save(tmp.Path);
        var r = ReportBuilder.Build(tmp.Path);

        Assert.Equal(["learning_curves.png", "qa_ood_per_attribute.png"], r.Figures.Select(Path.GetFileName));
        var md = File.ReadAllText(r.MarkdownPath);
        Assert.Contains("stage trace/two-stage is not available (not available in this build)", md);
        Assert.Contains("stage ablate/mixed is not available (not available in this build)", md);
        Assert.Contains("stage graft/two-stage is not available", md);
        var verdicts = r.Claims.ToDictionary(c => c.Id, c => c.Verdict);
        Assert.Equal(FactTrace.Reporting.Verdict.NotTestable, verdicts["ood"]); // one seed
        Assert.Equal(FactTrace.Reporting.Verdict.NotMeasured, verdicts["size"]);
        Assert.Equal(FactTrace.Reporting.Verdict.NotMeasured, verdicts["centralization"]);
        Assert.Equal(FactTrace.Reporting.Verdict.NotMeasured, verdicts["ablation"]);
        Assert.Contains("<td class=\"not-measured\">not measured</td>", File.ReadAllText(r.HtmlPath));
        Assert.Null(ReportBuilder.Check(r.Dir));
    }

    [Fact]
    public void WithoutAManifestMissingFilesAreNamed()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        SyntheticRun.Write(tmp.Path, two, mixed, analysis: false);
        var md = File.ReadAllText(ReportBuilder.Build(tmp.Path).MarkdownPath);
        Assert.Contains("trace/two-stage/trace.json not found", md);
        Assert.Contains("No manifest.json", md);
    }

    [Fact]
    public void AStrategyWithoutATraceLeavesItsHeatmapPanelEmpty()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        SyntheticRun.Write(tmp.Path, two, mixed);
        Directory.Delete(Path.Combine(tmp.Path, "trace", "two-stage"), recursive: true);
        var r = ReportBuilder.Build(tmp.Path);
        Assert.Contains("density_layer_head.png", r.Figures.Select(Path.GetFileName));
        Assert.Contains("two-stage: trace/two-stage/trace.json not found", File.ReadAllText(r.MarkdownPath));
        Assert.Equal("n/a", r.Claims.Single(c => c.Id == "size").TwoStage);
    }

    [Fact]
    public void SeedsAggregateToMeanAndSd()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        SyntheticRun.Write(Path.Combine(tmp.Path, "seed-0"), two, mixed with { QaOod = 0.80, SharedPerRho = [20, 500, 9000] });
        SyntheticRun.Write(Path.Combine(tmp.Path, "seed-1"), two, mixed with { QaOod = 0.90, SharedPerRho = [20, 700, 9000] });
        var r = ReportBuilder.Build(tmp.Path);
        var ood = r.Claims.Single(c => c.Id == "ood");
        // mean 85%, sample sd of {80, 90} = 7.07
        Assert.Equal("85.0 ± 7.1%", ood.Mixed);
        Assert.Equal("8.0 ± 0.0%", ood.TwoStage);
        Assert.Equal("600 ± 141", r.Claims.Single(c => c.Id == "size").Mixed);
        Assert.Contains("means ± sample standard deviations over the 2 seeds", File.ReadAllText(r.MarkdownPath));
        Assert.Equal(6, r.Figures.Count);
    }

    [Fact]
    public void RandomControlsPoolDrawsAndSeeds()
    {
        // Two seeds: random means 0.80 and 0.84 (sd between = 0.0283), sd over draws 0.03 each: sqrt(0.0009 + 0.0008).
        var s = Stat.Pooled([(0.80, 0.03), (0.84, 0.03)])!.Value;
        Assert.Equal(0.82, s.Mean, 12);
        Assert.Equal(Math.Sqrt(0.0009 + 0.0008), s.Sd, 12);
        Assert.Equal(0.03, Stat.Pooled([(0.8, 0.03)])!.Value.Sd, 12);
    }

    [Fact]
    public void DamagedInputIsAOneLineErrorNamingTheFile()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        SyntheticRun.Write(tmp.Path, two, mixed);
        File.WriteAllText(Path.Combine(tmp.Path, "trace", "mixed", "trace.json"), "{ not json");
        var e = Assert.ThrowsAny<FactTraceException>(() => ReportBuilder.Build(tmp.Path));
        Assert.Contains("trace.json", e.Message);
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "report")));
    }

    [Fact]
    public void AFolderThatIsNotARunIsAUsageError()
    {
        using var tmp = new TempDir();
        var e = Assert.ThrowsAny<FactTraceException>(() => ReportBuilder.Build(tmp.Path));
        Assert.Equal(FactTrace.IO.ErrorKind.Usage, e.Kind);
        Assert.ThrowsAny<FactTraceException>(() => ReportBuilder.Build(tmp.Sub("missing")));
    }
}
