using System.Text.Json;
using FactTrace.Models;
using FactTrace.Tests.Training;
using FactTrace.Tracing;
using static TorchSharp.torch;

namespace FactTrace.Tests.Tracing;

[Collection("torch-threads")]
public class SharedSetTests
{
    /// <summary>Traces a micro model into a temp folder (grad, per example, all rho of the sweep).</summary>
    static (string Dir, TraceReport Report, ParameterMap Map) Trace(string family, TopKScope scope, bool embeddings = false, bool norms = false)
    {
        var w = TraceFixture.World();
        using var model = TraceFixture.Model(w, family);
        var map = ParameterMap.For(model.Config);
        var o = new TraceOptions { Scope = scope, IncludeEmbeddings = embeddings, IncludeNorms = norms, Rhos = [0.01, 0.1] };
        var probes = TraceFixture.Probes(w, 4, 4);
        var (bio, qa) = Tracer.Score(model, probes, o, w.Tokenizer.PadId);
        using (bio)
        using (qa)
        {
            var dir = Path.Combine(TrainingFixture.TempDir(), "trace");
            var report = Tracer.Write(dir, false, map, bio, qa, o, "m", "post-hoc", new ProbeInfo("all", "id", 4, 4, 1));
            return (dir, report, map);
        }
    }

    static Dictionary<string, bool[]> LoadFlat(string file)
    {
        var (m, _) = ParameterMask.Load(file);
        using (m) return m.Tensors.ToDictionary(kv => kv.Key, kv => TraceFixture.Flat(kv.Value));
    }

    [Theory]
    [InlineData(ModelConfig.GptNeoX, TopKScope.Global)]
    [InlineData(ModelConfig.GptNeoX, TopKScope.PerMatrix)]
    [InlineData(ModelConfig.Llama, TopKScope.Global)]
    public void SharedSetIsTheBruteForceIntersectionAndTheStatisticsFollow(string family, TopKScope scope)
    {
        var (dir, report, map) = Trace(family, scope);
        var scoresBio = IO.Safetensors.Read(Path.Combine(dir, TraceFiles.ScoresBio));
        var scoresQa = IO.Safetensors.Read(Path.Combine(dir, TraceFiles.ScoresQa));
        var candidates = Tracer.Candidates(map, false, false);
        Assert.Equal(candidates.Sum(p => p.NumEl), report.ParametersConsidered);
        foreach (var r in report.PerRho)
        {
            var bio = LoadFlat(Path.Combine(dir, TraceFiles.Mask("bio", r.Rho)));
            var qa = LoadFlat(Path.Combine(dir, TraceFiles.Mask("qa", r.Rho)));
            var shared = LoadFlat(Path.Combine(dir, TraceFiles.Mask("shared", r.Rho)));
            Assert.Equal(candidates.Select(p => p.Name).Order(), shared.Keys.Order());
            long s = 0;
            foreach (var p in candidates)
                for (var i = 0; i < shared[p.Name].Length; i++)
                {
                    Assert.Equal(bio[p.Name][i] && qa[p.Name][i], shared[p.Name][i]);
                    if (shared[p.Name][i]) s++;
                }
            var k = bio.Values.Sum(b => b.LongCount(x => x));
            Assert.Equal(k, qa.Values.Sum(b => b.LongCount(x => x)));
            Assert.Equal(k, r.K);
            Assert.Equal(s, r.Shared);
            Assert.Equal((double)s / k, r.SharedFraction, 12);
            Assert.Equal((double)s / (2 * k - s), r.Iou, 12);
            Assert.Equal(s / (r.Rho * k), r.Enrichment, 9);
            // The masks are the top-k of the saved scores (spot check: the smallest selected >= the largest unselected).
            foreach (var (set, scores) in new[] { (bio, scoresBio), (qa, scoresQa) })
            {
                if (scope != TopKScope.Global) break;
                float minIn = float.MaxValue, maxOut = 0;
                foreach (var p in candidates)
                {
                    var v = TraceFixture.FlatF(scores[p.Name]);
                    for (var i = 0; i < v.Length; i++)
                        if (set[p.Name][i]) minIn = Math.Min(minIn, v[i]); else maxOut = Math.Max(maxOut, v[i]);
                }
                Assert.True(minIn >= maxOut, $"{minIn} < {maxOut}");
            }
            // Layer x component rows add up to the totals.
            Assert.Equal(s, r.ByLayerComponent.Sum(x => x.Shared));
            Assert.Equal(k, r.ByLayerComponent.Sum(x => x.Bio));
            Assert.Equal(report.ParametersConsidered, r.ByLayerComponent.Sum(x => x.Total));
        }
        Assert.True(File.Exists(Path.Combine(dir, TraceFiles.ByHead)));
        Assert.True(File.Exists(Path.Combine(dir, TraceFiles.ByNeuron)));
        Assert.Equal(family == ModelConfig.Llama, File.Exists(Path.Combine(dir, TraceFiles.ByKvHead)));
    }

