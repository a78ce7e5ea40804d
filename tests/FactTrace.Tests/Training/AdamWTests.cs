using System.Text.Json;
using FactTrace.Models;
using FactTrace.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FactTrace.Tests.Training;

/// <summary>The hand-written AdamW against TorchSharp's torch.optim.AdamW, and the learning-rate schedule against its closed form.</summary>
[Collection("torch-threads")]
public sealed class AdamWTests(ITestOutputHelper output)
{
    /// <summary>The trainer's grouping rule (Trainer.ParameterGroups): no weight decay on norms, biases and the input embedding.</summary>
    static bool NoDecay(string name, Tensor p) =>
        p.dim() < 2 || name.EndsWith("embed_in.weight") || name.EndsWith("embed_tokens.weight");

    [Theory]
    [InlineData(ModelConfig.GptNeoX)]
    [InlineData(ModelConfig.Llama)]
    public void MatchesTorchAdamWOverFiftyStepsWithTheTrainersGroupsAndSchedule(string family)
    {
        const int steps = 50;
        const double wd = 0.1, beta1 = 0.9, beta2 = 0.98, eps = 1e-8;
        var w = TrainingFixture.World();
        using var ours = TrainingFixture.Model(w, 0, family);
        using var theirs = TrainingFixture.Model(w, 0, family);
        var oursP = ours.named_parameters().ToList();
        var theirsP = theirs.named_parameters().ToList();
        Assert.Equal(oursP.Select(p => p.name), theirsP.Select(p => p.name));
        using (var noGrad = no_grad())
            foreach (var ((_, a), (_, b)) in oursP.Zip(theirsP)) b.copy_(a);

        var decayed = oursP.Where(p => !NoDecay(p.name, p.parameter)).Select(p => p.name).ToHashSet();
        Assert.NotEmpty(decayed);
        Assert.Contains(oursP, p => !decayed.Contains(p.name));
        using var opt = new AdamW([
            new AdamW.Group(oursP.Where(p => decayed.Contains(p.name)).Select(p => (p.name, (Tensor)p.parameter)).ToList(), wd),
            new AdamW.Group(oursP.Where(p => !decayed.Contains(p.name)).Select(p => (p.name, (Tensor)p.parameter)).ToList(), 0.0)],
            beta1, beta2, eps);
        using var torchOpt = optim.AdamW([
            new TorchSharp.Modules.AdamW.ParamGroup(theirsP.Where(p => decayed.Contains(p.name)).Select(p => p.parameter), lr: 0, beta1: beta1, beta2: beta2, eps: eps, weight_decay: wd),
            new TorchSharp.Modules.AdamW.ParamGroup(theirsP.Where(p => !decayed.Contains(p.name)).Select(p => p.parameter), lr: 0, beta1: beta1, beta2: beta2, eps: eps, weight_decay: 0.0)],
            lr: 0, beta1: beta1, beta2: beta2, eps: eps);

        // A fixed deterministic loss (next-token loss of one batch) evaluated at our weights; the same gradients are
        // handed to both optimizers. The learning rate changes every step (warmup, then cosine), as the trainer sets it.
        var data = ExampleEncoder.FromWorld(w, w.Tokenizer);
        using var batch = Batch.Collate(data.Bio.Take(8).ToList(), w.Tokenizer.PadId);
        var schedule = LrSchedule.Create(3e-3, steps, 0.1, 0.1);
        double maxAbs = 0, maxRel = 0, maxMove = 0;
        var bitEqualSteps = 0;
        for (var step = 0; step < steps; step++)
        {
            var lr = schedule.At(step);
            using (var scope = NewDisposeScope())
            {
                Loss.NextToken(ours, batch).backward();
                using (var noGrad = no_grad())
                    foreach (var ((_, a), (_, b)) in oursP.Zip(theirsP)) b.grad = a.grad!.clone();
                opt.StepWith(lr);
                foreach (var g in torchOpt.ParamGroups) g.LearningRate = lr;
                torchOpt.step();
                opt.ZeroGrad();
                torchOpt.zero_grad();
            }
            using (var scope = NewDisposeScope())
            using (var noGrad = no_grad())
            {
                var allEqual = true;
                foreach (var ((name, a), (_, b)) in oursP.Zip(theirsP))
                {
                    var diff = (a - b).abs();
                    maxAbs = Math.Max(maxAbs, diff.max().item<float>());
                    maxRel = Math.Max(maxRel, (diff / b.abs().clamp_min(1e-12)).max().item<float>());
                    allEqual &= a.equal(b).all().item<bool>();
                }
                if (allEqual) bitEqualSteps++;
            }
        }
        using (var noGrad = no_grad())
        using (var init = TrainingFixture.Model(w, 0, family))
            foreach (var ((_, a), (_, b)) in oursP.Zip(init.named_parameters()))
                maxMove = Math.Max(maxMove, (a - b).abs().max().item<float>());
        output.WriteLine($"{family}: max |w_ours - w_torch| = {maxAbs:G3}, max relative = {maxRel:G3} over {steps} steps; " +
                         $"bit-identical after {bitEqualSteps}/{steps} steps; largest move from init {maxMove:G3}");
        Assert.True(maxMove > 1e-3, "the weights hardly moved: the comparison would be vacuous");
        Assert.True(maxAbs <= 1e-6, $"max |w_ours - w_torch| = {maxAbs:G3} > 1e-6 (absolute)");
    }

