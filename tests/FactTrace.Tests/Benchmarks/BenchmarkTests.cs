using FactTrace.Benchmarks;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Tests.Benchmarks;

/// <summary>The benchmark's accounting (not its speed: benchmarks are never part of the test suite).</summary>
public class BenchmarkTests
{
    [Theory]
    [InlineData("tiny-neox")]
    [InlineData("neox-6x256")]
    [InlineData("pythia-70m")]
    [InlineData("tiny-llama")]
    public void FlopCountAccountsForEveryParameter(string name)
    {
        var m = BenchModels.Resolve(name, 777);
        using var model = ModelFactory.Build(m.Config);
        var f = FlopCount.TrainStep(m.Config, 2, 8, 14);
        Assert.Equal(model.ParameterCount(), f.TrunkParams + f.OutputParams + f.EmbeddingParams);
        var c = m.Config;
        double expected = 6.0 * f.TrunkParams * 16 + 6.0 * c.HiddenSize * c.VocabSize * 14
                          + 12.0 * c.NumHiddenLayers * c.NumAttentionHeads * c.HeadDim * 2 * 8 * 8;
        Assert.Equal(expected, f.PerStep);
    }

    [Fact]
    public void PublishedPythia70mNonEmbeddingParametersMatchThePublishedCount()
    {
        var f = FlopCount.TrainStep(NamedConfigs.GetPublished("pythia-70m"), 1, 1, 1);
        Assert.Equal(18_915_328, f.TrunkParams);
    }

    /// <summary>
    /// The FLOPs of a 32 x 64 step as FlopCount gave them when it derived the parameter counts itself (before it
    /// asked ParameterMap): the switch must not change a number.
    /// </summary>
    [Fact]
    public void FlopCountsOfNamedConfigsAreUnchanged()
    {
        var pythia = FlopCount.TrainStep(NamedConfigs.GetPublished("pythia-70m"), 32, 64, 32 * 63);
        Assert.Equal(548_803_706_880.0, pythia.PerStep);
        Assert.Equal((18_915_328L, 25_755_648L, 25_755_648L), (pythia.TrunkParams, pythia.OutputParams, pythia.EmbeddingParams));
        var llama = FlopCount.TrainStep(NamedConfigs.Get("tiny-llama", 2065), 32, 64, 32 * 63);
        Assert.Equal(12_925_378_560.0, llama.PerStep);
        Assert.Equal((726_144L, 264_320L, 0L), (llama.TrunkParams, llama.OutputParams, llama.EmbeddingParams));
    }

    [Fact]
    public void PeerScriptIsEmbeddedAndPeerConfigDescribesTheModel()
    {
        using var s = typeof(Peer).Assembly.GetManifestResourceStream("FactTrace.Benchmarks.peer.py");
        Assert.NotNull(s);
        var text = new StreamReader(s!).ReadToEnd();
        Assert.Contains("def run_step", text);
        var c = Peer.Config(NamedConfigs.Get("tiny-llama", 300));
        Assert.Equal("llama", c["family"]!.GetValue<string>());
        Assert.Equal(2, c["kv_heads"]!.GetValue<int>());
        Assert.True(c["tied"]!.GetValue<bool>());
    }