    [Fact]
    public void NeoXHeadAndNeuronCountsEqualCountsThroughExplicitSlices()
    {
        var (dir, report, map) = Trace(ModelConfig.GptNeoX, TopKScope.Global);
        int hd = map.HeadDim, h = map.Heads, d = map.Hidden, inter = map.Intermediate;
        foreach (var r in report.PerRho)
        {
            var (mask, _) = ParameterMask.Load(Path.Combine(dir, TraceFiles.Mask("shared", r.Rho)));
            using var _m = mask;
            var m = mask.Tensors;
            for (var l = 0; l < map.Layers; l++)
            {
                var pre = $"gpt_neox.layers.{l}.";
                long Count(Tensor t) => t.sum().item<long>();
                var qkvW = m[pre + "attention.query_key_value.weight"]; // [3*h*hd, d] rows: head, {q,k,v}, hd
                var qkvB = m[pre + "attention.query_key_value.bias"];
                var dense = m[pre + "attention.dense.weight"];          // [d, h*hd]
                for (var head = 0; head < h; head++)
                {
                    long expected = 0;
                    for (var part = 0; part < 3; part++)
                    {
                        var start = head * 3 * hd + part * hd;
                        expected += Count(qkvW[start..(start + hd), ..]) + Count(qkvB[start..(start + hd)]);
                    }
                    expected += Count(dense[.., (head * hd)..((head + 1) * hd)]);
                    var row = r.ByHead.Single(x => x.Layer == l && x.Head == head);
                    Assert.Equal(expected, row.Shared);
                    Assert.Equal(3L * hd * (d + 1) + (long)d * hd, row.Total);
                }
                var lines = File.ReadAllLines(Path.Combine(dir, TraceFiles.ByNeuron)).Skip(1).Select(x => x.Split(','))
                    .Where(x => double.Parse(x[0], System.Globalization.CultureInfo.InvariantCulture) == r.Rho && x[1] == l.ToString()).ToList();
                Assert.Equal(inter, lines.Count);
                var up = m[pre + "mlp.dense_h_to_4h.weight"];   // [inter, d]
                var upB = m[pre + "mlp.dense_h_to_4h.bias"];    // [inter]
                var down = m[pre + "mlp.dense_4h_to_h.weight"]; // [d, inter]
                for (var j = 0; j < inter; j++)
                {
                    var expected = Count(up[j]) + Count(upB[j..(j + 1)]) + Count(down[.., j]);
                    Assert.Equal(expected, long.Parse(lines[j][3]));
                    Assert.Equal(2L * d + 1, long.Parse(lines[j][6]));
                }
            }
        }
    }

