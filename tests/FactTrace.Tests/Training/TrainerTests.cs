using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Training;
using FactTrace.World;
using static TorchSharp.torch;

namespace FactTrace.Tests.Training;

[Collection("torch-threads")]
public sealed class TrainerTests : IDisposable
{
    readonly List<TempDir> dirs = new();

    string NewDir()
    {
        var d = new TempDir();
        dirs.Add(d);
        return d.Path;
    }

    public void Dispose()
    {
        foreach (var d in dirs) d.Dispose();
    }

    [Fact]
    public void LossDecreases()
    {
        var w = TrainingFixture.World();
        using var model = TrainingFixture.Model(w);
        var data = ExampleEncoder.FromWorld(w, w.Tokenizer);
        using var batch = Batch.Collate(data.Bio.Take(8).ToList(), w.Tokenizer.PadId);
        double Loss() { using var _ = NewDisposeScope(); using var __ = no_grad(); return FactTrace.Training.Loss.NextToken(model, batch).item<float>(); }
        var before = Loss();
        var o = TrainingFixture.Options(Strategy.BioOnly) with { BioEpochs = 15, EvalEvery = 0 };
        var dir = NewDir();
        new Trainer(model, w.Tokenizer, data, o, dir).Run(resume: false);
        Assert.True(Loss() < 0.7 * before, $"loss {before} -> {Loss()}");
    }

