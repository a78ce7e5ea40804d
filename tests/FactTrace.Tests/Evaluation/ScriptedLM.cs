using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Tests.Evaluation;

/// <summary>
/// A hand-made "model": after a prefix listed in its script it predicts the scripted token, otherwise
/// <see cref="Fallback"/>. Hidden states are one-hot rows over the vocabulary, so logits are exact and inspectable.
/// </summary>
public sealed class ScriptedLM : CausalLM
{
    readonly Dictionary<string, int> script = new();
    readonly int vocab;
    public int Fallback { get; set; }

    public ScriptedLM(ModelConfig config) : base("scripted", config) => vocab = config.VocabSize;

    /// <summary>After <paramref name="prefix"/>, emit <paramref name="continuation"/> token by token.</summary>
    public void Say(IReadOnlyList<int> prefix, IReadOnlyList<int> continuation)
    {
        var seq = prefix.ToList();
        foreach (var t in continuation) { script[Key(seq)] = t; seq.Add(t); }
    }

    static string Key(IEnumerable<int> ids) => string.Join(",", ids);

    public override Tensor Hidden(Tensor inputIds, Tensor? attentionMask)
    {
        var (b, t) = ((int)inputIds.shape[0], (int)inputIds.shape[1]);
        var ids = inputIds.data<long>().ToArray();
        var mask = attentionMask?.data<long>().ToArray();
        var onehot = new float[b * t * vocab];
        for (int r = 0; r < b; r++)
        {
            var prefix = new List<int>();
            for (int i = 0; i < t; i++)
            {
                if (mask is not null && mask[r * t + i] == 0) break;
                prefix.Add((int)ids[r * t + i]);
                var next = script.GetValueOrDefault(Key(prefix), Fallback);
                onehot[(r * t + i) * vocab + next] = 1;
            }
        }
        return tensor(onehot, [b, t, vocab]);
    }

    public override Tensor Logits(Tensor hidden) => hidden * 10;

    public override Tensor InputEmbedding => zeros(vocab, 1);
}
