using FactTrace.Models;
using FactTrace.Tests.Training;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;
using static TorchSharp.torch;

namespace FactTrace.Tests.Tracing;

/// <summary>Tiny worlds, 1-layer micro models, probe sets and brute-force helpers for the tracing tests.</summary>
static class TraceFixture
{
    public static FactWorld World() => TrainingFixture.World();

    /// <summary>A micro model whose weights are nudged off the init (so biases and norms are not all 0/1).</summary>
    public static CausalLM Model(FactWorld w, string family = ModelConfig.GptNeoX, long seed = 0)
    {
        var m = TrainingFixture.Model(w, seed, family);
        using var noGrad = no_grad();
        using var g = new Generator((ulong)(seed + 11), CPU);
        foreach (var p in m.parameters()) p.add_(empty(p.shape).normal_(0, 0.05, g));
        return m;
    }

    public static ProbeSet Probes(FactWorld w, int bio = 5, int qa = 5) =>
        ProbeSet.Build(w, w.Tokenizer, new ProbeOptions { BioSize = bio, QaSize = qa, Seed = 1 });

    /// <summary>The score of each parameter summed by hand in float64: one backward pass per unit, gradient read element by element.</summary>
    public static Dictionary<string, double[]> BruteForce(CausalLM model, IEnumerable<IReadOnlyList<EncodedExample>> units, ScoreKind kind, int padId)
    {
        var sums = model.named_parameters().ToDictionary(p => p.name, p => new double[p.parameter.numel()]);
        model.eval();
        foreach (var unit in units)
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            using var batch = Batch.Collate(unit, padId);
            Loss.NextToken(model, batch).backward();
            foreach (var (name, p) in model.named_parameters())
            {
                var s = sums[name];
                var w = p.detach().reshape(-1).data<float>().ToArray();
                if (p.grad is not { } grad) continue;
                var g = grad.reshape(-1).data<float>().ToArray();
                for (var i = 0; i < s.Length; i++)
                    s[i] += kind switch
                    {
                        ScoreKind.Grad => Math.Abs((double)g[i]),
                        ScoreKind.GradXWeight => Math.Abs((double)g[i] * w[i]),
                        _ => (double)g[i] * g[i],
                    };
            }
        }
        model.zero_grad();
        return sums;
    }

    public static bool[] Flat(Tensor boolMask) => boolMask.reshape(-1).data<bool>().ToArray();
    public static float[] FlatF(Tensor t) => t.reshape(-1).data<float>().ToArray();
}