    [Fact]
    public void Bf16TrainsWithFp32MasterWeightsAndTracksFp32()
    {
        var w = TrainingFixture.World();
        var data = ExampleEncoder.FromWorld(w, w.Tokenizer);
        var o = TrainingFixture.Options(Strategy.BioOnly) with { BioEpochs = 8, EvalEvery = 0 };
        double FinalLoss(Precision p, out TorchSharp.torch.ScalarType dtype)
        {
            using var model = TrainingFixture.Model(w);
            new Trainer(model, w.Tokenizer, data, o with { Precision = p }, NewDir()).Run(resume: false);
            dtype = model.parameters().First().dtype;
            using var batch = Batch.Collate(data.Bio.Take(16).ToList(), w.Tokenizer.PadId);
            using var _ = NewDisposeScope();
            using var __ = no_grad();
            return FactTrace.Training.Loss.NextToken(model, batch).item<float>();
        }
        var fp32 = FinalLoss(Precision.Fp32, out var d32);
        var bf16 = FinalLoss(Precision.Bf16, out var d16);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, d16);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, d32);
        // Same data, same init: bf16 rounding moves the result a little, not the trend.
        Assert.True(Math.Abs(bf16 - fp32) < 0.15 * fp32, $"fp32 {fp32} vs bf16 {bf16}");
    }

    [Fact]
    public void AnswerSpanMaskingIsExact()
    {
        var w = TrainingFixture.World();
        var tok = w.Tokenizer;
        var period = FactTrace.Evaluation.Evaluator.SentenceEnd(tok)!.Value;
        foreach (var qa in w.QaTrain)
        {
            var e = ExampleEncoder.Qa(tok, qa);
            var answer = tok.Encode(" " + qa.Answer).ToList();
            // Labelled: exactly the answer's tokens, then "." and EOS, at the end of the sequence; nothing of the question.
            var labelled = e.Labels.Where(l => l != EncodedExample.Ignore).ToList();
            Assert.Equal([.. answer, period, tok.EosId], labelled);
            Assert.Equal(labelled, e.Ids[^labelled.Count..]);
            Assert.All(e.Labels[..^labelled.Count], l => Assert.Equal(EncodedExample.Ignore, l));
            Assert.Equal(tok.Encode(qa.Prompt), e.Ids[1..^labelled.Count]);
            var all = ExampleEncoder.Qa(tok, qa, allTokens: true);
            Assert.Equal(all.Ids, all.Labels);
        }
    }

    [Fact]
    public void TwoStageSecondStageSeesOnlyIdQaAndMixedSeesBoth()
    {
        var w = TrainingFixture.World();
        var idPeople = w.People.Where(p => p.IsInDistribution).Select(p => p.Id).ToHashSet();
        using var model = TrainingFixture.Model(w);
        var data = ExampleEncoder.FromWorld(w, w.Tokenizer);

        var two = new Trainer(model, w.Tokenizer, data, TrainingFixture.Options(Strategy.TwoStage), NewDir()).Schedule().ToList();
        Assert.All(two.Where(s => s.Stage == "stage1"), s => Assert.All(s.Examples, e => Assert.Equal(ExampleKind.Bio, e.Kind)));
        Assert.All(two.Where(s => s.Stage == "stage1"), s => Assert.Equal(w.Bios.Count, s.Examples.Count));
        foreach (var (_, _, examples) in two.Where(s => s.Stage == "stage2"))
        {
            Assert.All(examples, e => Assert.Equal(ExampleKind.Qa, e.Kind));
            Assert.All(examples, e => Assert.Contains(e.Person, idPeople));
            Assert.Equal(w.QaTrain.Count, examples.Count);
        }

        var mixed = new Trainer(model, w.Tokenizer, data, TrainingFixture.Options(Strategy.Mixed), NewDir()).Schedule().ToList();
        Assert.Single(mixed.Select(s => s.Stage).Distinct());
        foreach (var (_, _, examples) in mixed)
        {
            Assert.Equal(w.Bios.Count, examples.Count(e => e.Kind == ExampleKind.Bio));
            Assert.Equal(w.QaTrain.Count, examples.Count(e => e.Kind == ExampleKind.Qa));
            Assert.All(examples.Where(e => e.Kind == ExampleKind.Qa), e => Assert.Contains(e.Person, idPeople));
            // Shuffled together: QA does not all come after the BIOs.
            Assert.Contains(examples.Take(examples.Count / 2), e => e.Kind == ExampleKind.Qa);
        }

        var ratio = new Trainer(model, w.Tokenizer, data, TrainingFixture.Options(Strategy.Mixed) with { QaRatio = 0.25 }, NewDir()).Schedule().First();
        Assert.Equal(0.25, ratio.Examples.Count(e => e.Kind == ExampleKind.Qa) / (double)ratio.Examples.Count, 2);

        var replay = new Trainer(model, w.Tokenizer, data, TrainingFixture.Options(Strategy.TwoStage) with { ReplayFraction = 0.5 }, NewDir())
            .Schedule().First(s => s.Stage == "stage2");
        Assert.Equal((int)Math.Round(0.5 * w.QaTrain.Count), replay.Examples.Count(e => e.Kind == ExampleKind.Bio));
    }

    static Dictionary<string, float[]> Weights(string hfFolder)
    {
        var t = Safetensors.Read(Path.Combine(hfFolder, "model.safetensors"));
        return t.ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
    }

    static List<string> MetricsWithoutTiming(string dir) =>
        File.ReadAllLines(Path.Combine(dir, "metrics.jsonl"))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, "\"tokens_per_s\":[^,}]*", "")).ToList();

    [Fact]
    public void SameSeedSameMetricsAndWeights()
    {
        set_num_threads(1);
        var w = TrainingFixture.World();
        var dirs = new[] { NewDir(), NewDir() };
        var results = dirs.Select(d =>
        {
            using var model = TrainingFixture.Model(w);
            return (EvalResult?)TrainingFixture.Trainer(w, model, TrainingFixture.Options(Strategy.TwoStage), d).Run(resume: false);
        }).ToList();
        Assert.Equal(Json.Serialize(results[0]), Json.Serialize(results[1]));
        Assert.Equal(MetricsWithoutTiming(dirs[0]), MetricsWithoutTiming(dirs[1]));
        var (a, b) = (Weights(Path.Combine(dirs[0], "final")), Weights(Path.Combine(dirs[1], "final")));
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));
        Assert.NotNull(results[0]!.BioMemorizationStage1);
        Assert.True(Directory.Exists(Path.Combine(dirs[0], "stage1")));
    }

    [Fact]
    public void ResumeAfterAStopGivesTheSameFinalWeightsAndMetrics()
    {
        set_num_threads(1);
        var w = TrainingFixture.World();
        var o = TrainingFixture.Options(Strategy.TwoStage);
        var straight = NewDir();
        using (var model = TrainingFixture.Model(w)) TrainingFixture.Trainer(w, model, o, straight).Run(resume: false);

        // Stop mid-run: a run that is told to stop after step 7 (mid stage 1, after the checkpoint at step 4).
        var stopped = NewDir();
        using (var model = TrainingFixture.Model(w))
        {
            var t = TrainingFixture.Trainer(w, model, o with { StopAfterStep = 7 }, stopped);
            Assert.Throws<TrainingStopped>(() => t.Run(resume: false));
        }
        var latest = new StateStore(Path.Combine(stopped, "state")).Latest();
        Assert.NotNull(latest);
        Assert.True(File.Exists(Path.Combine(latest, "trainer_state.json")));
        // A fresh process would rebuild the model from scratch: use different initial weights to prove they are restored.
        using (var model = TrainingFixture.Model(w, seed: 99))
            TrainingFixture.Trainer(w, model, o, stopped).Run(resume: true);

        var (a, b) = (Weights(Path.Combine(straight, "final")), Weights(Path.Combine(stopped, "final")));
        Assert.All(a, kv => Assert.Equal(kv.Value, b[kv.Key]));
        Assert.Equal(MetricsWithoutTiming(straight), MetricsWithoutTiming(stopped));
        Assert.Equal(File.ReadAllText(Path.Combine(straight, "eval.json")), File.ReadAllText(Path.Combine(stopped, "eval.json")));
    }

    [Fact]
    public void ResumeFromAnotherConfigurationIsRefused()
    {
        var w = TrainingFixture.World();
        var dir = NewDir();
        var o = TrainingFixture.Options(Strategy.Mixed);
        using (var model = TrainingFixture.Model(w))
            Assert.Throws<TrainingStopped>(() => TrainingFixture.Trainer(w, model, o with { StopAfterStep = 5 }, dir).Run(false));
        using var m2 = TrainingFixture.Model(w);
        var e = Assert.ThrowsAny<FactTraceException>(() => TrainingFixture.Trainer(w, m2, o with { Lr = 1e-3 }, dir).Run(resume: true));
        Assert.Contains("different run configuration", e.Message);
    }
}
