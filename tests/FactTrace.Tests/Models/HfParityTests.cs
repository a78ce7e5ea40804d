using FactTrace.IO;
using FactTrace.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

/// <summary>
/// Every folder under shared/golden loads through the normal HF-folder loader and reproduces the reference logits,
/// loss (1e-4) and every parameter gradient by HF name (1e-5). New folders are covered without code changes.
/// </summary>
public class HfParityTests(ITestOutputHelper output)
{
    const string NoGolden = "<no golden folder found>";

    public static IEnumerable<object[]> GoldenFolders()
    {
        var root = ModelTestKit.GoldenRoot();
        var folders = root is null ? [] : Directory.GetDirectories(root).Where(d => File.Exists(Path.Combine(d, "golden.safetensors"))).Order().ToList();
        if (folders.Count == 0) return [[NoGolden]];
        return folders.Select(f => new object[] { Path.GetFileName(f) });
    }

    [Theory]
    [MemberData(nameof(GoldenFolders))]
    public void MatchesHuggingFaceLogitsLossAndGradients(string name)
    {
        Assert.False(name == NoGolden, "no shared/golden folder found above " + AppContext.BaseDirectory);
        var folder = Path.Combine(ModelTestKit.GoldenRoot()!, name);
        using var scope = NewDisposeScope();
        var golden = Safetensors.Read(Path.Combine(folder, "golden.safetensors"));
        using var model = HfCheckpoint.Load(folder);
        model.train();

        var ids = golden["input_ids"];
        var logits = model.forward(ids, null);
        var loss = CausalLM.NextTokenLoss(logits, ids);
        Assert.Equal(golden["logits"].shape, logits.shape);
        Assert.True(ModelTestKit.MaxAbsDiff(logits, golden["logits"]) < 1e-4, $"logits differ by {ModelTestKit.MaxAbsDiff(logits, golden["logits"])}");
        Assert.True(ModelTestKit.MaxAbsDiff(loss.reshape(1), golden["loss"]) < 1e-4, $"loss {loss.item<float>()} vs {golden["loss"].item<float>()}");

        loss.backward();
        var parameters = ModelTestKit.Parameters(model);
        var goldenGrads = golden.Keys.Where(k => k.StartsWith("grad.")).Select(k => k["grad.".Length..]).Order().ToList();
        Assert.Equal(goldenGrads, parameters.Keys.Order().ToList());
        var worst = parameters
            .Select(p => (p.Key, Diff: ModelTestKit.MaxAbsDiff(p.Value.grad!, golden["grad." + p.Key])))
            .MaxBy(x => x.Diff);
        output.WriteLine($"{name}: logits {ModelTestKit.MaxAbsDiff(logits, golden["logits"]):E2}, loss {ModelTestKit.MaxAbsDiff(loss.reshape(1), golden["loss"]):E2}, worst gradient {worst.Key} {worst.Diff:E2}");
        Assert.True(worst.Diff < 1e-5, $"gradient of {worst.Key} differs by {worst.Diff}");
    }
}
