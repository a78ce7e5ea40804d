using FactTrace.IO;
using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

public class NamedConfigTests
{
    [Fact]
    public void TinyConfigsHaveTheAdvertisedShapes()
    {
        var neox = NamedConfigs.Get("tiny-neox", 500);
        Assert.Equal((4, 128, 4, 512, 500, true), (neox.NumHiddenLayers, neox.HiddenSize, neox.NumAttentionHeads, neox.IntermediateSize, neox.VocabSize, neox.UseParallelResidual!.Value));
        Assert.Equal(8, neox.RotaryDims);
        var llama = NamedConfigs.Get("tiny-llama", 500);
        Assert.Equal((4, 128, 4, 2, 344, true), (llama.NumHiddenLayers, llama.HiddenSize, llama.NumAttentionHeads, llama.KvHeads, llama.IntermediateSize, llama.TieWordEmbeddings));
        foreach (var name in NamedConfigs.TinyNames)
        {
            using var model = ModelFactory.Create(NamedConfigs.Get(name, 300), 1);
            Assert.True(model.ParameterCount() > 0);
        }
    }

    [Fact]
    public void PublishedPythia70mHasThePublishedParameterCount()
    {
        using var model = ModelFactory.Build(NamedConfigs.GetPublished("pythia-70m"));
        Assert.Equal(70_426_624, model.ParameterCount());
        Assert.Equal(18_915_328, model.ParameterCount() - 2 * 50304 * 512);
    }

    [Fact]
    public void PublishedLlamaLayerShapesGiveTheLlama32_1BCount()
    {
        // One layer with a small vocabulary: embeddings + 1 layer + final norm; scaled up, 1,235,814,400.
        var c = NamedConfigs.GetPublished("llama-3.2-1b");
        using var model = ModelFactory.Build(NamedConfigs.Get("llama-3.2-1b", 16) with { NumHiddenLayers = 1 });
        var perLayer = model.ParameterCount() - 16 * 2048 - 2048;
        Assert.Equal(1_235_814_400, 128256L * 2048 + c.NumHiddenLayers * perLayer + 2048);
    }

    [Fact]
    public void ResolveAcceptsNamesConfigFilesAndFolders()
    {
        Assert.Equal(50304, NamedConfigs.Resolve("pythia-160m").VocabSize);
        Assert.Equal(99, NamedConfigs.Resolve("tiny-neox", 99).VocabSize);
        Assert.Equal(FactTrace.IO.ErrorKind.Usage, Assert.ThrowsAny<FactTraceException>(() => NamedConfigs.Resolve("tiny-neox")).Kind);
        Assert.ThrowsAny<FactTraceException>(() => NamedConfigs.Resolve("no-such-model"));
        var golden = ModelTestKit.GoldenRoot();
        Assert.NotNull(golden);
        Assert.Equal("llama", NamedConfigs.Resolve(Path.Combine(golden, "llama-tiny-tied")).ModelType);
        Assert.Equal("gpt_neox", NamedConfigs.Resolve(Path.Combine(golden, "neox-tiny-parallel", "config.json")).ModelType);
    }
}
