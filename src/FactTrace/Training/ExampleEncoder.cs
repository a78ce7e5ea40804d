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
    /// A question with its answer: loss on the completion only, i.e. the answer tokens (a token belongs to the answer
    /// when its span overlaps the answer's characters) and what ends it (". EOS"), so the model learns where an answer
    /// stops; never on the question. With <paramref name="allTokens"/>, loss on every token.
    /// </summary>
    public static EncodedExample Qa(ITokenizer tok, QaRecord qa, bool allTokens = false)
    {
        var spans = tok.EncodeWithOffsets(qa.Text);
        var ids = Wrap(tok, spans.Select(s => s.Id).ToList());
        if (allTokens) return new EncodedExample(ids, (int[])ids.Clone(), ExampleKind.Qa, qa.PersonId);
        var labels = Enumerable.Repeat(EncodedExample.Ignore, ids.Length).ToArray();
        int offset = tok.BosId is null ? 0 : 1;
        var first = Enumerable.Range(0, spans.Count).First(i => spans[i].End > qa.AnswerStart);
        for (int i = first + offset; i < ids.Length; i++) labels[i] = ids[i];
        return new EncodedExample(ids, labels, ExampleKind.Qa, qa.PersonId);
    }

    public static int[] Wrap(ITokenizer tok, IReadOnlyList<int> body) =>
        tok.BosId is { } bos ? [bos, .. body, tok.EosId] : [.. body, tok.EosId];

    /// <summary>The trainer's data from a world: BIOs of everyone, questions of the in-distribution people.</summary>
    public static Trainer.Data FromWorld(FactWorld world, ITokenizer tok, bool qaAllTokens = false) => new(
        world.Bios.Select(b => Bio(tok, b)).ToList(),
        world.QaTrain.Select(q => Qa(tok, q, qaAllTokens)).ToList());
}
