namespace FactTrace.Training;

public enum ExampleKind { Bio, Qa }

/// <summary>
/// One training sequence: token ids (BOS? + text + EOS) and labels aligned with them (HF convention: the label at t
/// is the token at t, -100 where no loss is taken; the loss shifts by one). <see cref="Person"/> indexes the world's
/// people, so data streams can be split by person.
/// </summary>
public sealed record EncodedExample(int[] Ids, int[] Labels, ExampleKind Kind, int Person)
{
    public const int Ignore = -100;
    public int Length => Ids.Length;
    public int LossTokens => Labels.Count(l => l != Ignore);
}
