using FactTrace.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

public class ParameterMapTests
{
    // Tiny configs: NeoX D=16, H=4 (d_head 4), I=64, V=50; Llama D=16, H=4, KV=2 (d_head 4), I=24, V=40.
    static ModelConfig NeoX(bool attentionBias = true) => new()
    {
        ModelType = "gpt_neox", VocabSize = 50, HiddenSize = 16, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, RotaryPct = 0.5, AttentionBias = attentionBias ? null : false,
    };

    static ModelConfig Llama(bool tied, bool bias = false, int kv = 2) => new()
    {
        ModelType = "llama", VocabSize = 40, HiddenSize = 16, IntermediateSize = 24, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = kv, TieWordEmbeddings = tied, AttentionBias = bias, MlpBias = bias,
    };

    /// <summary>HF's GPTNeoXForCausalLM.named_parameters(), written out by hand for the tiny config.</summary>
    static (string, long[])[] ExpectedNeoX()
    {
        var list = new List<(string, long[])> { ("gpt_neox.embed_in.weight", [50, 16]) };
        for (var l = 0; l < 2; l++)
        {
            var p = $"gpt_neox.layers.{l}.";
            list.AddRange(
            [
                (p + "input_layernorm.weight", [16]), (p + "input_layernorm.bias", [16]),
                (p + "post_attention_layernorm.weight", [16]), (p + "post_attention_layernorm.bias", [16]),
                (p + "attention.query_key_value.weight", [48, 16]), (p + "attention.query_key_value.bias", [48]),
                (p + "attention.dense.weight", [16, 16]), (p + "attention.dense.bias", [16]),
                (p + "mlp.dense_h_to_4h.weight", [64, 16]), (p + "mlp.dense_h_to_4h.bias", [64]),
                (p + "mlp.dense_4h_to_h.weight", [16, 64]), (p + "mlp.dense_4h_to_h.bias", [16]),
            ]);
        }
        list.AddRange([("gpt_neox.final_layer_norm.weight", [16]), ("gpt_neox.final_layer_norm.bias", [16]), ("embed_out.weight", [50, 16])]);
        return list.ToArray();
    }

    /// <summary>HF's LlamaForCausalLM.named_parameters() for the tiny config (biases when attention_bias/mlp_bias).</summary>
    static (string, long[])[] ExpectedLlama(bool tied, bool bias)
    {
        var list = new List<(string, long[])> { ("model.embed_tokens.weight", [40, 16]) };
        for (var l = 0; l < 2; l++)
        {
            var p = $"model.layers.{l}.";
            void Add(string name, long[] w, long b) { list.Add((p + name + ".weight", w)); if (bias) list.Add((p + name + ".bias", [b])); }
            Add("self_attn.q_proj", [16, 16], 16);
            Add("self_attn.k_proj", [8, 16], 8);
            Add("self_attn.v_proj", [8, 16], 8);
            Add("self_attn.o_proj", [16, 16], 16);
            Add("mlp.gate_proj", [24, 16], 24);
            Add("mlp.up_proj", [24, 16], 24);
            Add("mlp.down_proj", [16, 24], 16);
            list.Add((p + "input_layernorm.weight", [16]));
            list.Add((p + "post_attention_layernorm.weight", [16]));
        }
        list.Add(("model.norm.weight", [16]));
        if (!tied) list.Add(("lm_head.weight", [40, 16]));
        return list.ToArray();
    }

    public static TheoryData<string> Variants => ["neox", "neox-nobias", "llama-tied", "llama-untied-bias", "llama-mha"];

