using FactTrace.Models;
using FactTrace.Tests.Training;
using FactTrace.Tracing;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Tests.Tracing;

[Collection("torch-threads")]
public class GradientTraceTests
{
    static void AssertClose(Dictionary<string, double[]> expected, ScoreAccumulator acc)
    {
        double worst = 0;
        foreach (var (name, e) in expected)
        {
            var a = TraceFixture.FlatF(acc.Scores[name]);
            Assert.Equal(e.Length, a.Length);
            for (var i = 0; i < e.Length; i++)
            {
                var err = Math.Abs(a[i] - e[i]);
                Assert.True(err <= 1e-6 * Math.Abs(e[i]) + 1e-30, $"{name}[{i}]: {a[i]} vs {e[i]}");
                if (e[i] != 0) worst = Math.Max(worst, err / e[i]);
            }
        }
        Assert.True(expected.Values.Any(e => e.Any(x => x > 0)), "all scores are zero");
    }

    [Theory]
    [InlineData(ScoreKind.Grad, ModelConfig.GptNeoX)]
    [InlineData(ScoreKind.GradXWeight, ModelConfig.GptNeoX)]
    [InlineData(ScoreKind.Fisher, ModelConfig.GptNeoX)]
    [InlineData(ScoreKind.Grad, ModelConfig.Llama)]
    [InlineData(ScoreKind.GradXWeight, ModelConfig.Llama)]
    [InlineData(ScoreKind.Fisher, ModelConfig.Llama)]
    public void PerExampleScoresEqualABruteForceLoopSummedByHand(ScoreKind kind, string family)
    {
        var w = TraceFixture.World();
        using var model = TraceFixture.Model(w, family);
        var probes = TraceFixture.Probes(w, bio: 4, qa: 5);
        foreach (var task in new[] { TraceTask.Bio, TraceTask.Qa })
        {
            var examples = probes.Of(task);
            using var acc = GradientTrace.Run(model, examples, kind, Granularity.Example, w.Tokenizer.PadId);
            Assert.Equal(examples.Count, acc.Units);
            Assert.Equal(examples.Count, acc.Examples);
            AssertClose(TraceFixture.BruteForce(model, examples.Select(e => (IReadOnlyList<EncodedExample>)[e]), kind, w.Tokenizer.PadId), acc);
        }
    }

    [Fact]
    public void MicroBatchScoresSumOneBackwardPassPerMicroBatch()
    {
        var w = TraceFixture.World();
        using var model = TraceFixture.Model(w);
        var examples = TraceFixture.Probes(w, bio: 7).Bio;
        using var acc = GradientTrace.Run(model, examples, ScoreKind.Grad, Granularity.MicroBatch, w.Tokenizer.PadId, microBatch: 3);
        Assert.Equal(3, acc.Units); // 3 + 3 + 1
        AssertClose(TraceFixture.BruteForce(model, examples.Chunk(3), ScoreKind.Grad, w.Tokenizer.PadId), acc);
        // Not the per-example sum: |sum of gradients| <= sum of |gradients|, strictly somewhere.
        using var perExample = GradientTrace.Run(model, examples, ScoreKind.Grad, Granularity.Example, w.Tokenizer.PadId);
        var name = model.named_parameters().First(p => p.name.Contains("dense_h_to_4h.weight")).name;
        Assert.True(acc.Scores[name].sum().item<float>() < perExample.Scores[name].sum().item<float>());
    }

    [Fact]
    public void TheTracedLossIsTheHuggingFaceLossOfTheExample()
    {
        // Loss.NextToken projects only the labelled positions; HF's loss projects all. Same value, same gradient.
        var w = TraceFixture.World();
        using var model = TraceFixture.Model(w);
        var e = TraceFixture.Probes(w).Qa[0];
        using var batch = Batch.Collate([e], w.Tokenizer.PadId);
        var ours = Loss.NextToken(model, batch).item<float>();
        var hf = CausalLM.NextTokenLoss(model.forward(batch.Ids, null), batch.Labels).item<float>();
        Assert.Equal(hf, ours, 5);
    }

