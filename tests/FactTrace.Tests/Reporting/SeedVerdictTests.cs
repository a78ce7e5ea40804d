using FactTrace.Reporting;

namespace FactTrace.Tests.Reporting;

/// <summary>The noise-aware verdict on fabricated per-seed effects (positive = the claim's direction).</summary>
public class SeedVerdictTests
{
    static SeedEvidence J(params double?[] e) => SeedVerdict.Judge(e);

    [Fact]
    public void EverySeedAgreeingWithAMarginHolds()
    {
        var r = J(0.30, 0.25, 0.35);
        Assert.Equal(Verdict.Held, r.Verdict);
        Assert.Equal((3, 3), (r.Seeds, r.Agreeing));
        Assert.Equal(0.30, r.Mean, 12);
        Assert.Equal(0.05, r.Sd, 12);
        Assert.Equal("3 of 3 seeds agree", r.Text);
    }

    [Fact]
    public void OneSeedDisagreeingIsNotHeldBelowSixSeeds()
    {
        var r = J(0.30, 0.25, -0.01);
        Assert.Equal(Verdict.NotHeld, r.Verdict);
        Assert.Equal("2 of 3 seeds agree", r.Text);
    }

    [Fact]
    public void ASpreadLargerThanTheEffectIsNotHeld()
    {
        // Every seed agrees, but the mean (0.07) is within the sd (0.09): seed noise could make it.
        var r = J(0.01, 0.02, 0.20);
        Assert.Equal(Verdict.NotHeld, r.Verdict);
        Assert.True(r.Sd > r.Mean);
        Assert.Contains("within the seed spread", r.Text);
    }

    [Fact]
    public void DegenerateSeedsAreLeftOutAndAllDegenerateIsNotMeasured()
    {
        Assert.Equal(Verdict.NotMeasured, J(null, null).Verdict);
        Assert.Equal("n/a (no seed measured it)", J(null, double.NaN).Text);
        var r = J(0.3, null, 0.31);
        Assert.Equal((2, Verdict.Held), (r.Seeds, r.Verdict));
    }

    [Fact]
    public void OneSeedIsNotTestable()
    {
        var r = J(0.5);
        Assert.Equal(Verdict.NotMeasured, r.Verdict);
        Assert.Equal("1 seed: not testable", r.Text);
        Assert.Equal("1 seed: not testable", J(0.5, null).Text);
    }

    [Fact]
    public void FromSixSeedsASignTestAtFivePercentDecides()
    {
        // 6 of 6 positive: p = 1/64 < 0.05; 5 of 6: p = 7/64 = 0.109, not significant; 9 of 10: p = 11/1024.
        Assert.Equal(1.0 / 64, SeedVerdict.SignTestP(6, 6), 15);
        Assert.Equal(7.0 / 64, SeedVerdict.SignTestP(5, 6), 15);
        Assert.Equal(11.0 / 1024, SeedVerdict.SignTestP(9, 10), 15);
        Assert.Equal(1.0, SeedVerdict.SignTestP(0, 7), 15);
        Assert.Equal(Verdict.Held, J(0.3, 0.2, 0.25, 0.3, 0.35, 0.28).Verdict);
        var five = J(0.3, 0.2, 0.25, 0.3, 0.35, -0.01);
        Assert.Equal(Verdict.NotHeld, five.Verdict);
        Assert.Contains("sign test p = 0.109", five.Text);
        Assert.Equal(Verdict.Held, J(0.3, 0.2, 0.25, 0.3, 0.35, 0.28, 0.3, 0.22, 0.31, -0.01).Verdict);
    }
}
