using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

/// <summary>Mixed precision (CausalLM.UseAutocast), the bf16 causal attention path and the attention kernel option.</summary>
public class AutocastTests
{
    [Fact]
    public void CausalMathAttentionEqualsTheFusedKernel()
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(5, CPU);
        var q = randn([2, 3, 11, 8], generator: g);
        var k = randn([2, 3, 11, 8], generator: g);
        var v = randn([2, 3, 11, 8], generator: g);
        var fused = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        Assert.True(ModelTestKit.MaxAbsDiff(fused, Attention.CausalMath(q, k, v)) < 1e-5);
        // bf16 inputs take the math path; the result stays close to fp32's.
        var bf = Attention.ScaledDotProduct(q.to(ScalarType.BFloat16), k.to(ScalarType.BFloat16), v.to(ScalarType.BFloat16), null);
        Assert.Equal(ScalarType.BFloat16, bf.dtype);
        Assert.True(ModelTestKit.MaxAbsDiff(fused.transpose(1, 2).reshape(2, 11, 24), bf) < 0.05);
    }

    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void Bf16AutocastKeepsFp32WeightsAndGradientsAndTracksFp32(string family)
    {
        using var model = ModelTestKit.Micro(family);
        using var scope = NewDisposeScope();
        var ids = ModelTestKit.RandomIds(3, 9, 2);
        Dictionary<string, Tensor> Grads(ScalarType? autocast, out Tensor logits)
        {
            model.zero_grad();
            using (model.UseAutocast(autocast)) logits = model.forward(ids, null);
            Assert.Null(model.Autocast);
            CausalLM.NextTokenLoss(logits, ids).backward();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }
        var g32 = Grads(null, out var l32);
        var g16 = Grads(ScalarType.BFloat16, out var l16);
        Assert.Equal(ScalarType.Float32, l16.dtype);
        Assert.True(ModelTestKit.MaxAbsDiff(l32, l16) < 0.05, $"logits differ by {ModelTestKit.MaxAbsDiff(l32, l16)}");
        foreach (var (name, g) in g32)
        {
            Assert.Equal(ScalarType.Float32, g16[name].dtype);
            var cos = nn.functional.cosine_similarity(g.flatten(), g16[name].flatten(), 0).item<float>();
            Assert.True(cos > 0.98, $"{name}: cosine {cos}");
        }
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float32, p.dtype));
        // Autocast off: the fp32 forward is what it was (bit-identical).
        Assert.True(ModelTestKit.BitEqual(l32, model.forward(ids, null)));
    }

    [Fact]
    public void AutocastScopesNestAndRestoreThePreviousState()
    {
        using var model = ModelTestKit.Micro("neox");
        Assert.Null(model.Autocast);
        using (model.UseAutocast(ScalarType.BFloat16))
        {
            Assert.Equal(ScalarType.BFloat16, model.Autocast);
            var inner = model.UseAutocast(null);
            Assert.Null(model.Autocast);
            inner.Dispose();
            inner.Dispose(); // a second Dispose changes nothing
            Assert.Equal(ScalarType.BFloat16, model.Autocast);
            using var scope = NewDisposeScope();
            model.forward(ModelTestKit.RandomIds(1, 4, 3), null); // the forward pass reads the state, never sets it
            Assert.Equal(ScalarType.BFloat16, model.Autocast);
        }
        Assert.Null(model.Autocast);
    }

    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void FusedAttentionKernelIsAnExplicitOption(string family)
    {
        using var scope = NewDisposeScope();
        using var g = new Generator(6, CPU);
        var q = randn([2, 3, 11, 8], generator: g).to(ScalarType.BFloat16);
        var k = randn([2, 3, 11, 8], generator: g).to(ScalarType.BFloat16);
        var v = randn([2, 3, 11, 8], generator: g).to(ScalarType.BFloat16);
        var fused = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true).transpose(1, 2).reshape(2, 11, 24);
        Assert.True(ModelTestKit.BitEqual(fused, Attention.ScaledDotProduct(q, k, v, null, AttentionKernel.Fused)));
        Assert.True(ModelTestKit.BitEqual(Attention.CausalMath(q, k, v).transpose(1, 2).reshape(2, 11, 24), Attention.ScaledDotProduct(q, k, v, null)));

        using var model = ModelTestKit.Micro(family);
        var ids = ModelTestKit.RandomIds(2, 9, 4);
        Tensor Logits(AttentionKernel kernel, ScalarType? autocast)
        {
            model.Compute = new ComputeOptions { Attention = kernel };
            using var noGrad = no_grad();
            using (model.UseAutocast(autocast)) return model.forward(ids, null);
        }
        // fp32 takes the fused kernel either way; bf16 differs by rounding only.
        Assert.True(ModelTestKit.BitEqual(Logits(AttentionKernel.Auto, null), Logits(AttentionKernel.Fused, null)));
        var auto16 = Logits(AttentionKernel.Auto, ScalarType.BFloat16);
        var fused16 = Logits(AttentionKernel.Fused, ScalarType.BFloat16);
        Assert.True(ModelTestKit.MaxAbsDiff(auto16, fused16) < 0.05);
        Assert.Equal(AttentionKernel.Auto, ComputeOptions.Default.Attention);
        Assert.Equal(AttentionKernel.Fused, ComputeOptions.ParseAttention("fused"));
        Assert.Throws<FactTrace.IO.OptionException>(() => ComputeOptions.ParseAttention("flash"));
    }
}
