using FactTrace.Interventions;
using FactTrace.Models;
using FactTrace.Tests.Tracing;
using FactTrace.Tests.Training;
using FactTrace.Tracing;
using FactTrace.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace FactTrace.Tests.Interventions;

/// <summary>
/// The hand-derived gradient of the graft's mask logits (Graft.LogitGradients, what Graft.Run steps on) against
/// autograd and against central differences of the objective: the answer-span QA loss at
/// theta = reference + sigmoid(S) * (trained - reference) on the considered parameters, the others trained.
/// </summary>
[Collection("torch-threads")]
public sealed class GraftGradientTests(ITestOutputHelper output)
{
    sealed class Setup : IDisposable
    {
        public required CausalLM Model { get; init; }
        public required WeightEditor Editor { get; init; }
        public required List<string> Names { get; init; }
        public required Dictionary<string, Tensor> Delta { get; init; }
        public required Dictionary<string, Tensor> Logits { get; init; }
        public required Batch Batch { get; init; }

        public void Dispose()
        {
            Batch.Dispose();
            Editor.Dispose();
            Model.Dispose();
        }
    }

    /// <summary>A micro "trained" model (init + noise), its init as the reference, random logits in (-4, 4), 8 ID questions.</summary>
    static Setup Build(string family)
    {
        var w = TraceFixture.World();
        var model = TraceFixture.Model(w, family);
        Dictionary<string, Tensor> reference;
        using (var init = TrainingFixture.Model(w, 0, family))
            reference = init.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        var editor = new WeightEditor(model, reference);
        var names = Tracer.Candidates(ParameterMap.For(model.Config), false, false).Select(p => p.Name).ToList();
        Assert.True(names.Count > 3);
        using var noGrad = no_grad();
        // As Graft.Run builds them: delta = trained - reference in fp32.
        var delta = names.ToDictionary(n => n, n => editor.Trained[n].to(ScalarType.Float32) - editor.Reference![n].to(ScalarType.Float32));
        using var g = new Generator(5, CPU);
        var logits = names.ToDictionary(n => n, n => rand(editor.Trained[n].shape, generator: g) * 8 - 4);
        var qa = w.QaTrain.Take(8).Select(q => ExampleEncoder.Qa(w.Tokenizer, q)).ToList();
        model.eval();
        return new Setup { Model = model, Editor = editor, Names = names, Delta = delta, Logits = logits, Batch = Batch.Collate(qa, w.Tokenizer.PadId) };
    }

    [Theory]
    [InlineData(ModelConfig.GptNeoX)]
    [InlineData(ModelConfig.Llama)]
    public void LogitGradientEqualsAutogradThroughTheSigmoidGraft(string family)
    {
        using var s = Build(family);
        using var scope = NewDisposeScope();
        var gamma = s.Logits.ToDictionary(kv => kv.Key, kv => kv.Value.sigmoid());
        s.Editor.GraftRelaxed(gamma);
        s.Model.zero_grad();
        Loss.NextToken(s.Model, s.Batch).backward();
        var parameters = s.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        // Autograd's dL/dtheta at the relaxed graft, copied before LogitGradients forms its product (in place, in fp32).
        var dTheta = s.Names.ToDictionary(n => n, n => parameters[n].grad!.detach().clone());
        var ours = Graft.LogitGradients(s.Model, s.Names, s.Delta, gamma);
        Assert.Equal(s.Names, ours.Keys);

        // Reference: autograd of S -> theta(S) = r + sigmoid(S) (t - r), contracted with dL/dtheta: the vector-Jacobian
        // product that backpropagation through the graft would compute (theta is elementwise in S).
        double maxAbs = 0, maxRef = 0, maxRel = 0;
        foreach (var n in s.Names)
        {
            var logit = s.Logits[n].detach().clone().requires_grad_(true);
            var r = s.Editor.Reference![n].to(ScalarType.Float32);
            var theta = r + logit.sigmoid() * (s.Editor.Trained[n].to(ScalarType.Float32) - r);
            var auto = autograd.grad([(theta * dTheta[n]).sum()], [logit])[0];
            var diff = (ours[n] - auto).abs();
            maxAbs = Math.Max(maxAbs, diff.max().item<float>());
            maxRef = Math.Max(maxRef, auto.abs().max().item<float>());
            maxRel = Math.Max(maxRel, (diff / auto.abs().clamp_min(1e-30)).where(auto.ne(0), zeros_like(diff)).max().item<float>());
        }
        output.WriteLine($"{family}: max |ours - autograd| = {maxAbs:G3}, max |autograd| = {maxRef:G3}, max elementwise relative = {maxRel:G3}");
        Assert.True(maxRef > 0, "all-zero gradient: the comparison would be vacuous");
        Assert.True(maxAbs <= 1e-6 * maxRef, $"max |ours - autograd| = {maxAbs:G3} > 1e-6 * {maxRef:G3}");
        Assert.True(maxRel <= 1e-5, $"max elementwise relative difference {maxRel:G3} > 1e-5");
    }

