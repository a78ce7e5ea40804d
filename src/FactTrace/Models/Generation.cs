using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>Greedy decoding for evaluation.</summary>
public static class Generation
{
    /// <summary>
    /// Greedy continuation of each prompt: at most <paramref name="maxNewTokens"/> tokens, stopping at (and excluding)
    /// the first id in <paramref name="stopIds"/>. Returns the new ids per prompt, in prompt order.
    /// Prompts are batched with right padding (<paramref name="padId"/>): row i keeps positions 0..len_i-1 exactly as
    /// when decoded alone, the causal+padding mask hides the pads, and the next token is read at each row's own last
    /// position; finished rows leave the batch. No KV cache: each step re-runs the (short) sequences.
    /// </summary>
    public static List<int[]> Greedy(CausalLM model, IReadOnlyList<int[]> prompts, int maxNewTokens,
        IReadOnlySet<int> stopIds, int padId, int batchSize = 64)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxNewTokens);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        for (var i = 0; i < prompts.Count; i++)
            if (prompts[i].Length == 0) throw new ArgumentException($"prompt {i} is empty", nameof(prompts));

        var results = new List<int[]>(prompts.Count);
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (var start = 0; start < prompts.Count; start += batchSize)
                results.AddRange(GreedyBatch(model, prompts.Skip(start).Take(batchSize).ToList(), maxNewTokens, stopIds, padId));
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return results;
    }

    static List<int[]> GreedyBatch(CausalLM model, List<int[]> prompts, int maxNewTokens, IReadOnlySet<int> stopIds, int padId)
    {
        var sequences = prompts.Select(p => new List<int>(p)).ToList();
        var generated = prompts.Select(_ => new List<int>()).ToList();
        var active = Enumerable.Range(0, prompts.Count).ToList();
        for (var step = 0; step < maxNewTokens && active.Count > 0; step++)
        {
            var next = NextTokens(model, active.Select(i => sequences[i]).ToList(), padId);
            var stillActive = new List<int>();
            for (var j = 0; j < active.Count; j++)
            {
                var i = active[j];
                if (stopIds.Contains(next[j])) continue;
                sequences[i].Add(next[j]);
                generated[i].Add(next[j]);
                stillActive.Add(i);
            }
            active = stillActive;
        }
        return generated.Select(g => g.ToArray()).ToList();
    }

    /// <summary>Argmax of the next-token logits at each row's last real position.</summary>
    static int[] NextTokens(CausalLM model, List<List<int>> rows, int padId)
    {
        using var scope = NewDisposeScope();
        var b = rows.Count;
        var t = rows.Max(r => r.Count);
        var ids = new long[b * t];
        var mask = new long[b * t];
        for (var i = 0; i < b; i++)
            for (var s = 0; s < t; s++)
            {
                var real = s < rows[i].Count;
                ids[i * t + s] = real ? rows[i][s] : padId;
                mask[i * t + s] = real ? 1 : 0;
            }
        var device = model.InputEmbedding.device;
        var padded = rows.Any(r => r.Count < t);
        var inputIds = tensor(ids, [b, t]).to(device);
        var hidden = model.Hidden(inputIds, padded ? tensor(mask, [b, t]).to(device) : null); // [B,T,D]
        var last = tensor(rows.Select(r => (long)r.Count - 1).ToArray()).to(device);       // [B]
        var atLast = hidden[arange(b, device: device), last];                              // [B,D]
        var next = model.Logits(atLast).argmax(-1).cpu();                                  // [B]
        return next.data<long>().Select(x => (int)x).ToArray();
    }
}
