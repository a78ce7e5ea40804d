using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>A right-padded batch: ids and labels [B, T], attention mask [B, T] (1 = token, 0 = padding).</summary>
public sealed class Batch : IDisposable
{
    public Tensor Ids { get; }
    public Tensor Labels { get; }
    public Tensor Mask { get; }
    public int Rows { get; }
    public int Tokens { get; }
    public int LossTokens { get; }

    Batch(Tensor ids, Tensor labels, Tensor mask, int rows, int tokens, int lossTokens) =>
        (Ids, Labels, Mask, Rows, Tokens, LossTokens) = (ids, labels, mask, rows, tokens, lossTokens);

    /// <summary>Dynamic padding: T is the longest example of this batch, not a global maximum.</summary>
    public static Batch Collate(IReadOnlyList<EncodedExample> examples, int padId)
    {
        int b = examples.Count, t = examples.Max(e => e.Length);
        var ids = new long[b * t];
        var labels = new long[b * t];
        var mask = new long[b * t];
        int tokens = 0, lossTokens = 0;
        for (int r = 0; r < b; r++)
        {
            var e = examples[r];
            for (int i = 0; i < t; i++)
            {
                var real = i < e.Length;
                ids[r * t + i] = real ? e.Ids[i] : padId;
                labels[r * t + i] = real ? e.Labels[i] : EncodedExample.Ignore;
                mask[r * t + i] = real ? 1 : 0;
            }
            tokens += e.Length;
            lossTokens += e.Labels.Skip(1).Count(l => l != EncodedExample.Ignore);
        }
        return new Batch(tensor(ids, b, t), tensor(labels, b, t), tensor(mask, b, t), b, tokens, lossTokens);
    }

    public void Dispose()
    {
        Ids.Dispose();
        Labels.Dispose();
        Mask.Dispose();
    }
}