    /// <summary>Loss.NextToken with the output layer in float64 (CausalLM.Logits returns fp32 logits, too coarse for differences).</summary>
    static Tensor Loss64(CausalLM model, Batch batch)
    {
        var hidden = model.Hidden(batch.Ids, batch.Mask);                 // [B, T, D]
        var d = hidden.shape[2];
        var targets = batch.Labels[.., 1..];
        var keep = targets.ne(EncodedExample.Ignore);
        var h = hidden[.., ..^1].masked_select(keep.unsqueeze(-1)).view(-1, d);
        var head = model.named_parameters().Single(p => p.name == "embed_out.weight").parameter;
        return nn.functional.cross_entropy(h.matmul(head.t()), targets.masked_select(keep));
    }

    [Fact]
    public void LogitGradientMatchesCentralDifferencesOfTheGraftLossInFloat64()
    {
        using var s = Build(ModelConfig.GptNeoX);
        s.Model.to(ScalarType.Float64);
        var parameters = s.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGradOuter = no_grad();
        var r64 = s.Names.ToDictionary(n => n, n => s.Editor.Reference![n].to(ScalarType.Float64));
        var d64 = s.Names.ToDictionary(n => n, n => s.Editor.Trained[n].to(ScalarType.Float64) - r64[n]);
        var untouched = parameters.Keys.Except(s.Names).ToList();
        foreach (var n in untouched) parameters[n].copy_(s.Editor.Trained[n]);

        // theta(S) set directly in float64 (WeightEditor.GraftRelaxed works in fp32).
        double LossAt(Dictionary<string, Tensor> logits)
        {
            using var scope = NewDisposeScope();
            foreach (var n in s.Names) parameters[n].copy_(r64[n] + logits[n].sigmoid() * d64[n]);
            return Loss64(s.Model, s.Batch).item<double>();
        }

        var l64 = s.Logits.ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float64));
        foreach (var n in s.Names) parameters[n].copy_(r64[n] + l64[n].sigmoid() * d64[n]);
        s.Model.zero_grad();
        using (var withGrad = enable_grad())
        {
            var loss = Loss64(s.Model, s.Batch);
            Assert.Equal(ScalarType.Float64, loss.dtype);
            Assert.Equal(Loss.NextToken(s.Model, s.Batch).item<float>(), loss.item<double>(), 5); // the same objective
            loss.backward();
        }
        var gamma = l64.ToDictionary(kv => kv.Key, kv => kv.Value.sigmoid().to(ScalarType.Float32));
        var ours = Graft.LogitGradients(s.Model, s.Names, s.Delta, gamma);

        using var g = new Generator(9, CPU);
        const double eps = 1e-5;
        for (var trial = 0; trial < 3; trial++)
        {
            // A random direction u (unit norm): <dL/dS, u> vs (L(S + eps u) - L(S - eps u)) / (2 eps).
            var u = s.Names.ToDictionary(n => n, n => randn(s.Logits[n].shape, ScalarType.Float64, generator: g));
            var norm = Math.Sqrt(u.Values.Sum(t => t.square().sum().item<double>()));
            double analytic = s.Names.Sum(n => (ours[n].to(ScalarType.Float64) * u[n]).sum().item<double>()) / norm;
            var plus = LossAt(s.Names.ToDictionary(n => n, n => l64[n] + u[n] * (eps / norm)));
            var minus = LossAt(s.Names.ToDictionary(n => n, n => l64[n] - u[n] * (eps / norm)));
            var numeric = (plus - minus) / (2 * eps);
            output.WriteLine($"direction {trial}: analytic {analytic:R}, central difference {numeric:R}, relative {Math.Abs(analytic - numeric) / Math.Abs(numeric):G3}");
            Assert.True(Math.Abs(analytic - numeric) <= 1e-4 * Math.Abs(numeric), $"analytic {analytic:R} vs central difference {numeric:R}");
        }
    }
}
