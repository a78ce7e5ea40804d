using FactTrace.Models;
using FactTrace.Tracing;
using static TorchSharp.torch;

namespace FactTrace.Tests.Tracing;

public class TopKTests
{
    /// <summary>Integer-valued scores in [0, levels): many ties; generated per parameter from a seed.</summary>
    static Dictionary<string, Tensor> TiedScores(ParameterMap map, int levels, long seed)
    {
        using var g = new Generator((ulong)seed, CPU);
        return map.Parameters.ToDictionary(p => p.Name, p => randint(0, levels, p.Shape, generator: g).to(ScalarType.Float32));
    }

    static ParameterMap Map(string family = "micro-neox") => ParameterMap.For(NamedConfigs.Get(family, 53) with { NumHiddenLayers = 1 });

    /// <summary>Brute force: every element as (value, parameter index, flat index), sorted by value desc then the tie rule.</summary>
    static HashSet<(int P, long I)> BruteTop(IReadOnlyList<ParameterInfo> ps, Dictionary<string, Tensor> scores, long k)
    {
        var all = new List<(float V, int P, long I)>();
        for (var p = 0; p < ps.Count; p++)
        {
            var v = TraceFixture.FlatF(scores[ps[p].Name]);
            for (long i = 0; i < v.Length; i++) all.Add((v[i], p, i));
        }
        return all.OrderByDescending(x => x.V).ThenBy(x => x.P).ThenBy(x => x.I).Take((int)k).Select(x => (x.P, x.I)).ToHashSet();
    }

    static HashSet<(int P, long I)> Members(IReadOnlyList<ParameterInfo> ps, ParameterMask m)
    {
        var set = new HashSet<(int, long)>();
        for (var p = 0; p < ps.Count; p++)
        {
            if (!m.Tensors.TryGetValue(ps[p].Name, out var t)) continue;
            var f = TraceFixture.Flat(t);
            for (long i = 0; i < f.Length; i++) if (f[i]) set.Add((p, i));
        }
        return set;
    }

    [Theory]
    [InlineData("micro-neox", 0.01, 7)]
    [InlineData("micro-neox", 0.05, 3)]
    [InlineData("micro-llama", 0.001, 50)]
    [InlineData("micro-llama", 0.3, 2)]
    public void GlobalTopKIsExactIncludingTies(string family, double rho, int levels)
    {
        var map = Map(family);
        var scores = TiedScores(map, levels, 7);
        var ps = Tracer.Candidates(map, includeEmbeddings: false, includeNorms: true);
        var k = TopK.KFor(ps, rho, TopKScope.Global);
        Assert.Equal((long)Math.Round(rho * ps.Sum(p => p.NumEl), MidpointRounding.AwayFromZero), k);
        using var mask = TopK.Select(scores, ps, rho, TopKScope.Global);
        Assert.Equal(k, mask.Count);
        Assert.Equal(BruteTop(ps, scores, k), Members(ps, mask));
        // Only candidates are in the mask.
        Assert.DoesNotContain(mask.Names, n => map[n].IsEmbedding);
    }

    [Theory]
    [InlineData(0.01, 5)]
    [InlineData(0.05, 2)]
    public void PerMatrixTopKIsExactIncludingTiesInEveryTensor(double rho, int levels)
    {
        var map = Map();
        var scores = TiedScores(map, levels, 9);
        var ps = Tracer.Candidates(map, includeEmbeddings: true, includeNorms: false);
        using var mask = TopK.Select(scores, ps, rho, TopKScope.PerMatrix);
        long total = 0;
        foreach (var p in ps)
        {
            var kp = (long)Math.Round(rho * p.NumEl, MidpointRounding.AwayFromZero);
            total += kp;
            Assert.Equal(kp, mask.CountOf(p.Name));
            var expected = BruteTop([p], scores, kp).Select(x => x.I).ToHashSet();
            var got = TraceFixture.Flat(mask.Tensors[p.Name]).Select((b, i) => (b, (long)i)).Where(x => x.b).Select(x => x.Item2).ToHashSet();
            Assert.Equal(expected, got);
        }
        Assert.Equal(TopK.KFor(ps, rho, TopKScope.PerMatrix), total);
        Assert.Equal(total, mask.Count);
    }

    [Fact]
    public void TiesGoToTheEarlierParameterThenTheLowerFlatIndex()
    {
        var map = Map();
        var ps = Tracer.Candidates(map, false, false);
        var scores = ps.ToDictionary(p => p.Name, p => zeros(p.Shape, ScalarType.Float32));
        // One clear winner in the last tensor; everything else ties at 1.
        foreach (var p in ps) scores[p.Name].fill_(1f);
        scores[ps[^1].Name].view(-1)[5] = tensor(2f);
        using var mask = TopK.SelectK(scores, ps.Select(p => p.Name).ToList(), 4);
        Assert.True(TraceFixture.Flat(mask.Tensors[ps[^1].Name])[5]);
        Assert.Equal(new[] { true, true, true, false }, TraceFixture.Flat(mask.Tensors[ps[0].Name]).Take(4));
        Assert.Equal(4, mask.Count);
    }

    [Fact]
    public void KthLargestByBisectionEqualsSorting()
    {
        using var g = new Generator(3, CPU);
        var a = (randn(1000, generator: g).exp() * 1e-3f).abs();
        var b = tensor(new float[] { 0f, 0f, float.Epsilon, 1e-40f, 3e38f, 1f, 1f, 1f });
        var all = TraceFixture.FlatF(a).Concat(TraceFixture.FlatF(b)).OrderByDescending(x => x).ToArray();
        var scores = new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b };
        foreach (var k in new long[] { 1, 2, 3, 5, 100, 700, 1006, 1007, 1008 })
            Assert.Equal(all[k - 1], TopK.KthLargest(scores, ["a", "b"], k));
    }

    [Fact]
    public void NegativeOrNaNScoresAreRefused()
    {
        var map = Map();
        var ps = Tracer.Candidates(map, false, false);
        var scores = ps.ToDictionary(p => p.Name, p => ones(p.Shape, ScalarType.Float32));
        scores[ps[2].Name].view(-1)[0] = tensor(-1f);
        Assert.Throws<IO.FactTraceException>(() => TopK.Select(scores, ps, 0.01, TopKScope.Global));
    }
}
