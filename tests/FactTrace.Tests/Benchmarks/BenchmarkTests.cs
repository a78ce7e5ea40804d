using FactTrace.Benchmarks;
using FactTrace.Models;
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
    public void FlatBufferTraceLoopGivesTheSameSumsAsThePerParameterLoop()
    {
        var w = FactTrace.Tests.Training.TrainingFixture.World();
        using var model = FactTrace.Tests.Training.TrainingFixture.Model(w);
        var examples = ExampleEncoder.FromWorld(w, w.Tokenizer).Bio.Take(5).ToList();
        var parameters = model.parameters().ToList();
        var perParameter = parameters.Select(p => zeros_like(p)).ToList();
        using var flat = zeros(parameters.Sum(p => p.numel()));
        TraceBenchmark.Accumulate(model, perParameter, examples, w.Tokenizer.PadId);
        TraceBenchmark.AccumulateFlat(model, flat, examples, w.Tokenizer.PadId);
        using var expected = cat(perParameter.Select(t => t.flatten()).ToList(), 0);
        Assert.True(expected.sum().item<float>() > 0);
        Assert.True(FactTrace.Tests.Models.ModelTestKit.BitEqual(expected, flat), "flat sums differ from per-parameter sums");
        Assert.All(parameters, p => Assert.Null(p.grad));
        foreach (var t in perParameter) t.Dispose();
    }
}