    [Fact]
    public void WeightDecayIsDecoupledAndSkipsTheNoDecayGroup()
    {
        // A zero gradient: Adam's update is 0, so only the decoupled decay p *= 1 - lr * wd can move a weight.
        using var decayed = full(new long[] { 3 }, 2.0f);
        using var plain = full(new long[] { 3 }, 2.0f);
        using var opt = new AdamW([new AdamW.Group([("d", decayed)], 0.5), new AdamW.Group([("p", plain)], 0.0)], 0.9, 0.98);
        decayed.grad = zeros(3);
        plain.grad = zeros(3);
        opt.StepWith(0.1);
        Assert.All(decayed.data<float>().ToArray(), v => Assert.Equal(2.0f * (1 - 0.1f * 0.5f), v, 6));
        Assert.All(plain.data<float>().ToArray(), v => Assert.Equal(2.0f, v));
    }

    /// <summary>The schedule written out independently: warmup lr = peak (s+1)/W for s &lt; W; then
    /// min + (peak - min)/2 (1 + cos(pi (s - W)/(T - W - 1))), min = peak * ratio, so the last step T-1 is at min.</summary>
    static double ClosedForm(double peak, long total, long warmup, double ratio, long s)
    {
        if (s < warmup) return peak * (s + 1) / warmup;
        var min = peak * ratio;
        var progress = Math.Min(1.0, (double)(s - warmup) / Math.Max(1, total - warmup - 1));
        return min + (peak - min) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }

    [Theory]
    // total, warmup fraction, expected warmup steps (round half to even, as Math.Round), peak, min ratio
    [InlineData(100, 0.05, 5, 3e-3, 0.1)]
    [InlineData(37, 0.1, 4, 1e-3, 0.0)]   // 3.7 -> 4
    [InlineData(50, 0.05, 2, 3e-3, 0.1)]  // 2.5 -> 2 (to even)
    [InlineData(20, 0.0, 0, 1e-2, 0.25)]  // no warmup: starts at the peak
    [InlineData(1, 0.05, 0, 1e-3, 0.1)]   // a single step: the peak
    public void ScheduleMatchesTheClosedFormAtWarmupEndMiddleAndLastStep(long total, double fraction, long warmup, double peak, double ratio)
    {
        var s = LrSchedule.Create(peak, total, fraction, ratio);
        Assert.Equal(warmup, s.WarmupSteps);
        for (long step = 0; step < total; step++)
            Assert.Equal(ClosedForm(peak, total, warmup, ratio, step), s.At(step), 15);
        if (warmup > 0)
        {
            Assert.Equal(peak / warmup, s.At(0), 15);
            Assert.Equal(peak, s.At(warmup - 1), 15); // end of warmup
        }
        Assert.Equal(peak, s.At(warmup), 15);         // first decay step
        if (total - warmup > 1)
        {
            Assert.Equal(peak * ratio, s.At(total - 1), 15); // last step: the minimum
            Assert.True(s.At(total - 2) > s.At(total - 1));
            var mid = warmup + (total - warmup - 1) / 2.0;
            if (mid == Math.Floor(mid)) Assert.Equal(peak * (1 + ratio) / 2, s.At((long)mid), 15); // halfway: the mean of peak and min
        }
        // Monotone: up during warmup, down after.
        for (long step = 1; step < total; step++)
            if (step < warmup) Assert.True(s.At(step) > s.At(step - 1));
            else if (step > warmup) Assert.True(s.At(step) <= s.At(step - 1));
    }

    [Fact]
    public void TheTrainerRestartsTheScheduleAtEachStageWithTheStagePeak()
    {
        var w = TrainingFixture.World();
        using var model = TrainingFixture.Model(w);
        var o = TrainingFixture.Options(Strategy.TwoStage) with
        {
            EvalEvery = 0, LogEvery = 1, WarmupFraction = 0.2, MinLrRatio = 0.1, Lr = 3e-3, QaLr = 1e-3, CheckpointEvery = 1000,
        };
        var dir = TrainingFixture.TempDir();
        var trainer = new Trainer(model, w.Tokenizer, ExampleEncoder.FromWorld(w, w.Tokenizer), o, dir);
        trainer.Run(resume: false);
        var lines = File.ReadLines(trainer.MetricsPath).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("type").GetString() == "train").ToList();
        var stages = lines.GroupBy(e => e.GetProperty("stage").GetString()!).ToList();
        Assert.Equal(2, stages.Count);
        var peaks = new[] { 3e-3, 1e-3 };
        long globalStep = 0;
        foreach (var (stage, i) in stages.Select((g, i) => (g.ToList(), i)))
        {
            long total = stage.Count, warmup = (long)Math.Round(0.2 * total);
            Assert.True(warmup > 1 && total - warmup > 2, $"stage {i}: {total} steps, {warmup} warmup");
            for (var s = 0; s < stage.Count; s++)
            {
                Assert.Equal(++globalStep, stage[s].GetProperty("step").GetInt64());
                Assert.Equal(ClosedForm(peaks[i], total, warmup, 0.1, s), stage[s].GetProperty("lr").GetDouble(), 15);
            }
            // Stage boundary: each stage starts at peak/W and ends at its own minimum.
            Assert.Equal(peaks[i] / warmup, stage[0].GetProperty("lr").GetDouble(), 15);
            Assert.Equal(peaks[i], stage[(int)warmup - 1].GetProperty("lr").GetDouble(), 15);
            Assert.Equal(peaks[i] * 0.1, stage[^1].GetProperty("lr").GetDouble(), 15);
        }
    }
}
