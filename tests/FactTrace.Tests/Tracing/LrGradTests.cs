using System.Text.Json;
using FactTrace.Cli;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tests.Training;
using FactTrace.Tracing;
using FactTrace.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FactTrace.Tests.Tracing;

/// <summary>
/// The paper's trace, lr-grad: Delta_T = sum over the training examples of task T of lr(step) * grad of the example's
/// own loss (its summed token loss) at the weights of the step it is trained in; signed, ranked by |Delta|.
/// </summary>
[Collection("torch-threads")]
public class LrGradTests(ITestOutputHelper output)
{
    /// <summary>Calls several observers in order (each leaves weights unchanged and gradients cleared).</summary>
    sealed class Observers(params ITrainingObserver[] all) : ITrainingObserver
    {
        public void BeforeStep(CausalLM model, ObservedBatch batch)
        {
            foreach (var o in all) o.BeforeStep(model, batch);
        }

        public void AfterPartBackward(CausalLM model, ObservedPart part)
        {
            foreach (var o in all) o.AfterPartBackward(model, part);
        }
    }

    /// <summary>
    /// The brute-force reference: at each step, one backward pass per example on the example alone (its summed token
    /// loss), its gradient read element by element and multiplied in float64 by the learning rate the test
    /// computes itself from the run's schedule (stage sizes from <see cref="Trainer.Schedule"/>), summed in float64.
    /// Also the sum of |lr * g| per element: the scale that float rounding of a signed sum is relative to.
    /// </summary>
    sealed class Reference : ITrainingObserver
    {
        readonly Func<ObservedBatch, double> lrOf;
        readonly int padId;

        public Reference(CausalLM model, Func<ObservedBatch, double> lrOf, int padId)
        {
            (this.lrOf, this.padId) = (lrOf, padId);
            foreach (var kind in new[] { ExampleKind.Bio, ExampleKind.Qa })
            {
                Delta[kind] = model.named_parameters().ToDictionary(p => p.name, p => new double[p.parameter.numel()]);
                Magnitude[kind] = model.named_parameters().ToDictionary(p => p.name, p => new double[p.parameter.numel()]);
            }
        }

        public Dictionary<ExampleKind, Dictionary<string, double[]>> Delta { get; } = new();
        public Dictionary<ExampleKind, Dictionary<string, double[]>> Magnitude { get; } = new();
        public long LrMismatches { get; private set; }

        public void BeforeStep(CausalLM model, ObservedBatch batch)
        {
            var lr = lrOf(batch);
            if (lr != batch.Lr) LrMismatches++;
            foreach (var e in batch.Examples)
            {
                using var scope = NewDisposeScope();
                model.zero_grad();
                using var b = Batch.Collate([e], padId);
                Loss.NextTokenSum(model, b).backward();
                foreach (var (name, p) in model.named_parameters())
                {
                    if (p.grad is not { } grad) continue;
                    var g = grad.reshape(-1).data<float>().ToArray();
                    var d = Delta[e.Kind][name];
                    var m = Magnitude[e.Kind][name];
                    for (var i = 0; i < g.Length; i++)
                    {
                        var x = lr * g[i];
                        d[i] += x;
                        m[i] += Math.Abs(x);
                    }
                }
            }
            model.zero_grad();
        }
    }

    /// <summary>Takes a copy of both tasks' scores when the first batch of <paramref name="stage"/> is seen (before the trace adds it).</summary>
    sealed class AtStageStart(TrainingTrace trace, string stage) : ITrainingObserver
    {
        public float[]? Bio { get; private set; }
        public float[]? Qa { get; private set; }

        public void BeforeStep(CausalLM model, ObservedBatch batch)
        {
            if (Bio is not null || batch.Stage != stage) return;
            Bio = Flat(trace.Bio);
            Qa = Flat(trace.Qa);
        }
    }

