using FactTrace.Text;
using FactTrace.World;

namespace FactTrace.Training;

/// <summary>World texts -> training sequences: BOS? + tokens + EOS, with labels for the loss.</summary>
public static class ExampleEncoder
{
    /// <summary>A BIO: loss on every token (fact-storing).</summary>
    public static EncodedExample Bio(ITokenizer tok, BioRecord bio)
    {
        var ids = Wrap(tok, tok.Encode(bio.Text));
        return new EncodedExample(ids, (int[])ids.Clone(), ExampleKind.Bio, bio.PersonId);
    }

    /// <summary>
    /// A question with its answer: loss on the answer tokens only (a token belongs to the answer when its span
    /// overlaps the answer's characters), or on every token when <paramref name="allTokens"/>.
    /// </summary>
    public static EncodedExample Qa(ITokenizer tok, QaRecord qa, bool allTokens = false)
    {
        var spans = tok.EncodeWithOffsets(qa.Text);
        var ids = Wrap(tok, spans.Select(s => s.Id).ToList());
        var labels = Enumerable.Repeat(EncodedExample.Ignore, ids.Length).ToArray();
        int offset = tok.BosId is null ? 0 : 1;
        for (int i = 0; i < spans.Count; i++)
            if (allTokens || (spans[i].End > qa.AnswerStart && spans[i].Start < qa.AnswerEnd))
                labels[i + offset] = spans[i].Id;
        if (allTokens) labels = (int[])ids.Clone();
        return new EncodedExample(ids, labels, ExampleKind.Qa, qa.PersonId);
    }

    public static int[] Wrap(ITokenizer tok, IReadOnlyList<int> body) =>
        tok.BosId is { } bos ? [bos, .. body, tok.EosId] : [.. body, tok.EosId];

    /// <summary>The trainer's data from a world: BIOs of everyone, questions of the in-distribution people.</summary>
    public static Trainer.Data FromWorld(FactWorld world, ITokenizer tok, bool qaAllTokens = false) => new(
        world.Bios.Select(b => Bio(tok, b)).ToList(),
        world.QaTrain.Select(q => Qa(tok, q, qaAllTokens)).ToList());
}
