using FactTrace.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

/// <summary>Shared helpers for the model tests: golden folder lookup, temp folders, small models, comparisons.</summary>
static class ModelTestKit
{
    public const int Vocab = 97;

    /// <summary>shared/golden found by walking up from the test binaries (the CI clone has ../shared beside the repo), or null.</summary>
    public static string? GoldenRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "golden"), Path.Combine(dir.FullName, "..", "shared", "golden") })
                if (Directory.Exists(candidate)) return Path.GetFullPath(candidate);
        return null;
    }

    public static CausalLM Micro(string family, long seed = 1, int vocab = Vocab) =>
        ModelFactory.Create(NamedConfigs.Get($"micro-{family}", vocab), seed);

    public static Tensor RandomIds(long b, long t, long seed, int vocab = Vocab)
    {
        using var g = new Generator((ulong)seed, CPU);
        return randint(0, vocab, [b, t], generator: g, dtype: ScalarType.Int64);
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a.to(ScalarType.Float64) - b.to(ScalarType.Float64)).abs().max().item<double>();
    }

    public static bool BitEqual(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.contiguous().bytes.SequenceEqual(b.contiguous().bytes);

    public static Dictionary<string, Tensor> Parameters(CausalLM model) =>
        model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
}