    [Fact]
    public void LlamaHeadKvHeadAndNeuronCountsEqualCountsThroughExplicitSlices()
    {
        var (dir, report, map) = Trace(ModelConfig.Llama, TopKScope.Global);
        int hd = map.HeadDim, h = map.Heads, kv = map.KvHeads, inter = map.Intermediate;
        Assert.True(kv < h);
        foreach (var r in report.PerRho)
        {
            var (mask, _) = ParameterMask.Load(Path.Combine(dir, TraceFiles.Mask("shared", r.Rho)));
            using var _m = mask;
            var m = mask.Tensors;
            long Count(Tensor t) => t.sum().item<long>();
            for (var l = 0; l < map.Layers; l++)
            {
                var pre = $"model.layers.{l}.";
                for (var head = 0; head < h; head++)
                {
                    var expected = Count(m[pre + "self_attn.q_proj.weight"][(head * hd)..((head + 1) * hd), ..])
                        + Count(m[pre + "self_attn.o_proj.weight"][.., (head * hd)..((head + 1) * hd)]);
                    Assert.Equal(expected, r.ByHead.Single(x => x.Layer == l && x.Head == head).Shared);
                }
                for (var g = 0; g < kv; g++)
                {
                    var expected = Count(m[pre + "self_attn.k_proj.weight"][(g * hd)..((g + 1) * hd), ..])
                        + Count(m[pre + "self_attn.v_proj.weight"][(g * hd)..((g + 1) * hd), ..]);
                    Assert.Equal(expected, r.ByKvHead!.Single(x => x.Layer == l && x.Head == g).Shared);
                }
                var lines = File.ReadAllLines(Path.Combine(dir, TraceFiles.ByNeuron)).Skip(1).Select(x => x.Split(','))
                    .Where(x => double.Parse(x[0], System.Globalization.CultureInfo.InvariantCulture) == r.Rho && x[1] == l.ToString()).ToList();
                for (var j = 0; j < inter; j++)
                {
                    var expected = Count(m[pre + "mlp.gate_proj.weight"][j]) + Count(m[pre + "mlp.up_proj.weight"][j])
                        + Count(m[pre + "mlp.down_proj.weight"][.., j]);
                    Assert.Equal(expected, long.Parse(lines[j][3]));
                }
            }
            // Centralization over heads from the per-head counts.
            var c = Centralization.Of(r.ByHead.Select(x => (double)x.Shared).ToList());
            Assert.Equal(c, r.Centralization.Heads);
        }
    }

    [Fact]
    public void CentralizationOfKnownDistributions()
    {
        var even = Centralization.Of(Enumerable.Repeat(3.0, 20).ToList());
        Assert.Equal(1.0, even.Entropy!.Value, 12);
        Assert.Equal(0.0, even.Gini!.Value, 12);
        Assert.Equal(0.5, even.Top10Share!.Value, 12);
        var one = Centralization.Of(Enumerable.Repeat(0.0, 19).Append(7).ToList());
        Assert.Equal(0.0, one.Entropy!.Value, 12);
        Assert.Equal(19.0 / 20, one.Gini!.Value, 12);
        Assert.Equal(1.0, one.Top10Share!.Value, 12);
        // Gini by the mean-absolute-difference definition.
        double[] x = [0, 1, 2, 5, 9, 0, 3];
        var mad = x.Sum(a => x.Sum(b => Math.Abs(a - b))) / (2.0 * x.Length * x.Length * x.Average());
        Assert.Equal(mad, Centralization.Of(x).Gini!.Value, 12);
        Assert.Null(Centralization.Of([0.0, 0.0]).Entropy);
    }

    [Fact]
    public void TraceJsonHasTheAgreedSchema()
    {
        var (dir, _, _) = Trace(ModelConfig.GptNeoX, TopKScope.Global);
        var j = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, TraceFiles.Report))).RootElement;
        foreach (var key in new[] { "format_version", "model", "score", "granularity", "scope", "include_embeddings", "include_norms", "probe", "parameters_considered", "per_rho" })
            Assert.True(j.TryGetProperty(key, out _), key);
        Assert.Equal(1, j.GetProperty("format_version").GetInt32());
        Assert.Equal("grad", j.GetProperty("score").GetString());
        Assert.Equal("example", j.GetProperty("granularity").GetString());
        Assert.Equal("global", j.GetProperty("scope").GetString());
        foreach (var key in new[] { "bio", "qa", "bio_size", "qa_size", "seed" }) Assert.True(j.GetProperty("probe").TryGetProperty(key, out _), key);
        var r = j.GetProperty("per_rho")[0];
        foreach (var key in new[] { "rho", "k", "shared", "shared_fraction", "iou", "enrichment", "centralization", "by_layer_component", "by_head" })
            Assert.True(r.TryGetProperty(key, out _), key);
        foreach (var unit in new[] { "heads", "neurons" })
            foreach (var key in new[] { "entropy", "gini", "top10_share" })
                Assert.True(r.GetProperty("centralization").GetProperty(unit).TryGetProperty(key, out _), $"{unit}.{key}");
        var lc = r.GetProperty("by_layer_component")[0];
        foreach (var key in new[] { "layer", "component", "shared", "bio", "qa", "total", "density" }) Assert.True(lc.TryGetProperty(key, out _), key);
        var hd = r.GetProperty("by_head")[0];
        foreach (var key in new[] { "layer", "head", "shared", "total", "density" }) Assert.True(hd.TryGetProperty(key, out _), key);
    }
}