    static float[] Flat(ScoreAccumulator acc) => acc.Scores.OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => TraceFixture.FlatF(kv.Value)).ToArray();

    /// <summary>The learning rate of the observed step, from the schedule's definition and the stage sizes (not from the trainer's loop).</summary>
    static Func<ObservedBatch, double> LrOf(Trainer trainer, TrainOptions o)
    {
        var stepsByStage = trainer.Schedule().GroupBy(x => x.Stage)
            .Select(g => (Stage: g.Key, Steps: g.Sum(x => (long)Math.Ceiling(x.Examples.Count / (double)o.BatchSize)))).ToList();
        return b =>
        {
            var before = stepsByStage.Take(b.StageIndex).Sum(s => s.Steps);
            var peak = b.Stage == "stage2" ? o.QaLr ?? o.Lr : o.Lr;
            return LrSchedule.Create(peak, stepsByStage[b.StageIndex].Steps, o.WarmupFraction, o.MinLrRatio).At(b.Step - before);
        };
    }

    /// <summary>
    /// Worst errors of <paramref name="acc"/> against the float64 reference <paramref name="delta"/>: relative to the
    /// largest |Delta| of the same parameter tensor (the scale at which float rounding of the gradient computation
    /// shows: an element that cancels to ~0 has no meaningful relative error), and relative to |Delta| itself over the
    /// elements that top-k can select (|Delta| at least 1e-3 of the largest of all). Elements that no gradient
    /// reached (<paramref name="magnitude"/> 0: sum |lr g| in the reference) must be exactly 0.
    /// </summary>
    static (double OfTensorScale, double OfValue) Errors(Dictionary<string, double[]> delta, Dictionary<string, double[]>? magnitude, ScoreAccumulator acc)
    {
        double ofScale = 0, ofValue = 0;
        var max = delta.Values.SelectMany(x => x).Max(Math.Abs);
        Assert.True(max > 0, "all reference values are zero");
        foreach (var (name, e) in delta)
        {
            var a = TraceFixture.FlatF(acc.Scores[name]);
            var scale = e.Max(Math.Abs);
            for (var i = 0; i < e.Length; i++)
            {
                var err = Math.Abs(a[i] - e[i]);
                if (scale > 0) ofScale = Math.Max(ofScale, err / scale);
                if (magnitude is not null && magnitude[name][i] == 0) Assert.True(a[i] == 0, $"{name}[{i}] = {a[i]} where no gradient reached");
                if (Math.Abs(e[i]) >= 1e-3 * max) ofValue = Math.Max(ofValue, err / Math.Abs(e[i]));
            }
        }
        return (ofScale, ofValue);
    }

    static (double OfTensorScale, double OfValue) Errors(ScoreAccumulator a, ScoreAccumulator b) =>
        Errors(b.Scores.ToDictionary(kv => kv.Key, kv => TraceFixture.FlatF(kv.Value).Select(x => (double)x).ToArray()), null, a);

    [Theory]
    [InlineData(Strategy.Mixed)]
    [InlineData(Strategy.TwoStage)]
    public void ScoresEqualPerExampleGradientsTimesTheStepsLrSummedInFloat64(Strategy strategy)
    {
        var w = TraceFixture.World();
        var tok = w.Tokenizer;
        // Two-stage with replay: replayed BIOs in stage 2 count as BIO; a stage-2 peak of its own.
        var o = TrainingFixture.Options(strategy) with
        {
            BioEpochs = 2, QaEpochs = 2, EvalEvery = 0, WarmupFraction = 0.25, ReplayFraction = strategy == Strategy.TwoStage ? 0.5 : 0,
            QaLr = strategy == Strategy.TwoStage ? 1e-3 : null,
        };
        using var model = TrainingFixture.Model(w);
        using var micro = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.MicroBatch, tok.PadId);
        using var perExample = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.Example, tok.PadId);
        Func<ObservedBatch, double>? lrOf = null;
        var reference = new Reference(model, b => lrOf!(b), tok.PadId);
        var trainer = new Trainer(model, tok, ExampleEncoder.FromWorld(w, tok), o, TrainingFixture.TempDir(),
            observer: new Observers(reference, micro, perExample));
        lrOf = LrOf(trainer, o);
        trainer.Run(false);

        Assert.Equal(0, reference.LrMismatches);
        Assert.True(micro.StepsTraced > 4);
        if (strategy == Strategy.TwoStage) Assert.True(micro.Bio.Examples > w.Bios.Count * o.BioEpochs, "replayed BIOs count as BIO");
        foreach (var (kind, m, e) in new[] { (ExampleKind.Bio, micro.Bio, perExample.Bio), (ExampleKind.Qa, micro.Qa, perExample.Qa) })
        {
            var microErr = Errors(reference.Delta[kind], reference.Magnitude[kind], m);
            var exampleErr = Errors(reference.Delta[kind], reference.Magnitude[kind], e);
            var between = Errors(m, e);
            output.WriteLine($"{strategy} {kind}: micro-batch vs reference {microErr}, example vs reference {exampleErr}, micro-batch vs example {between}");
            // Signed: both signs occur.
            Assert.Contains(reference.Delta[kind].Values.SelectMany(x => x), x => x < 0);
            Assert.Contains(reference.Delta[kind].Values.SelectMany(x => x), x => x > 0);
            // Measured (1 layer, ~30 steps): both 3-6e-7 of the tensor's scale (the 1e-6 relative); of the value,
            // example 1.5-3.2e-6 (the fp32 sum alone: its gradients are the reference's), micro-batch 0.8-1.6e-5 (it reads
            // the trainer's batched pass, scaled by lr * N in fp32, which rounds otherwise).
            Assert.True(microErr.OfTensorScale <= 1e-6 && microErr.OfValue <= 5e-5, $"micro-batch {kind}: {microErr}");
            Assert.True(exampleErr.OfTensorScale <= 1e-6 && exampleErr.OfValue <= 1e-5, $"example {kind}: {exampleErr}");
        }
    }

    [Fact]
    public void OneStepIsLrTimesTheOutputLayerGradientWrittenOutByHand()
    {
        // dL_n/dW_out = sum over n's loss positions t of (softmax(W h_t) - onehot(y_t)) h_t^T, h_t the final-normed hidden
        // state; two observed steps at the same weights with lr 0.5 and 0.25 add 0.75 times the sum over the task
        // (example granularity: the observer's own pass per example; micro-batch reads the trainer's, tested above).
        var w = TraceFixture.World();
        using var model = TraceFixture.Model(w);
        var probes = TraceFixture.Probes(w, bio: 2, qa: 1);
        List<EncodedExample> batch = [probes.Bio[0], probes.Qa[0], probes.Bio[1]];
        using var trace = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.Example, w.Tokenizer.PadId);
        trace.BeforeStep(model, new ObservedBatch("mixed", 0, 0, 0.5, batch));
        trace.BeforeStep(model, new ObservedBatch("mixed", 0, 1, 0.25, batch));
        Assert.All(model.parameters(), p => Assert.True(p.grad is null || p.grad.count_nonzero().item<long>() == 0));

        const string Name = "embed_out.weight";
        var W = model.named_parameters().Single(p => p.name == Name).parameter;
        long v = W.shape[0], d = W.shape[1];
        var wv = W.detach().reshape(-1).data<float>().ToArray();
        double[] ByHand(IEnumerable<EncodedExample> examples)
        {
            var grad = new double[v * d];
            foreach (var e in examples)
            {
                float[] h;
                using (no_grad())
                using (var ids = tensor(e.Ids.Select(x => (long)x).ToArray(), 1, e.Length))
                using (var hidden = model.Hidden(ids, null))
                    h = hidden.reshape(-1).data<float>().ToArray();
                var positions = Enumerable.Range(0, e.Length - 1).Where(t => e.Labels[t + 1] != EncodedExample.Ignore).ToList();
                foreach (var t in positions)
                {
                    var z = new double[v];
                    for (var r = 0; r < v; r++)
                        for (var c = 0; c < d; c++) z[r] += (double)wv[r * d + c] * h[t * d + c];
                    var zmax = z.Max();
                    var p = z.Select(x => Math.Exp(x - zmax)).ToArray();
                    var sum = p.Sum();
                    for (var r = 0; r < v; r++)
                    {
                        var delta = p[r] / sum - (r == e.Labels[t + 1] ? 1 : 0);
                        for (var c = 0; c < d; c++) grad[r * d + c] += 0.75 * delta * h[t * d + c];
                    }
                }
            }
            return grad;
        }
        foreach (var (acc, kind) in new[] { (trace.Bio, ExampleKind.Bio), (trace.Qa, ExampleKind.Qa) })
        {
            var expected = ByHand(batch.Where(e => e.Kind == kind));
            var actual = TraceFixture.FlatF(acc.Scores[Name]);
            var max = expected.Max(Math.Abs);
            double worst = 0;
            for (var i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(actual[i] - expected[i]) / max);
            output.WriteLine($"{kind}: max |error| / max |Delta| = {worst:E2}");
            Assert.True(worst <= 1e-5, $"{kind}: {worst}");
            Assert.Contains(expected, x => x < 0);
        }
        Assert.Equal(4, trace.Bio.Units);
        Assert.Equal(4, trace.Bio.Examples);
    }

    [Theory]
    [InlineData(Strategy.Mixed, Granularity.MicroBatch)]
    [InlineData(Strategy.Mixed, Granularity.Example)]
    [InlineData(Strategy.TwoStage, Granularity.MicroBatch)]
    [InlineData(Strategy.TwoStage, Granularity.Example)]
    public void TrainingWithTheObserverGivesBitwiseTheSameWeights(Strategy strategy, Granularity granularity)
    {
        set_num_threads(1);
        var w = TraceFixture.World();
        var tok = w.Tokenizer;
        var o = TrainingFixture.Options(strategy) with { BioEpochs = 2, QaEpochs = 1, EvalEvery = 0, ReplayFraction = strategy == Strategy.TwoStage ? 0.5 : 0 };
        static float[] Final(string dir) => IO.Safetensors.Read(Path.Combine(dir, "final", "model.safetensors"))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).SelectMany(kv => kv.Value.data<float>().ToArray()).ToArray();
        var plain = TrainingFixture.TempDir();
        using (var model = TrainingFixture.Model(w))
            new Trainer(model, tok, ExampleEncoder.FromWorld(w, tok), o, plain).Run(false);
        var traced = TrainingFixture.TempDir();
        using (var model = TrainingFixture.Model(w))
        using (var trace = new TrainingTrace(model, ScoreKind.LrGrad, granularity, tok.PadId))
        {
            new Trainer(model, tok, ExampleEncoder.FromWorld(w, tok), o, traced, observer: trace).Run(false);
            Assert.True(trace.Bio.Units > 0 && trace.Qa.Units > 0);
        }
        Assert.Equal(Final(plain), Final(traced));
    }

    [Fact]
    public void TheTaskPartsOfAMixedBatchAddUpToTheBatchMeanLossAndItsGradient()
    {
        // The trainer runs a mixed batch as a BIO part and a QA part (sum of token losses over the batch's loss
        // tokens each): the same loss and gradient as one pass over the whole batch, up to float rounding.
        var w = TraceFixture.World();
        using var model = TraceFixture.Model(w);
        var probes = TraceFixture.Probes(w, bio: 3, qa: 4);
        List<EncodedExample> examples = [probes.Qa[0], probes.Bio[0], probes.Qa[1], probes.Bio[1], probes.Qa[2], probes.Bio[2], probes.Qa[3]];
        var parameters = model.parameters().ToList();
        float[] Grads() => parameters.SelectMany(p => p.grad!.reshape(-1).data<float>().ToArray()).ToArray();
        model.zero_grad();
        float whole;
        using (var b = Batch.Collate(examples, w.Tokenizer.PadId))
        {
            var loss = Loss.NextToken(model, b);
            whole = loss.item<float>();
            loss.backward();
        }
        var expected = Grads();
        model.zero_grad();
        var parts = TaskParts.Of(examples);
        Assert.Equal([ExampleKind.Bio, ExampleKind.Qa], parts.Select(p => p.Kind));
        var collated = parts.Select(p => Batch.Collate(p.Examples, w.Tokenizer.PadId)).ToList();
        double sum = 0;
        long n = collated.Sum(b => (long)b.LossTokens);
        foreach (var b in collated)
        {
            var loss = Loss.NextTokenSum(model, b, n);
            sum += loss.item<float>();
            loss.backward();
            b.Dispose();
        }
        var actual = Grads();
        Assert.Equal(whole, sum, 5);
        var scale = expected.Max(Math.Abs);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a) / scale).Max();
        output.WriteLine($"parts vs whole batch: max |dg| / max |g| = {worst:E2}");
        Assert.True(worst < 1e-5, $"{worst}");
        model.zero_grad();
    }

    [Theory]
    [InlineData(Strategy.Mixed)]
    [InlineData(Strategy.TwoStage)]
    public void AResumedTracedTrainingGivesBitwiseTheScoresOfAnUninterruptedOne(Strategy strategy)
    {
        // The checkpoints hold the sums: stop after step 7 (the checkpoint is at step 4), resume with a new observer
        // and a model of other initial weights; scores and counts equal the straight run's.
        set_num_threads(1);
        var w = TraceFixture.World();
        var tok = w.Tokenizer;
        var o = TrainingFixture.Options(strategy) with { BioEpochs = 2, QaEpochs = 2, EvalEvery = 0 };
        var data = ExampleEncoder.FromWorld(w, tok);
        using var shape = TrainingFixture.Model(w);
        using var straight = new TrainingTrace(shape, ScoreKind.LrGrad, Granularity.MicroBatch, tok.PadId);
        using (var model = TrainingFixture.Model(w))
        using (var trace = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.MicroBatch, tok.PadId))
        {
            new Trainer(model, tok, data, o, TrainingFixture.TempDir(), observer: trace).Run(false);
            Copy(trace, straight);
        }
        var dir = TrainingFixture.TempDir();
        using (var model = TrainingFixture.Model(w))
        using (var trace = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.MicroBatch, tok.PadId))
            Assert.Throws<TrainingStopped>(() => new Trainer(model, tok, data, o with { StopAfterStep = 7 }, dir, observer: trace).Run(false));
        // Without the observer (or with another kind) the run is another configuration: refused, nothing changed.
        using (var model = TrainingFixture.Model(w))
        {
            var e = Assert.ThrowsAny<FactTraceException>(() => new Trainer(model, tok, data, o, dir).Run(resume: true));
            Assert.Contains("different run configuration", e.Message);
        }
        using (var model = TrainingFixture.Model(w, seed: 99))
        using (var trace = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.MicroBatch, tok.PadId))
        {
            new Trainer(model, tok, data, o, dir, observer: trace).Run(resume: true);
            Assert.Equal(Flat(straight.Bio), Flat(trace.Bio));
            Assert.Equal(Flat(straight.Qa), Flat(trace.Qa));
            Assert.Equal((straight.Bio.Units, straight.Bio.Examples, straight.Qa.Units, straight.Qa.Examples, straight.StepsTraced),
                (trace.Bio.Units, trace.Bio.Examples, trace.Qa.Units, trace.Qa.Examples, trace.StepsTraced));
            Assert.Equal(straight.StepsByStage, trace.StepsByStage);
        }
        // Resuming a finished run gives its sums again.
        using (var model = TrainingFixture.Model(w))
        using (var trace = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.MicroBatch, tok.PadId))
        {
            new Trainer(model, tok, data, o, dir, observer: trace).Run(resume: true);
            Assert.Equal(Flat(straight.Qa), Flat(trace.Qa));
        }
    }

    /// <summary>Makes <paramref name="to"/> hold <paramref name="from"/>'s sums and counters (through a checkpoint folder).</summary>
    static void Copy(TrainingTrace from, TrainingTrace to)
    {
        var d = TrainingFixture.TempDir();
        Directory.CreateDirectory(d);
        from.SaveState(d);
        to.LoadState(d);
    }

    [Fact]
    public void TwoStageStageOneAddsNothingToQaAndStageTwoNothingToBio()
    {
        var w = TraceFixture.World();
        var tok = w.Tokenizer;
        var o = TrainingFixture.Options(Strategy.TwoStage) with { BioEpochs = 2, QaEpochs = 2, EvalEvery = 0 };
        using var model = TrainingFixture.Model(w);
        using var trace = new TrainingTrace(model, ScoreKind.LrGrad, Granularity.MicroBatch, tok.PadId);
        var boundary = new AtStageStart(trace, "stage2");
        new Trainer(model, tok, ExampleEncoder.FromWorld(w, tok), o, TrainingFixture.TempDir(), observer: new Observers(boundary, trace)).Run(false);
        Assert.NotNull(boundary.Qa);
        Assert.All(boundary.Qa!, x => Assert.Equal(0f, x));       // after stage 1: Delta_QA is exactly zero
        Assert.Contains(boundary.Bio!, x => x != 0);
        Assert.Equal(boundary.Bio, Flat(trace.Bio));               // stage 2 (no replay) left Delta_BIO bit for bit
        Assert.Contains(Flat(trace.Qa), x => x != 0);
        Assert.Equal(trace.StepsByStage["stage1"], trace.Bio.Units);
        Assert.Equal(trace.StepsByStage["stage2"], trace.Qa.Units);
    }

    [Fact]
    public void TopKRanksLrGradByMagnitudeAndWritesTheSignedScores()
    {
        var w = TraceFixture.World();
        using var model = TrainingFixture.Model(w);
        var map = ParameterMap.For(model.Config);
        var candidates = Tracer.Candidates(map, false, false);
        var name = candidates[0].Name;
        ScoreAccumulator Scores(ScoreKind kind, float[] head, bool abs)
        {
            var t = model.named_parameters().ToDictionary(p => p.name, p => zeros(p.parameter.shape, ScalarType.Float32), StringComparer.Ordinal);
            var flat = t[name].view(-1);
            for (var i = 0; i < head.Length; i++) flat[i].fill_(abs ? Math.Abs(head[i]) : head[i]);
            return new ScoreAccumulator(kind, t, 1, 1);
        }
        var rho = 2.0 / candidates.Sum(p => p.NumEl); // k = 2
        float[] bioHead = [-5, 3, 1], qaHead = [1, -4, 2];
        Dictionary<string, bool[]> Masks(string dir, ScoreKind kind, bool abs)
        {
            using var bio = Scores(kind, bioHead, abs);
            using var qa = Scores(kind, qaHead, abs);
            Tracer.Write(dir, false, map, bio, qa, new TraceOptions { Rhos = [rho] }, "model", "during-training", new ProbeInfo("all", "id", 1, 1, 0));
            return new[] { "bio", "qa", "shared" }.ToDictionary(s => s, s =>
            {
                var (m, _) = ParameterMask.Load(Path.Combine(dir, TraceFiles.Mask(s, rho)));
                using (m) return TraceFixture.Flat(m.Tensors[name]).Take(3).ToArray();
            });
        }
        var signedDir = Path.Combine(TrainingFixture.TempDir(), "t");
        var signed = Masks(signedDir, ScoreKind.LrGrad, abs: false);
        Assert.Equal([true, true, false], signed["bio"]);  // |-5|, |3|
        Assert.Equal([false, true, true], signed["qa"]);   // |-4|, |2|
        Assert.Equal([false, true, false], signed["shared"]);
        // The same as a non-negative kind given the magnitudes; the file keeps the signs.
        var byMagnitude = Masks(Path.Combine(TrainingFixture.TempDir(), "t"), ScoreKind.Grad, abs: true);
        Assert.Equal(byMagnitude.Values, signed.Values);
        var written = IO.Safetensors.Read(Path.Combine(signedDir, TraceFiles.ScoresBio));
        Assert.Equal(-5f, TraceFixture.FlatF(written[name])[0]);
        Assert.Equal("lr-grad", JsonDocument.Parse(File.ReadAllText(Path.Combine(signedDir, TraceFiles.Report))).RootElement.GetProperty("score").GetString());
    }

    static (int Code, string Error) Run(params string[] args) => InProcessCli.Run(args);

    [Fact]
    public void TrainWithTraceScoreLrGradThenTraceDuringTraining()
    {
        var root = TrainingFixture.TempDir();
        var w = TraceFixture.World();
        var worldDir = Path.Combine(root, "world");
        w.Save(worldDir);
        var run = Path.Combine(root, "run");
        var (code, err) = Run("train", "--world", worldDir, "--model", "micro-neox", "--strategy", "mixed", "--out", run, "--bio-epochs", "1",
            "--batch-size", "8", "--eval-every", "0", "--trace-score", "lr-grad", "--threads", "1");
        Assert.True(code == 0, err);
        var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, TrainingTrace.FolderName, TrainingTrace.InfoFile))).RootElement;
        Assert.Equal("lr-grad", info.GetProperty("score").GetString());
        var (bio, qa, meta) = Tracer.LoadScores(Path.Combine(run, TrainingTrace.FolderName));
        using (bio)
        using (qa)
        {
            Assert.Equal(ScoreKind.LrGrad, bio.Kind);
            Assert.Contains(bio.Scores.Values, t => t.lt(0).any().item<bool>());
        }
        var trace = Path.Combine(run, "trace");
        (code, err) = Run("trace", "--world", worldDir, "--model", Path.Combine(run, "final"), "--out", trace, "--during-training", "--rho", "0.01");
        Assert.True(code == 0, err);
        var t = JsonDocument.Parse(File.ReadAllText(Path.Combine(trace, TraceFiles.Report))).RootElement;
        Assert.Equal("lr-grad", t.GetProperty("score").GetString());
        Assert.Equal("during-training", t.GetProperty("when").GetString());
        Assert.True(t.GetProperty("per_rho")[0].GetProperty("k").GetInt64() > 0);

        // lr-grad is a sum over every step, and has no post-hoc form.
        Assert.Equal(2, Run("train", "--world", worldDir, "--strategy", "mixed", "--out", Path.Combine(root, "r2"), "--trace-score", "lr-grad", "--trace-every", "2").Code);
        (code, err) = Run("trace", "--world", worldDir, "--model", Path.Combine(run, "final"), "--out", Path.Combine(root, "t2"), "--score", "lr-grad");
        Assert.True(code == 2, err);
        Assert.Contains("during training", err);
    }
}