    [Fact]
    public void RssIsReadOnLinux()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(Rss.Current > 0);
        Assert.True(Rss.Peak >= Rss.Current / 2);
    }

    [Fact]
    public void RandomRowsAreUnpaddedAndInVocabulary()
    {
        var rows = StepBenchmark.RandomRows(50, 4, 9);
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => { Assert.Equal(9, r.Length); Assert.All(r.Ids, i => Assert.InRange(i, 0, 49)); Assert.Equal(r.Ids, r.Labels); });
        using var batch = Batch.Collate(rows, 0);
        Assert.Equal(36, batch.Tokens);
    }

    [Fact]
    public void FlatBufferTraceLoopGivesTheSameSumsAsTheTracer()
    {
        var w = FactTrace.Tests.Training.TrainingFixture.World();
        using var model = FactTrace.Tests.Training.TrainingFixture.Model(w);
        var examples = ExampleEncoder.FromWorld(w, w.Tokenizer).Bio.Take(5).ToList();
        var parameters = model.parameters().ToList();
        using var flat = zeros(parameters.Sum(p => p.numel()));
        using var traced = GradientTrace.Run(model, examples, ScoreKind.Grad, Granularity.Example, w.Tokenizer.PadId);
        TraceBenchmark.AccumulateFlat(model, flat, examples, w.Tokenizer.PadId);
        using var expected = cat(model.named_parameters().Select(p => traced.Scores[p.name].flatten()).ToList(), 0);
        Assert.True(expected.sum().item<float>() > 0);
        Assert.True(FactTrace.Tests.Models.ModelTestKit.BitEqual(expected, flat), "flat sums differ from the tracer's");
        Assert.All(parameters, p => Assert.Null(p.grad));
    }

    [Fact]
    public void TraceBenchmarkTimesTheTracerAgainstForwardBackward()
    {
        var w = FactTrace.Tests.Training.TrainingFixture.World();
        using var model = FactTrace.Tests.Training.TrainingFixture.Model(w);
        var examples = ExampleEncoder.FromWorld(w, w.Tokenizer).Bio.Take(6).ToList();
        var r = TraceBenchmark.Run("fixture", model, examples, rounds: 1, padId: w.Tokenizer.PadId);
        Assert.Equal(6, r.Examples);
        Assert.True(r.FwdBwdMs > 0 && r.TraceMs > 0 && r.FlatTraceMs > 0);
        Assert.Equal(r.TraceMs / r.FwdBwdMs, r.CostRatio, 9);
        Assert.True(model.training, "the benchmark leaves the model in train mode");
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
    }

    [Fact]
    public void StepPartsTimesEachPartAndPrintsThem()
    {
        var r = StepParts.Run(new StepPartsOptions { Model = "micro-neox", Vocab = 50, BatchSize = 2, Seq = 8, Steps = 1, Phases = true });
        Assert.Equal(["forward", "forward+backward", "full step (collate, clip, AdamW)"], r.Parts.Select(p => p.Name));
        Assert.Equal(16, r.Tokens);
        var blocks = r.Print().Blocks;
        Assert.Equal(3, Assert.IsType<PrintTable>(blocks[0]).Rows.Count);
        Assert.StartsWith("model micro-neox: ", Assert.IsType<string>(blocks[1]));
        Assert.Equal("total", Assert.IsType<PrintTable>(blocks[2]).Rows[^1][0]);
        var sum = StepParts.Run(new StepPartsOptions { Model = "micro-neox", Vocab = 50, BatchSize = 2, Seq = 8, Checksum = 2 });
        Assert.Matches("^[0-9a-f]{16} after 2 steps; last loss ", Assert.IsType<string>(Assert.Single(sum.Print().Blocks)));
    }

    [Fact]
    public void SuitePrintFillsEveryColumnOfEveryTable()
    {
        var machine = new MachineInfo
        {
            Cpu = "cpu", CpuFeatures = "avx2", Cores = 2, TorchThreads = 2, LibTorch = "libtorch", TorchSharp = "0.107.0", DotNet = ".NET",
            Os = "linux", LoadAverageStart = 0.5, LoadAverageEnd = 1.0,
        };
        StepBenchmark.StepResult Step(string mode, double tps) => new()
        {
            Name = "tiny-neox", Mode = mode, Params = 1000, MatmulParams = 900, Rows = 32, Seq = 64, Steps = 5, StepMs = 10, StepMsMedian = 10,
            TokensPerSecond = tps, TokensPerCpuSecond = tps, FlopsPerStep = 1e9, GFlops = 100, PeakRssBytes = 1 << 20,
        };
        var peer = new PeerStep(1000, 10, 10, 5, 1 << 20, 10, 1000);
        var trace = new TraceBenchmark.TraceBenchResult
        {
            Name = "tiny-neox", Examples = 8, MeanTokens = 40, FwdBwdMs = 8, TraceMs = 9, ExamplesPerSecond = 111, CostRatio = 1.1, PeakRssBytes = 1 << 20,
        };
        var suite = new SuiteResult
        {
            Machine = machine, MatmulFp32 = new Matmul.MatmulResult(2048, "fp32", 2, 190, 185, 10, 95), WorldVocab = 2065, FlopFormula = Suite.FlopFormula,
            Steps = [new StepRow("tiny-neox", "", Step("fp32", 1400), peer), new StepRow("tiny-neox", "", Step("bf16", 2500), peer)],
            Traces = [new TraceRow("tiny-neox", trace, new PeerTrace(8, 8.5, 117, 1.06, 1.06, 117))],
            Eval = new EvalBenchmark.EvalBenchResult { Questions = 10, QuestionsPerSecond = 5, Bios = 4, BiosPerSecond = 2, Seconds = 4, PeakRssBytes = 1 << 20 },
            Seconds = 60,
        };
        var tables = suite.Print().Blocks.OfType<PrintTable>().ToList();
        Assert.Equal(4, tables.Count); // matmul, step, trace, evaluation
        Assert.All(tables, t => Assert.All(t.Rows, row => Assert.Equal(t.Columns.Count, row.Count)));
        Assert.Equal(3, tables[1].Rows.Count); // two modes and the fastest-vs-fastest row
        Assert.Contains("GradientTrace.Run", tables[2].Title);
        var alone = new TraceSuiteResult(machine, suite.Traces, 10).Print().Blocks.OfType<PrintTable>();
        Assert.Equal("1.10", Assert.Single(Assert.Single(alone).Rows)[6]);
    }

    [Fact]
    public void TargetsPrintPassAndFail()
    {
        var r = new Targets.TargetsResult([new("fast", "x", 0.2, 0.5, ""), new("slow", "y", 2, 1, "")], "cpu", 0.1, 0.2);
        Assert.False(r.AllMet);
        var t = Assert.IsType<PrintTable>(r.Print().Blocks[0]);
        Assert.Equal(["pass", "FAIL"], t.Rows.Select(row => row[4]));
        Assert.StartsWith("targets: 1 of 2 met", Assert.IsType<string>(r.Print().Blocks[1]));
    }
}
