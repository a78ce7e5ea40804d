using System.Text.Json;
using FactTrace.Models;
using FactTrace.Text;

namespace FactTrace.Tests.Models;

/// <summary>
/// The real pretrained model (shared/pretrained/stories260K, Karpathy's llama2.c stories260K converted to an HF
/// folder): FactTrace's loader, its Llama forward and its SentencePiece tokenizer reproduce the published greedy sample.
/// </summary>
[Collection("torch-threads")]
public class Stories260KTests
{
    static string Folder() => Path.Combine(Path.GetDirectoryName(ModelTestKit.GoldenRoot() ?? throw new InvalidOperationException("no shared/ folder found"))!,
        "pretrained", "stories260K");

    [Fact]
    public void GreedyDecodingFromBosGivesThePublishedSample()
    {
        var dir = Folder();
        using var sample = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "greedy_sample.json")));
        var expected = sample.RootElement.GetProperty("greedy_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var text = sample.RootElement.GetProperty("text").GetString()!;
        var folder = ModelFolder.Open(dir);
        var (model, tok) = folder.Load(null);
        using var _ = model;
        Assert.IsType<SentencePieceBpeTokenizer>(tok);
        Assert.Equal((5, 64, 512), (model.Config.NumHiddenLayers, model.Config.HiddenSize, model.Config.VocabSize));
        var got = Generation.Greedy(model, [[tok.BosId!.Value]], expected.Length, new HashSet<int> { tok.EosId }, tok.PadId)[0];
        Assert.Equal(expected, got);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily. She loved to play outside in the park.", tok.Decode(got));
        Assert.Equal(text, tok.Decode(got));
        Assert.Equal(expected, tok.Encode(text));
    }
}
