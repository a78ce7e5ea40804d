using FactTrace.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

public class GenerationTests
{
    /// <summary>Reference: one prompt, no padding, full forward per step, argmax at the last position.</summary>
    static int[] Unbatched(CausalLM model, int[] prompt, int maxNew, IReadOnlySet<int> stop)
    {
        var seq = prompt.ToList();
        var output = new List<int>();
        using var noGrad = no_grad();
        for (var i = 0; i < maxNew; i++)
        {
            using var scope = NewDisposeScope();
            var logits = model.forward(tensor(seq.Select(x => (long)x).ToArray()).unsqueeze(0), null);
            var next = (int)logits[0, -1].argmax().item<long>();
            if (stop.Contains(next)) break;
            seq.Add(next);
            output.Add(next);
        }
        return [.. output];
    }

    [Theory]
    [InlineData("neox")]
    [InlineData("llama")]
    public void BatchedGreedyEqualsUnbatchedGreedy(string family)
    {
        using var model = ModelTestKit.Micro(family, seed: 11);
        var rng = new Random(5);
        var prompts = Enumerable.Range(0, 9).Select(i => Enumerable.Range(0, 1 + rng.Next(12)).Select(_ => rng.Next(ModelTestKit.Vocab)).ToArray()).ToList();

        // Stop ids chosen from what the model actually emits, so that some rows stop early and others run to the limit.
        var free = prompts.Select(p => Unbatched(model, p, 8, new HashSet<int>())).ToList();
        var stop = new HashSet<int> { free[0][3], free[1][1] };

        var expected = prompts.Select(p => Unbatched(model, p, 8, stop)).ToList();
        var batched = Generation.Greedy(model, prompts, 8, stop, padId: 0, batchSize: 4);
        Assert.Equal(expected.Count, batched.Count);
        for (var i = 0; i < prompts.Count; i++) Assert.Equal(expected[i], batched[i]);
        Assert.Contains(expected, e => e.Length < 8);
        Assert.Contains(expected, e => e.Length == 8);
        Assert.All(batched, b => Assert.DoesNotContain(b, stop.Contains));
        Assert.True(model.training); // restored
    }

    [Fact]
    public void ZeroNewTokensAndEmptyPrompts()
    {
        using var model = ModelTestKit.Micro("llama");
        Assert.All(Generation.Greedy(model, [[1, 2], [3]], 0, new HashSet<int>(), 0), Assert.Empty);
        Assert.Throws<ArgumentException>(() => Generation.Greedy(model, [[1], []], 3, new HashSet<int>(), 0));
    }
}
