using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tests.Tracing;
using FactTrace.Tests.Training;
using FactTrace.Tracing;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Tests.Interventions;

[Collection("torch-threads")]
public class InterventionTests
{
    static Dictionary<string, Tensor> Snapshot(CausalLM m) =>
        m.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

    static bool BitEqual(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    /// <summary>A "trained" model (init + noise) and its "reference" (the init).</summary>
    static (CausalLM Trained, Dictionary<string, Tensor> Reference, global::FactTrace.World.FactWorld World) Pair(string family = ModelConfig.GptNeoX)
    {
        var w = TraceFixture.World();
        var trained = TraceFixture.Model(w, family);
        using var init = TrainingFixture.Model(w, 0, family);
        return (trained, Snapshot(init), w);
    }

    /// <summary>S of a real trace at rho 0.05 (global) on the pair's trained model.</summary>
    static (ParameterMask Bio, ParameterMask Qa, ParameterMask Shared) Masks(CausalLM model, global::FactTrace.World.FactWorld w)
    {
        var o = new TraceOptions { Rhos = [0.05] };
        var (bio, qa) = Tracer.Score(model, TraceFixture.Probes(w, 4, 4), o, w.Tokenizer.PadId);
        using (bio)
        using (qa)
        {
            var cands = Tracer.Candidates(ParameterMap.For(model.Config), false, false);
            var mb = TopK.Select(bio.Scores, cands, 0.05, TopKScope.Global);
            var mq = TopK.Select(qa.Scores, cands, 0.05, TopKScope.Global);
            return (mb, mq, mb.Intersect(mq));
        }
    }

    [Fact]
    public void AblatingAnEmptyMaskChangesNothingAndAFullMaskGivesTheReference()
    {
        var (model, reference, w) = Pair();
        using var _ = model;
        var before = Snapshot(model);
        var map = ParameterMap.For(model.Config);
        using var editor = new WeightEditor(model, reference);
        var evaluator = new Evaluator(w.Tokenizer);
        var set = EvalSetBuilder.Build(w, w.Tokenizer);
        var point = RecallPoint.Measure(evaluator, model, set);

        using (var empty = ParameterMask.Uniform(map.Parameters, full: false))
        {
            editor.Ablate(empty, ResetTo.Reference);
            Assert.All(model.named_parameters(), p => Assert.True(BitEqual(before[p.name], p.parameter), p.name));
            Assert.Equal(point, RecallPoint.Measure(evaluator, model, set));
        }
        using (var full = ParameterMask.Uniform(map.Parameters, full: true))
        {
            editor.Ablate(full, ResetTo.Reference);
            Assert.All(model.named_parameters(), p => Assert.True(BitEqual(reference[p.name], p.parameter), p.name));
            editor.Ablate(full, ResetTo.Zero);
            Assert.All(model.parameters(), p => Assert.Equal(0, p.abs().sum().item<float>()));
        }
        editor.Restore();
        Assert.All(model.named_parameters(), p => Assert.True(BitEqual(before[p.name], p.parameter), p.name));
        Assert.Equal(point, RecallPoint.Measure(evaluator, model, set));
    }

    [Fact]
    public void AblatingAMaskResetsExactlyItsElements()
    {
        var (model, reference, w) = Pair();
        using var _ = model;
        var before = Snapshot(model);
        var (bio, qa, shared) = Masks(model, w);
        using (bio) using (qa) using (shared)
        using (var editor = new WeightEditor(model, reference))
        {
            editor.Ablate(shared, ResetTo.Reference);
            foreach (var (name, p) in model.named_parameters())
            {
                var expected = shared.Tensors.TryGetValue(name, out var m) ? where(m, reference[name], before[name]) : before[name];
                Assert.True(BitEqual(expected, p), name);
            }
        }
        Assert.All(model.named_parameters(), p => Assert.True(BitEqual(before[p.name], p.parameter), p.name));
    }

    [Theory]
    [InlineData(ModelConfig.GptNeoX)]
    [InlineData(ModelConfig.Llama)]
    public void RandomControlsMatchTheSharedSetPerMatrixAndAreDeterministicBySeed(string family)
    {
        var (model, _, w) = Pair(family);
        using var __ = model;
        var map = ParameterMap.For(model.Config);
        var (bio, qa, shared) = Masks(model, w);
        using (bio) using (qa) using (shared)
        {
            Assert.True(shared.Count > 0);
            using var a = ControlMasks.RandomLike(shared, map, seed: 4, draw: 0);
            using var b = ControlMasks.RandomLike(shared, map, seed: 4, draw: 0);
            using var c = ControlMasks.RandomLike(shared, map, seed: 4, draw: 1);
            Assert.Equal(shared.Count, a.Count);
            Assert.Equal(shared.Count, c.Count);
            // Per (parameter, component): the fused NeoX qkv counts its q, k and v rows separately.
            foreach (var name in shared.Names)
            {
                Assert.Equal(shared.CountOf(name), a.CountOf(name));
                var one = (IReadOnlyDictionary<string, Tensor> d) => map.SumByLayerComponent(d.Where(kv => kv.Key == name).ToDictionary());
                Assert.Equal(one(shared.Tensors), one(a.Tensors));
            }
            Assert.Equal(shared.Names.Order(), a.Names.Order());
            foreach (var name in a.Names) Assert.True(BitEqual(a.Tensors[name], b.Tensors[name]), name);
            Assert.NotEqual(a.IntersectCount(c), a.Count);
            Assert.True(a.IntersectCount(shared) < shared.Count);

            // Task-only sets subsampled to |S|: exactly |S| elements, inside TopK_BIO \ S, deterministic.
            using var only = bio.Except(shared);
            using var sub = ControlMasks.Subsample(only, map, shared.Count, new Rng(1, "x"));
            using var sub2 = ControlMasks.Subsample(only, map, shared.Count, new Rng(1, "x"));
            Assert.Equal(Math.Min(shared.Count, only.Count), sub.Count);
            Assert.Equal(sub.Count, sub.IntersectCount(only));
            Assert.Equal(0, sub.IntersectCount(shared));
            Assert.Equal(sub.Count, sub.IntersectCount(sub2));
        }
    }

    [Fact]
    public void HeadMasksHoldExactlyTheHeadsSlices()
    {
        var map = ParameterMap.For(NamedConfigs.Get("micro-neox", 40) with { NumHiddenLayers = 2 });
        using var m = ControlMasks.Heads(map, [(1, 2)]);
        int hd = map.HeadDim, d = map.Hidden;
        Assert.Equal(3L * hd * (d + 1) + (long)d * hd, m.Count);
        var qkv = m.Tensors["gpt_neox.layers.1.attention.query_key_value.weight"];
        Assert.Equal(3L * hd * d, qkv[(2 * 3 * hd)..(3 * 3 * hd), ..].sum().item<long>());
        Assert.Equal((long)d * hd, m.Tensors["gpt_neox.layers.1.attention.dense.weight"][.., (2 * hd)..(3 * hd)].sum().item<long>());
        Assert.DoesNotContain(m.Names, n => n.Contains("layers.0."));
    }

    [Fact]
    public void GraftWithAllOnesIsTheTrainedModelAndWithAllZerosTheReference()
    {
        var (model, reference, w) = Pair();
        using var _ = model;
        var before = Snapshot(model);
        var map = ParameterMap.For(model.Config);
        var cands = Tracer.Candidates(map, false, false);
        using var editor = new WeightEditor(model, reference);
        using (var ones = ParameterMask.Uniform(cands, full: true))
        {
            editor.Graft(ones);
            Assert.All(model.named_parameters(), p => Assert.True(BitEqual(before[p.name], p.parameter), p.name));
        }
        using (var none = ParameterMask.Uniform(cands, full: false))
        {
            editor.Graft(none);
            foreach (var (name, p) in model.named_parameters())
                Assert.True(BitEqual(cands.Any(c => c.Name == name) ? reference[name] : before[name], p), name);
        }
        // The relaxed graft with gamma = 1 is the trained model up to rounding of ref + (trained - ref).
        editor.GraftRelaxed(cands.ToDictionary(p => p.Name, p => ones(p.Shape, ScalarType.Float32)));
        foreach (var (name, p) in model.named_parameters())
            Assert.True((p - before[name]).abs().max().item<float>() <= 1e-6f * Math.Max(1f, before[name].abs().max().item<float>()), name);
        editor.Restore();
        Assert.All(model.named_parameters(), p => Assert.True(BitEqual(before[p.name], p.parameter), p.name));
    }

    [Fact]
    public void GraftRunKeepsTheBudgetAndReportsOverlap()
    {
        var (model, reference, w) = Pair();
        using var _ = model;
        var before = Snapshot(model);
        var (bio, qa, shared) = Masks(model, w);
        using (bio) using (qa) using (shared)
        using (var editor = new WeightEditor(model, reference))
        {
            var qaTrain = w.QaTrain.Select(q => ExampleEncoder.Qa(w.Tokenizer, q)).ToList();
            var o = new GraftOptions { Sparsity = 0.05, Steps = 3, BatchSize = 8 };
            using var result = Graft.Run(model, editor, qaTrain, w.Tokenizer.PadId, new Evaluator(w.Tokenizer),
                EvalSetBuilder.Build(w, w.Tokenizer), o, "m", "r", shared, 0.05);
            var n = Tracer.Candidates(ParameterMap.For(model.Config), false, false).Sum(p => p.NumEl);
            var k = (long)Math.Round(0.05 * n, MidpointRounding.AwayFromZero);
            Assert.Equal(k, result.Mask.Count);
            Assert.Equal(k, result.MovementMask.Count);
            Assert.Equal((double)k / n, result.Report.Sparsity, 12);
            var both = result.Mask.IntersectCount(shared);
            Assert.Equal((double)both / k, result.Report.OverlapWithShared!.Precision, 12);
            Assert.Equal((double)both / shared.Count, result.Report.OverlapWithShared.Recall, 12);
            Assert.NotNull(result.Report.LossLast);
        }
        Assert.All(model.named_parameters(), p => Assert.True(BitEqual(before[p.name], p.parameter), p.name));
    }

    [Fact]
    public void AblationRunReportsEveryCondition()
    {
        var (model, reference, w) = Pair();
        using var _ = model;
        var (bio, qa, shared) = Masks(model, w);
        using (bio) using (qa) using (shared)
        using (var editor = new WeightEditor(model, reference))
        {
            var set = EvalSetBuilder.Build(w, w.Tokenizer);
            var evaluator = new Evaluator(w.Tokenizer);
            var r = Ablation.Run(model, editor, evaluator, set, shared, bio, qa, new AblationOptions { Controls = 2, Heads = 1 },
                "m", "r", "s", 0.05, null);
            Assert.Equal(["none", "shared", "random", "bio_only", "qa_only", "top_heads", "random_heads"], r.Conditions.Select(c => c.Name));
            var none = r.Conditions[0];
            var plain = RecallPoint.Measure(evaluator, model, set);
            Assert.Equal(plain.QaId, none.QaId);
            Assert.Equal(plain.BioMemorization, none.BioMemorization);
            Assert.Null(none.QaIdSd);
            var random = r.Conditions.Single(c => c.Name == "random");
            Assert.Equal(2, random.Draws);
            Assert.Equal(shared.Count, random.MaskSize);
            Assert.NotNull(random.QaOodSd);
            Assert.Equal(shared.Count, r.Conditions.Single(c => c.Name == "shared").MaskSize);
            Assert.Single(r.TopHeads!);
        }
    }
}
