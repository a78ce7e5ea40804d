using FactTrace.Reporting;

namespace FactTrace.Tests.Reporting;

public class ClaimsTests
{
    static Stat S(double mean, double sd = 0, int n = 1) => new(mean, sd, n);

    static Verdict V(ClaimInputs x, string id) => Claims.Evaluate(x).Single(c => c.Id == id).Verdict;

    [Theory]
    [InlineData(0.10, 0.85, Verdict.Held)]
    [InlineData(0.10, 0.30, Verdict.Held)]      // exactly 20 points and 3x
    [InlineData(0.10, 0.29, Verdict.NotHeld)]   // 19 points
    [InlineData(0.40, 0.70, Verdict.NotHeld)]   // 30 points but less than 2x
    [InlineData(0.00, 0.20, Verdict.Held)]
    [InlineData(0.50, 0.40, Verdict.NotHeld)]
    public void OodClaimNeedsTwentyPointsAndTwice(double twoStage, double mixed, Verdict expected) =>
        Assert.Equal(expected, V(new ClaimInputs { QaOodTwoStage = S(twoStage), QaOodMixed = S(mixed) }, "ood"));

    [Fact]
    public void SizeClaimComparesMeansAtTheHeadlineRho()
    {
        Assert.Equal(Verdict.Held, V(new ClaimInputs { SharedTwoStage = S(100), SharedMixed = S(101) }, "size"));
        Assert.Equal(Verdict.NotHeld, V(new ClaimInputs { SharedTwoStage = S(100), SharedMixed = S(100) }, "size"));
        Assert.Equal(Verdict.NotMeasured, V(new ClaimInputs { SharedMixed = S(100) }, "size"));
    }

    [Fact]
    public void CentralizationNeedsEveryMeasuredGiniHigher()
    {
        var both = new ClaimInputs { GiniHeadsTwoStage = S(0.2), GiniHeadsMixed = S(0.3), GiniNeuronsTwoStage = S(0.2), GiniNeuronsMixed = S(0.4) };
        Assert.Equal(Verdict.Held, V(both, "centralization"));
        Assert.Equal(Verdict.NotHeld, V(both with { GiniNeuronsMixed = S(0.1) }, "centralization"));
        Assert.Equal(Verdict.Held, V(new ClaimInputs { GiniHeadsTwoStage = S(0.2), GiniHeadsMixed = S(0.3) }, "centralization"));
        Assert.Equal(Verdict.NotMeasured, V(new ClaimInputs(), "centralization"));
    }

    [Theory]
    [InlineData(0.85, 0.20, 0.83, 0.01, Verdict.Held)]     // drops 65 vs 2 points
    [InlineData(0.85, 0.72, 0.83, 0.01, Verdict.Held)]     // 13 - 2 = 11 >= 10
    [InlineData(0.85, 0.74, 0.83, 0.01, Verdict.NotHeld)]  // 11 - 2 = 9 < 10
    [InlineData(0.85, 0.40, 0.70, 0.10, Verdict.Held)]     // 45 - 15 = 30 >= 2 sd = 20
    [InlineData(0.85, 0.55, 0.70, 0.10, Verdict.NotHeld)]  // 30 - 15 = 15 < 2 sd = 20
    public void AblationClaimNeedsAMarginOverRandom(double none, double shared, double random, double sd, Verdict expected)
    {
        var x = new ClaimInputs { AblationMixed = new AblationSummary(S(none), S(shared), S(random, sd)) };
        var margin = Math.Max(Claims.AblationMargin, 2 * sd);
        var expectedFromNumbers = (none - shared) - (none - random) >= margin ? Verdict.Held : Verdict.NotHeld;
        Assert.Equal(expectedFromNumbers, V(x, "ablation"));
        Assert.Equal(expected, V(x, "ablation"));
    }

    [Fact]
    public void AblationClaimLooksAtTheMixedModelOnly()
    {
        var x = new ClaimInputs { AblationTwoStage = new AblationSummary(S(0.1), S(0.0), S(0.1, 0.01)) };
        Assert.Equal(Verdict.NotMeasured, V(x, "ablation"));
        Assert.Contains("drop 10.0 points (S)", Claims.Evaluate(x).Single(c => c.Id == "ablation").TwoStage);
    }
}
