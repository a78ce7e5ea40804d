using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

/// <summary>Mixed precision (CausalLM.Autocast) and the bf16 causal attention path.</summary>
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
            model.Autocast = autocast;
            logits = model.forward(ids, null);
            model.Autocast = null;
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
}
