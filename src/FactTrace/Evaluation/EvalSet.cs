namespace FactTrace.Evaluation;

/// <summary>A question (or an isolated extraction prompt) with its expected answer.</summary>
public sealed record Probe(int Person, string Attribute, string Prompt, string Answer);

/// <summary>A training BIO as tokens, with the token ranges [Start, End) of each attribute value inside it.</summary>
public sealed record BioProbe(int Person, int[] Ids, IReadOnlyList<ValueTokens> Values);

public readonly record struct ValueTokens(string Attribute, int Start, int End);

/// <summary>What an evaluation runs on; built from a world by <see cref="EvalSetBuilder"/>.</summary>
public sealed record EvalSet(
    IReadOnlyList<string> Attributes,
    IReadOnlyList<Probe> QaId,
    IReadOnlyList<Probe> QaOod,
    IReadOnlyList<BioProbe> Bio,
    IReadOnlyList<Probe> Extraction,
    IReadOnlyDictionary<string, double> Chance,
    int PeoplePerSplit)
{
    /// <summary>The same set restricted to the first <paramref name="people"/> people of each split (learning curves).</summary>
    public EvalSet Subset(int people, IReadOnlySet<int> keep) => this with
    {
        QaId = QaId.Where(p => keep.Contains(p.Person)).ToList(),
        QaOod = QaOod.Where(p => keep.Contains(p.Person)).ToList(),
        Bio = Bio.Where(p => keep.Contains(p.Person)).ToList(),
        Extraction = Extraction.Where(p => keep.Contains(p.Person)).ToList(),
        PeoplePerSplit = people,
    };
}
