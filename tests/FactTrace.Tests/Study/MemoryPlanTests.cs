using FactTrace.IO;
using FactTrace.Study;
using FactTrace.Training;

namespace FactTrace.Tests.Study;

/// <summary>`facttrace plan`: the paper's models sized from their configs alone, against a budget.</summary>
public class MemoryPlanTests
{
    [Theory]
    [InlineData("llama-3.2-3b", 3_212_749_824L)]
    [InlineData("pythia-2.8b", 2_775_208_960L)]
    public void ThePapersModelsAreSizedFromTheirConfigs(string model, long parameters)
    {
        var plan = MemoryPlan.For(model, batchSize: 4, sequenceLength: 256, Precision.Bf16, budgetBytes: 80 * MemoryPlan.GiB);
        Assert.Equal(parameters, plan.Parameters);
        Assert.Equal(4 * parameters, plan.Training.Single(i => i.What.StartsWith("weights")).Bytes);
        Assert.Equal(8 * parameters, plan.Training.Single(i => i.What.StartsWith("AdamW")).Bytes);
        Assert.Equal(8 * parameters, plan.Training.Single(i => i.What.StartsWith("lr-grad")).Bytes);
        // Training at batch 4 fits one 80 GB GPU; the analyses (weights, gradients, sums, |sums|, two weight copies: 32
        // bytes per parameter) and the robustness stage (4 kinds x 2 accumulators at once) do not.
        Assert.True(plan.TrainingBytes < 80 * MemoryPlan.GiB);
        Assert.Equal(32 * parameters, plan.AnalysisBytes - plan.Analysis.Single(i => i.What.StartsWith("activations")).Bytes);
        Assert.Equal(4 * 8 * parameters, plan.Robustness.Single(i => i.What.StartsWith("trace")).Bytes);
        Assert.Equal(plan.RobustnessBytes, plan.PeakBytes);
        Assert.False(plan.Fits);
        var oneKind = MemoryPlan.For(model, 4, 256, Precision.Bf16, 80 * MemoryPlan.GiB, robustnessKinds: 1);
        Assert.Equal(oneKind.AnalysisBytes, oneKind.RobustnessBytes);
        // Activations grow with the batch; a budget is optional.
        Assert.True(MemoryPlan.For(model, 16, 256, Precision.Bf16).TrainingBytes > plan.TrainingBytes);
        Assert.Null(MemoryPlan.For(model, 4, 256, Precision.Bf16).Fits);
        Assert.Contains("\"peak_bytes\"", Json.Serialize(plan));
    }

    [Fact]
    public void TheVerbPrintsThePlanAndRefusesBadNumbers()
    {
        Assert.Equal(0, InProcessCli.Run("plan", "stories260k", "--budget-gib", "1").Code);
        Assert.Equal(2, InProcessCli.Run("plan", "stories260k", "--batch-size", "0").Code);
        Assert.Equal(2, InProcessCli.Run("plan", "no-such-model").Code);
        Assert.Equal(2, InProcessCli.Run("plan", "stories260k", "--precision", "fp8").Code);
    }
}