    static (ModelConfig, (string, long[])[]) Variant(string v) => v switch
    {
        "neox" => (NeoX(), ExpectedNeoX()),
        "neox-nobias" => (NeoX(false), ExpectedNeoX().Where(p => !(p.Item1.Contains("attention.") && p.Item1.EndsWith(".bias"))).ToArray()),
        "llama-tied" => (Llama(true), ExpectedLlama(true, false)),
        "llama-untied-bias" => (Llama(false, true), ExpectedLlama(false, true)),
        "llama-mha" => (Llama(true, kv: 4), ExpectedLlama(true, false).Select(p => p.Item1.Contains("k_proj") || p.Item1.Contains("v_proj") ? (p.Item1, new long[] { 16, 16 }) : p).ToArray()),
        _ => throw new ArgumentException(v),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void CoversEveryParameterExactlyOnceInHfOrder(string variant)
    {
        var (config, expected) = Variant(variant);
        var map = ParameterMap.For(config);
        Assert.Equal(expected.Select(e => e.Item1), map.Parameters.Select(p => p.Name));
        Assert.Equal(expected.Select(e => string.Join(",", e.Item2)), map.Parameters.Select(p => string.Join(",", p.Shape)));
        Assert.Equal(expected.Sum(e => e.Item2.Aggregate(1L, (a, b) => a * b)), map.TotalParameters);
        foreach (var p in map.Parameters)
        {
            Assert.Equal(p.NumEl, p.Blocks.Sum(b => p.NumElOf(b)));               // blocks cover the rows exactly
            Assert.Equal(p.Shape[0], p.Blocks.Sum(b => b.Length));
            int? layer = p.Name.Contains(".layers.") ? int.Parse(p.Name.Split('.')[2]) : null;
            Assert.Equal(layer, p.Layer);
        }
    }

    /// <summary>Counts how many unit slices hold each element; q/k/v/o and MLP matrices must be covered exactly once.</summary>
    [Theory]
    [MemberData(nameof(Variants))]
    public void UnitSlicesPartitionAttentionAndMlp(string variant)
    {
        var (config, _) = Variant(variant);
        var map = ParameterMap.For(config);
        foreach (var p in map.Parameters)
        {
            var counts = new int[p.NumEl];
            var cols = p.Shape.Length == 2 ? p.Shape[1] : 1;
            foreach (var s in p.Slices)
            {
                Assert.InRange(s.Start + s.Length, 1, p.Shape[s.Dim]);
                for (var i = s.Start; i < s.Start + s.Length; i++)
                    for (var j = 0L; j < p.ElementsPerIndex(s.Dim); j++)
                        counts[s.Dim == 0 ? i * cols + j : j * cols + i]++;
            }
            var shared = p.Component is Component.Norm or Component.Embed or Component.Unembed
                         || (p.IsBias && p.Component is Component.AttnO or Component.MlpOut);
            Assert.All(counts, c => Assert.Equal(shared ? 0 : 1, c));
            // each unit of a kind appears once per component family, all units present
            foreach (var g in p.Slices.GroupBy(s => (s.Kind, s.Component)))
            {
                var n = g.Key.Kind switch { UnitKind.Head => map.Heads, UnitKind.KvHead => map.KvHeads, _ => map.Intermediate };
                Assert.Equal(Enumerable.Range(0, n), g.Select(s => s.Unit).OrderBy(u => u));
            }
        }
    }

    [Fact]
    public void NeoXQkvIsHeadMajor()
    {
        var map = ParameterMap.For(NeoX());
        var qkv = map["gpt_neox.layers.1.attention.query_key_value.weight"];
        Assert.Equal([Component.AttnQ, Component.AttnK, Component.AttnV], qkv.Components);
        Assert.Equal(12, qkv.Blocks.Count);
        var head2 = map.SlicesOf(1, UnitKind.Head, 2).Where(x => x.Parameter == qkv).Select(x => x.Slice).Single();
        Assert.Equal(new UnitSlice(UnitKind.Head, 2, Component.AttnQ, 0, 24, 4), head2);      // rows (head 2, q, 0..3)
        var kv2 = map.SlicesOf(1, UnitKind.KvHead, 2).Where(x => x.Parameter == qkv).Select(x => (x.Slice.Component, x.Slice.Start)).ToArray();
        Assert.Equal([(Component.AttnK, 28L), (Component.AttnV, 32L)], kv2);
        Assert.Equal([new UnitSlice(UnitKind.Head, 2, Component.AttnO, 1, 8, 4)], map.HeadSlices("gpt_neox.layers.0.attention.dense.weight").Where(s => s.Unit == 2));
        Assert.Empty(map.HeadSlices("gpt_neox.layers.0.attention.dense.bias"));
        Assert.Equal(new UnitSlice(UnitKind.Neuron, 5, Component.MlpOut, 1, 5, 1), map.NeuronSlices("gpt_neox.layers.0.mlp.dense_4h_to_h.weight").ElementAt(5));
    }

    [Fact]
    public void GqaKeysAndValuesAreGroupedByKvHead()
    {
        var map = ParameterMap.For(Llama(true));
        Assert.Equal([0, 0, 1, 1], Enumerable.Range(0, 4).Select(map.KvHeadOf));
        var k = map.HeadSlices("model.layers.0.self_attn.k_proj.weight").ToArray();
        Assert.Equal([new UnitSlice(UnitKind.KvHead, 0, Component.AttnK, 0, 0, 4), new UnitSlice(UnitKind.KvHead, 1, Component.AttnK, 0, 4, 4)], k);
        Assert.Equal(new UnitSlice(UnitKind.Head, 3, Component.AttnQ, 0, 12, 4), map.HeadSlices("model.layers.0.self_attn.q_proj.weight").Last());
        Assert.Equal(new UnitSlice(UnitKind.Head, 3, Component.AttnO, 1, 12, 4), map.HeadSlices("model.layers.0.self_attn.o_proj.weight").Last());
        Assert.Equal(3 * 24, map.Parameters.Where(p => p.Layer == 0).Sum(p => map.NeuronSlices(p.Name).Count()));
    }

    static Dictionary<string, Tensor> Ones(ParameterMap map) => map.Parameters.ToDictionary(p => p.Name, p => ones(p.Shape));

    [Fact]
    public void SumsOfOnesAreSliceSizes()
    {
        const int d = 16, hd = 4;
        var neox = ParameterMap.For(NeoX());
        var ones1 = Ones(neox);
        // head: q, k, v rows with biases + o columns; neuron: h_to_4h row + bias + 4h_to_h column
        Assert.All(neox.SumByHead(ones1), kv => Assert.Equal(3 * hd * (d + 1) + d * hd, kv.Value));
        Assert.Equal(2 * 4, neox.SumByHead(ones1).Count);
        Assert.All(neox.SumByKvHead(ones1), kv => Assert.Equal(2 * hd * (d + 1), kv.Value));
        Assert.All(neox.SumByNeuron(ones1), kv => Assert.Equal(2 * d + 1, kv.Value));
        Assert.Equal(2 * 64, neox.SumByNeuron(ones1).Count);

        var llama = ParameterMap.For(Llama(true));
        var ones2 = Ones(llama);
        Assert.All(llama.SumByHead(ones2), kv => Assert.Equal(2 * hd * d, kv.Value));       // q rows + o columns only (GQA)
        Assert.All(llama.SumByKvHead(ones2), kv => Assert.Equal(2 * hd * d, kv.Value));     // k + v rows
        Assert.All(llama.SumByNeuron(ones2), kv => Assert.Equal(3 * d, kv.Value));          // gate, up rows + down column

        var mha = ParameterMap.For(Llama(true, bias: true, kv: 4));
        Assert.All(mha.SumByHead(Ones(mha)), kv => Assert.Equal(4 * hd * d + 3 * hd, kv.Value)); // own k/v with MHA

        foreach (var map in new[] { neox, llama, mha })
        {
            var values = Ones(map);
            var byComp = map.SumByLayerComponent(values);
            Assert.Equal(map.CountByLayerComponent().ToDictionary(kv => kv.Key, kv => (double)kv.Value), byComp);
            Assert.Equal(map.TotalParameters, byComp.Values.Sum());
            var byUnit = map.SumByUnit(values);
            Assert.Equal(map.SumByHead(values).Values.Sum() + (map.KvHeads == map.Heads ? 0 : map.SumByKvHead(values).Values.Sum()) + map.SumByNeuron(values).Values.Sum(),
                byUnit.Values.Sum());
            foreach (var t in values.Values) t.Dispose();
        }
        // the fused qkv (weight [48, 16] + bias [48]) splits into equal q, k and v thirds
        var qkv = neox.SumByLayerComponent(ones1);
        Assert.Equal([272.0, 272.0, 272.0], new[] { Component.AttnQ, Component.AttnK, Component.AttnV }.Select(c => qkv[(0, c)]));
    }

    [Fact]
    public void CountsEqualSumsOfOnesWithoutTensors()
    {
        foreach (var map in new[] { ParameterMap.For(NeoX()), ParameterMap.For(Llama(true)), ParameterMap.For(Llama(false, bias: true, kv: 4)) })
        {
            // all parameters, and a subset (what a trace considers: no embeddings, no norms)
            foreach (var subset in new[] { map.Parameters.ToList(), map.Parameters.Where(p => !p.IsEmbedding && !p.IsNorm).ToList() })
            {
                var values = subset.ToDictionary(p => p.Name, p => ones(p.Shape));
                Assert.Equal(map.SumByLayerComponent(values), map.CountByLayerComponent(subset).ToDictionary(kv => kv.Key, kv => (double)kv.Value));
                Assert.Equal(map.SumByHead(values), map.CountByHead(subset).ToDictionary(kv => kv.Key, kv => (double)kv.Value));
                Assert.Equal(map.SumByKvHead(values), map.CountByKvHead(subset).ToDictionary(kv => kv.Key, kv => (double)kv.Value));
                Assert.Equal(map.SumByNeuron(values), map.CountByNeuron(subset).ToDictionary(kv => kv.Key, kv => (double)kv.Value));
                // same keys in the same order (callers enumerate them)
                Assert.Equal(map.SumByHead(values).Keys, map.CountByHead(subset).Keys);
                foreach (var t in values.Values) t.Dispose();
            }
            Assert.Equal(map.CountByHead(map.Parameters), map.CountByHead());
            Assert.Equal(map.CountByNeuron(map.Parameters), map.CountByNeuron());
        }
        var other = ParameterMap.For(NeoX() with { HiddenSize = 32 });
        var neox = ParameterMap.For(NeoX());
        Assert.Throws<ArgumentException>(() => neox.CountByHead(other.Parameters));
        Assert.Throws<ArgumentException>(() => neox.CountByLayerComponent(ParameterMap.For(Llama(true)).Parameters));
    }

    [Fact]
    public void QueryHeadSlicesHoldOwnKeysAndValuesOnlyWithoutGroupedQuery()
    {
        var neox = ParameterMap.For(NeoX());
        Assert.False(neox.GroupedQuery);
        Assert.True(neox.OwnedByQueryHead(UnitKind.KvHead));
        Assert.False(neox.OwnedByQueryHead(UnitKind.Neuron));
        var h1 = neox.QueryHeadSlices(1, 1).ToList();
        Assert.Equal([Component.AttnQ, Component.AttnK, Component.AttnV, Component.AttnO],
            h1.Select(x => x.Slice.Component).Distinct().OrderBy(c => c));
        Assert.All(h1, x => Assert.Equal(1, x.Slice.Unit));
        Assert.All(h1, x => Assert.Equal(1, x.Parameter.Layer));

        var gqa = ParameterMap.For(Llama(true));
        Assert.True(gqa.GroupedQuery);
        Assert.False(gqa.OwnedByQueryHead(UnitKind.KvHead));
        var g3 = gqa.QueryHeadSlices(0, 3).ToList();
        Assert.Equal([Component.AttnQ, Component.AttnO], g3.Select(x => x.Slice.Component).Distinct().OrderBy(c => c));
        Assert.All(g3, x => Assert.Equal(UnitKind.Head, x.Slice.Kind));

        var mha = ParameterMap.For(Llama(true, bias: true, kv: 4));
        Assert.False(mha.GroupedQuery);
        Assert.Contains(mha.QueryHeadSlices(0, 2), x => x.Parameter.Name == "model.layers.0.self_attn.v_proj.bias" && x.Slice.Start == 8);
        // the element count of a head's slices is what CountByHead reports
        foreach (var map in new[] { neox, gqa, mha })
            Assert.Equal(map.CountByHead()[(1, 2)], map.QueryHeadSlices(1, 2).Sum(x => x.Parameter.NumElOf(x.Slice)));
    }

    [Fact]
    public void SumsReadTheRightRowsAndColumns()
    {
        var map = ParameterMap.For(NeoX());
        // value = row index for qkv, column index for dense: head h's q rows are 12h..12h+3, its o columns 4h..4h+3.
        using var rows = arange(48, dtype: ScalarType.Float32).unsqueeze(1).expand(48, 16).contiguous();
        using var cols = arange(16, dtype: ScalarType.Float32).unsqueeze(0).expand(16, 16).contiguous();
        var values = new Dictionary<string, Tensor>
        {
            ["gpt_neox.layers.1.attention.query_key_value.weight"] = rows,
            ["gpt_neox.layers.0.attention.dense.weight"] = cols,
        };
        var byUnit = map.SumByUnit(values);
        for (var h = 0; h < 4; h++)
        {
            double Rows(int first) => 16.0 * Enumerable.Range(first, 4).Sum();
            Assert.Equal(Rows(12 * h), byUnit[(1, UnitKind.Head, h, Component.AttnQ)]);
            Assert.Equal(Rows(12 * h + 4), byUnit[(1, UnitKind.KvHead, h, Component.AttnK)]);
            Assert.Equal(Rows(12 * h + 8), byUnit[(1, UnitKind.KvHead, h, Component.AttnV)]);
            Assert.Equal(Rows(4 * h), byUnit[(0, UnitKind.Head, h, Component.AttnO)]);
            Assert.Equal(0, byUnit[(0, UnitKind.Head, h, Component.AttnQ)]);
        }
        var byComp = map.SumByLayerComponent(values);
        Assert.Equal(16.0 * Enumerable.Range(0, 4).Sum(h => Enumerable.Range(12 * h + 4, 4).Sum()), byComp[(1, Component.AttnK)]);

        using var down = arange(64, dtype: ScalarType.Float32).unsqueeze(0).expand(16, 64).contiguous();
        var neurons = map.SumByNeuron(new Dictionary<string, Tensor> { ["gpt_neox.layers.1.mlp.dense_4h_to_h.weight"] = down });
        Assert.Equal(16.0 * 37, neurons[(1, 37)]);
        Assert.Equal(0, neurons[(0, 37)]);
    }

    [Fact]
    public void WrongNamesAndShapesThrow()
    {
        var map = ParameterMap.For(Llama(true));
        using var t = zeros(3, 3);
        Assert.Contains("lm_head.weight", Assert.Throws<ArgumentException>(() => map.SumByHead(new Dictionary<string, Tensor> { ["lm_head.weight"] = t })).Message);
        Assert.Contains("[16, 16]", Assert.Throws<ArgumentException>(() => map.SumByNeuron(new Dictionary<string, Tensor> { ["model.layers.0.self_attn.q_proj.weight"] = t })).Message);
    }

    // Published counts (Pythia README; Llama 3.2 model cards), a tied embedding counted once.
    [Theory]
    [InlineData("pythia-14m", 14_067_712L, 1_189_888L)]
    [InlineData("pythia-70m", 70_426_624L, 18_915_328L)]
    [InlineData("pythia-160m", 162_322_944L, 85_056_000L)]
    [InlineData("pythia-410m", 405_334_016L, 302_311_424L)]
    [InlineData("pythia-1b", 1_011_781_632L, 805_736_448L)]
    [InlineData("pythia-1.4b", 1_414_647_808L, 1_208_602_624L)]
    [InlineData("pythia-2.8b", 2_775_208_960L, 2_517_652_480L)]
    [InlineData("llama-3.2-1b", 1_235_814_400L, 973_146_112L)]
    [InlineData("llama-3.2-3b", 3_212_749_824L, 2_818_747_392L)]
    public void PublishedCounts(string name, long total, long nonEmbedding)
    {
        Assert.True(NamedConfigs.TryGetPublished(name, out var config));
        var map = ParameterMap.For(config);
        Assert.Equal(total, map.TotalParameters);
        Assert.Equal(nonEmbedding, map.NonEmbeddingParameters);
    }

    [Fact]
    public void PublishedNamesAcceptOrgPrefixButNotPaths()
    {
        Assert.True(NamedConfigs.TryGetPublished("EleutherAI/pythia-70m", out var p));
        Assert.Equal(512, p.HiddenSize);
        Assert.True(NamedConfigs.TryGetPublished("meta-llama/Llama-3.2-1B", out var l));
        Assert.True(l.TieWordEmbeddings);
        Assert.False(NamedConfigs.TryGetPublished("models/pythia-70m", out _));
        Assert.False(NamedConfigs.TryGetPublished("gpt2", out _));
    }

    [Fact]
    public void ThreeBillionParameterMapCountsAddUp()
    {
        Assert.True(NamedConfigs.TryGetPublished("llama-3.2-3b", out var config));
        var map = ParameterMap.For(config);
        var counts = map.CountByLayerComponent();
        Assert.Equal(map.TotalParameters, counts.Values.Sum());
        // The totals a trace divides by, from shapes alone (an all-ones mask of this model would take 3.2 GB).
        Assert.Equal(counts.Where(kv => kv.Key.Component is Component.MlpIn or Component.MlpOut).Sum(kv => kv.Value), map.CountByNeuron().Values.Sum());
        Assert.Equal(map.Layers * map.Heads, map.CountByHead(map.Parameters.Where(p => !p.IsEmbedding)).Count);
    }
}