    [Fact]
    public void ExamplesWithoutALossTokenAreSkippedAndGradientsLeftCleared()
    {
        var w = TraceFixture.World();
        using var model = TraceFixture.Model(w);
        var e = TraceFixture.Probes(w).Qa[0];
        var none = e with { Labels = e.Labels.Select(_ => EncodedExample.Ignore).ToArray() };
        using var acc = GradientTrace.Run(model, [none, e], ScoreKind.Grad, Granularity.Example, w.Tokenizer.PadId);
        Assert.Equal(1, acc.Units);
        Assert.Equal(1, acc.Skipped);
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void ProbeSetsAreDeterministicBySeedAndRespectSplitsAndSizes()
    {
        var w = TrainingFixture.World(people: 20);
        var o = new ProbeOptions { Bio = PeopleSplit.Ood, Qa = PeopleSplit.Ood, BioSize = 6, QaSize = 4, Seed = 5 };
        var a = ProbeSet.Build(w, w.Tokenizer, o);
        var b = ProbeSet.Build(w, w.Tokenizer, o);
        Assert.Equal(a.Bio.Select(x => string.Join(",", x.Ids)), b.Bio.Select(x => string.Join(",", x.Ids)));
        Assert.Equal(a.Qa.Select(x => string.Join(",", x.Ids)), b.Qa.Select(x => string.Join(",", x.Ids)));
        Assert.Equal(6, a.Bio.Count);
        Assert.Equal(4, a.Qa.Count);
        Assert.All(a.Bio.Concat(a.Qa), x => Assert.False(w.People[x.Person].IsInDistribution));
        var c = ProbeSet.Build(w, w.Tokenizer, o with { Seed = 6 });
        Assert.NotEqual(a.Bio.Select(x => string.Join(",", x.Ids)), c.Bio.Select(x => string.Join(",", x.Ids)));
        var id = ProbeSet.Build(w, w.Tokenizer, o with { Bio = PeopleSplit.Id, Qa = PeopleSplit.Id, BioSize = 10_000, QaSize = 10_000 });
        Assert.Equal(w.Bios.Count(x => w.People[x.PersonId].IsInDistribution), id.Bio.Count);
        Assert.Equal(w.QaTrain.Count, id.Qa.Count);
        Assert.All(id.Qa, x => Assert.Contains(x.Labels.Skip(1), l => l != EncodedExample.Ignore));
    }

    [Fact]
    public void TracingDuringTrainingSplitsTasksAndLeavesTrainingUnchanged()
    {
        set_num_threads(1);
        var w = TraceFixture.World();
        var o = TrainingFixture.Options(Strategy.Mixed) with { BioEpochs = 2, EvalEvery = 0 };
        float[] Final(string dir) => Safetensors(dir).SelectMany(x => x).ToArray();
        static IEnumerable<float[]> Safetensors(string dir)
        {
            var t = IO.Safetensors.Read(Path.Combine(dir, "final", "model.safetensors"));
            return t.OrderBy(kv => kv.Key).Select(kv => kv.Value.data<float>().ToArray());
        }
        var plain = TrainingFixture.TempDir();
        using (var model = TrainingFixture.Model(w))
            new Trainer(model, w.Tokenizer, ExampleEncoder.FromWorld(w, w.Tokenizer), o, plain).Run(false);
        var traced = TrainingFixture.TempDir();
        using (var model = TrainingFixture.Model(w))
        {
            using var trace = new TrainingTrace(model, ScoreKind.Grad, Granularity.MicroBatch, w.Tokenizer.PadId);
            var steps = new StepCounter();
            new Trainer(model, w.Tokenizer, ExampleEncoder.FromWorld(w, w.Tokenizer), o, traced, progress: steps, observer: trace).Run(false);
            Assert.Equal(steps.Total, trace.StepsTraced);
            Assert.True(trace.Bio.Units > 0 && trace.Qa.Units > 0);
            Assert.Equal(w.Bios.Count * 2, trace.Bio.Examples);
            Assert.Equal(w.QaTrain.Count * 2, trace.Qa.Examples);
            trace.Save(Path.Combine(traced, TrainingTrace.FolderName));
        }
        Assert.Equal(Final(plain), Final(traced));
        var (bio, qa, meta) = Tracer.LoadScores(Path.Combine(traced, TrainingTrace.FolderName));
        using (bio) using (qa)
        {
            Assert.Equal("during-training", meta["when"]);
            Assert.True(bio.Scores.Values.Sum(t => t.sum().item<float>()) > 0);
        }

        // Two-stage: stage 1 feeds only the BIO scores, stage 2 only the QA scores.
        var two = TrainingFixture.Options(Strategy.TwoStage) with { BioEpochs = 1, QaEpochs = 1, EvalEvery = 0 };
        using (var model = TrainingFixture.Model(w))
        {
            using var trace = new TrainingTrace(model, ScoreKind.Fisher, Granularity.MicroBatch, w.Tokenizer.PadId);
            var steps = new StepCounter();
            new Trainer(model, w.Tokenizer, ExampleEncoder.FromWorld(w, w.Tokenizer), two, TrainingFixture.TempDir(), progress: steps, observer: trace).Run(false);
            Assert.Equal(steps.ByStage["stage1"], trace.Bio.Units);
            Assert.Equal(steps.ByStage["stage2"], trace.Qa.Units);
            Assert.Equal(steps.ByStage["stage1"], trace.StepsByStage["stage1"]);
        }
    }

    /// <summary>Counts the steps of each stage from the trainer's (synchronous) progress reports.</summary>
    sealed class StepCounter : IProgress<TrainProgress>
    {
        public Dictionary<string, long> ByStage { get; } = new();
        public long Total => ByStage.Values.Sum();
        public void Report(TrainProgress p) => ByStage[p.Stage] = ByStage.GetValueOrDefault(p.Stage) + 1;
    }
}
