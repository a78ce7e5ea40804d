using FactTrace.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

public class ArchitectureTests
{
    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void ChangingLaterTokensLeavesEarlierLogitsUnchanged(string family)
    {
        using var scope = NewDisposeScope();
        using var model = ModelTestKit.Micro(family);
        model.eval();
        var ids = ModelTestKit.RandomIds(2, 10, seed: 5);
        var changed = ids.clone();
        changed[.., 6..] = ModelTestKit.RandomIds(2, 4, seed: 6);
        using var noGrad = no_grad();
        var a = model.forward(ids, null);
        var b = model.forward(changed, null);
        Assert.Equal(0, ModelTestKit.MaxAbsDiff(a[.., ..6], b[.., ..6]));
        Assert.True(ModelTestKit.MaxAbsDiff(a[.., 6..], b[.., 6..]) > 1e-3);
    }

    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void RightPaddedBatchMatchesUnpaddedRows(string family)
    {
        using var scope = NewDisposeScope();
        using var model = ModelTestKit.Micro(family);
        model.eval();
        using var noGrad = no_grad();
        var lengths = new[] { 9, 4, 1 };
        var rows = lengths.Select((n, i) => ModelTestKit.RandomIds(1, n, seed: 10 + i)).ToArray();
        var t = lengths.Max();
        var ids = full(lengths.Length, t, 3L, ScalarType.Int64);
        var mask = zeros(lengths.Length, t, ScalarType.Int64);
        for (var i = 0; i < rows.Length; i++)
        {
            ids[i, ..lengths[i]] = rows[i][0];
            mask[i, ..lengths[i]] = 1;
        }
        var batched = model.forward(ids, mask);
        Assert.False(batched.isnan().any().item<bool>(), "padded positions produced NaN");
        for (var i = 0; i < rows.Length; i++)
        {
            var alone = model.forward(rows[i], null);
            Assert.True(ModelTestKit.MaxAbsDiff(batched[i, ..lengths[i]], alone[0]) < 1e-5, $"row {i}");
        }
        // A mask of all ones equals no mask.
        Assert.True(ModelTestKit.MaxAbsDiff(model.forward(ids, ones_like(ids)), model.forward(ids, null)) < 1e-5);
    }

    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void PaddedBatchGradientsAreFinite(string family)
    {
        using var scope = NewDisposeScope();
        using var model = ModelTestKit.Micro(family);
        var ids = ModelTestKit.RandomIds(2, 6, seed: 3);
        var mask = tensor(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 }).view(2, 6);
        var labels = ids.masked_fill(mask.eq(0), -100);
        CausalLM.NextTokenLoss(model.forward(ids, mask), labels).backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad!.isfinite().all().item<bool>(), name);
    }

    [Fact]
    public void GroupedQueryHeadReadsKvHeadOfItsGroup()
    {
        using var scope = NewDisposeScope();
        var q = randn(2, 4, 5, 8);
        var k = randn(2, 2, 5, 8);
        var v = randn(2, 2, 5, 8);
        var y = Attention.ScaledDotProduct(q, k, v, null).view(2, 5, 4, 8); // [B,T,H,hd]
        for (var h = 0; h < 4; h++)
        {
            var g = h / 2;
            var expected = nn.functional.scaled_dot_product_attention(q[.., h..(h + 1)], k[.., g..(g + 1)], v[.., g..(g + 1)], is_casual: true);
            Assert.True(ModelTestKit.MaxAbsDiff(y[.., .., h], expected[.., 0]) < 1e-6, $"head {h}");
        }
    }

    /// <summary>Attention output with the output projection set to identity, so its columns are the heads' outputs.</summary>
    static Tensor HeadOutputs(nn.Module<Tensor, AttentionContext, Tensor> attention, ModelConfig c, Tensor x)
    {
        var (cos, sin) = Rotary.Tables(Rotary.InverseFrequencies(c), x.shape[1], ScalarType.Float32, CPU);
        return attention.call(x, new AttentionContext(cos, sin, null)); // [B,T,H*hd]
    }

    static void Randomize(nn.Module module, long seed)
    {
        using var g = new Generator((ulong)seed, CPU);
        using var noGrad = no_grad();
        foreach (var (_, p) in module.named_parameters()) p.normal_(0, 0.3, g);
    }

    [Fact]
    public void NeoXFusedQkvRowsAreHeadMajor()
    {
        using var scope = NewDisposeScope();
        var c = NamedConfigs.Get("micro-neox", ModelTestKit.Vocab); // 4 heads of 16
        using var attention = new NeoXAttention(c);
        Randomize(attention, 3);
        var p = attention.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using (no_grad())
        {
            p["dense.weight"].copy_(eye(c.HiddenSize));
            p["dense.bias"].zero_();
        }
        var x = randn(2, 6, c.HiddenSize);
        var before = HeadOutputs(attention, c, x);
        var hd = c.HeadDim;
        const int head = 2;
        using (no_grad())
        {
            // Rows of head 2: [q | k | v] of that head, 3*hd rows starting at 2*3*hd.
            p["query_key_value.weight"][(head * 3 * hd)..((head + 1) * 3 * hd)].normal_(0, 0.5);
            p["query_key_value.bias"][(head * 3 * hd)..((head + 1) * 3 * hd)].normal_(0, 0.5);
        }
        var after = HeadOutputs(attention, c, x);
        for (var h = 0; h < c.NumAttentionHeads; h++)
        {
            var diff = ModelTestKit.MaxAbsDiff(before[.., .., (h * hd)..((h + 1) * hd)], after[.., .., (h * hd)..((h + 1) * hd)]);
            if (h == head) Assert.True(diff > 1e-3, $"head {h} unchanged");
            else Assert.Equal(0, diff);
        }
    }

    [Fact]
    public void LlamaKvHeadFeedsOnlyItsQueryGroup()
    {
        using var scope = NewDisposeScope();
        var c = NamedConfigs.Get("micro-llama", ModelTestKit.Vocab); // 4 query heads, 2 kv heads, hd 16
        using var attention = new LlamaAttention(c);
        Randomize(attention, 4);
        var p = attention.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using (no_grad()) p["o_proj.weight"].copy_(eye(c.HiddenSize));
        var x = randn(2, 6, c.HiddenSize);
        var before = HeadOutputs(attention, c, x);
        var hd = c.HeadDim;
        const int kvHead = 1; // read by query heads 2 and 3
        using (no_grad()) p["v_proj.weight"][(kvHead * hd)..((kvHead + 1) * hd)].normal_(0, 0.5);
        var after = HeadOutputs(attention, c, x);
        for (var h = 0; h < c.NumAttentionHeads; h++)
        {
            var diff = ModelTestKit.MaxAbsDiff(before[.., .., (h * hd)..((h + 1) * hd)], after[.., .., (h * hd)..((h + 1) * hd)]);
            if (h / 2 == kvHead) Assert.True(diff > 1e-3, $"head {h} unchanged");
            else Assert.Equal(0, diff);
        }
    }

    [Fact]
    public void TiedLlamaUsesOneEmbeddingTensorForInputAndOutput()
    {
        using var scope = NewDisposeScope();
        using var model = ModelTestKit.Micro("llama");
        Assert.True(model.Config.TieWordEmbeddings);
        var names = model.named_parameters().Select(p => p.name).ToList();
        Assert.Contains("model.embed_tokens.weight", names);
        Assert.DoesNotContain("lm_head.weight", names);
        Assert.DoesNotContain("lm_head.weight", model.state_dict().Keys);

        // Logits are hidden @ embed^T.
        var ids = tensor(new long[] { 1, 2, 3, 4, 5 }).unsqueeze(0);
        using (no_grad())
        {
            var hidden = model.Hidden(ids, null);
            Assert.True(ModelTestKit.MaxAbsDiff(model.Logits(hidden), hidden.matmul(model.InputEmbedding.t())) < 1e-6);
        }

        // Token 50 never appears in the input, so its embedding row gets gradient only through the output use.
        var loss = CausalLM.NextTokenLoss(model.forward(ids, null), ids);
        loss.backward();
        var grad = model.InputEmbedding.grad!;
        Assert.True(grad[50].abs().sum().item<float>() > 0);

        // One SGD step moves the input embedding and the output projection together.
        var embedBefore = model.InputEmbedding.detach().clone();
        using (no_grad()) model.InputEmbedding.sub_(grad * 10.0);
        Assert.True(ModelTestKit.MaxAbsDiff(embedBefore, model.InputEmbedding) > 1e-4);
        using (no_grad())
        {
            var h = model.Hidden(ids, null);
            Assert.True(ModelTestKit.MaxAbsDiff(model.Logits(h), h.matmul(model.InputEmbedding.t())) < 1e-6);
            Assert.True(ModelTestKit.MaxAbsDiff(model.Logits(h), h.matmul(embedBefore.t())) > 1e-4);
        }
    }

    [Fact]
    public void Llama3InverseFrequenciesFollowTheScalingRule()
    {
        var c = NamedConfigs.GetPublished("llama-3.2-3b"); // head_dim 128, theta 500000, factor 32, bands at wavelength 2048 / 8192
        var inv = Rotary.InverseFrequencies(c);
        Assert.Equal(64, inv.Length);
        double Base(int i) => Math.Pow(500000, -2.0 * i / 128);
        // i <= 28: wavelength < 2048 (high frequency): unchanged.
        Assert.Equal(1.0, inv[0], 12);
        Assert.Equal(Base(28), inv[28], 12);
        // i >= 35: wavelength > 8192 (low frequency): divided by 32.
        Assert.Equal(Base(35) / 32, inv[35], 12);
        Assert.Equal(Base(63) / 32, inv[63], 12);
        // 29..34: smooth blend, smooth = (8192 / wavelength - 1) / (4 - 1).
        foreach (var i in new[] { 29, 32, 34 })
        {
            var smooth = (8192 / (2 * Math.PI / Base(i)) - 1) / 3;
            Assert.InRange(smooth, 0, 1);
            Assert.Equal((1 - smooth) * Base(i) / 32 + smooth * Base(i), inv[i], 12);
        }
        // Without rope_scaling the frequencies are the plain ones; GPT-NeoX rotates only rotary_pct of the head.
        var plain = Rotary.InverseFrequencies(c with { RopeScaling = null });
        Assert.Equal(Base(63), plain[63], 12);
        var neox = NamedConfigs.GetPublished("pythia-70m"); // head 64, rotary 16 dims
        var neoxInv = Rotary.InverseFrequencies(neox);
        Assert.Equal(8, neoxInv.Length);
        Assert.Equal(Math.Pow(10000, -2.0 * 7 / 16), neoxInv[7], 12);
    }

    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void SameSeedGivesBitIdenticalWeights(string family)
    {
        using var scope = NewDisposeScope();
        using var a = ModelTestKit.Micro(family, seed: 42);
        using var b = ModelTestKit.Micro(family, seed: 42);
        using var c = ModelTestKit.Micro(family, seed: 43);
        var pa = ModelTestKit.Parameters(a);
        var pb = ModelTestKit.Parameters(b);
        var pc = ModelTestKit.Parameters(c);
        foreach (var (name, t) in pa) Assert.True(ModelTestKit.BitEqual(t, pb[name]), name);
        foreach (var (name, t) in pa)
        {
            if (name.EndsWith(".bias")) Assert.Equal(0, t.abs().max().item<float>());
            else if (name.Contains("norm")) Assert.Equal(0, (t - 1).abs().max().item<float>());
            else
            {
                Assert.False(ModelTestKit.BitEqual(t, pc[name]), name);
                Assert.InRange(t.std().item<float>(), 0.015, 0.025);
            }
        }
    }

    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void ModelBuiltOrLoadedInsideADisposeScopeOutlivesIt(string family)
    {
        using var dir = new TempDir();
        using (var reference = ModelTestKit.Micro(family)) HfCheckpoint.Save(reference, dir["ckpt"]);
        var expected = ModelTestKit.Micro(family).named_parameters().Count();
        CausalLM built, loaded;
        using (NewDisposeScope())
        {
            built = ModelTestKit.Micro(family);
            loaded = HfCheckpoint.Load(dir["ckpt"]);
        }
        foreach (var model in new[] { built, loaded })
            using (model)
            using (NewDisposeScope())
            using (no_grad())
            {
                Assert.Equal(expected, model.named_parameters().Count());
                var logits = model.forward(ModelTestKit.RandomIds(1, 4, 1), null);
                Assert.False(logits.isnan().any().item<bool>());
            }
    }

    [Fact]
    public void NextTokenLossShiftsAndIgnoresMinus100()
    {
        using var scope = NewDisposeScope();
        var logits = randn(2, 4, 6);
        var labels = tensor(new long[] { 9, 1, 2, -100, 9, 5, -100, 0 }).view(2, 4);
        var loss = CausalLM.NextTokenLoss(logits, labels).item<float>();
        var logp = logits.log_softmax(-1);
        // Position t predicts label t+1; pairs with label -100 are ignored.
        var terms = new[] { logp[0, 0, 1], logp[0, 1, 2], logp[1, 0, 5], logp[1, 2, 0] }.Select(x => -x.item<float>()).ToList();
        Assert.Equal(terms.Average(), loss, 5);
    }
}
