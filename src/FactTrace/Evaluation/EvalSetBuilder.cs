using FactTrace.Text;
using FactTrace.World;

namespace FactTrace.Evaluation;

/// <summary>Builds the probes of an evaluation from a world and the tokenizer the model reads it with.</summary>
public static class EvalSetBuilder
{
    public static EvalSet Build(FactWorld world, ITokenizer tok)
    {
        var attributes = Attributes.All;
        var qaId = world.QaTestId.Select(q => new Probe(q.PersonId, q.Attribute, q.Prompt, q.Answer)).ToList();
        var qaOod = world.QaTestOod.Select(q => new Probe(q.PersonId, q.Attribute, q.Prompt, q.Answer)).ToList();
        var bios = world.Bios.Select(b => BioProbe(tok, b)).ToList();
        var extraction = world.People
            .SelectMany(p => attributes.Select(a => new Probe(p.Id, a, ExtractionPrompt(p, a), p.Value(a))))
            .ToList();
        return new EvalSet(attributes, qaId, qaOod, bios, extraction, Chance(world), world.Info.Counts.IdPeople);
    }

    /// <summary>
    /// An isolated prompt: the attribute's first BIO template, with the full name, cut before the value
    /// ("Anya Briar Forger was born in"). Only the name links it to the person.
    /// </summary>
    public static string ExtractionPrompt(Person p, string attribute)
    {
        var text = Pools.Default.Templates[Attributes.IndexOf(attribute)][0].Text;
        var cut = text[..text.IndexOf(Template.Value, StringComparison.Ordinal)].TrimEnd();
        return cut.Replace(Template.Subject, p.FullName).Replace(Template.Possessive, p.FullName + "'s");
    }

    static BioProbe BioProbe(ITokenizer tok, BioRecord bio)
    {
        var spans = tok.EncodeWithOffsets(bio.Text);
        int offset = tok.BosId is null ? 0 : 1;
        var values = new List<ValueTokens>();
        foreach (var v in bio.Spans)
        {
            int first = -1, last = -1;
            for (int i = 0; i < spans.Count; i++)
                if (spans[i].End > v.Start && spans[i].Start < v.End) { if (first < 0) first = i; last = i; }
            if (first >= 0) values.Add(new ValueTokens(v.Attribute, first + offset, last + 1 + offset));
        }
        return new BioProbe(bio.PersonId, [.. Training.ExampleEncoder.Wrap(tok, spans.Select(s => s.Id).ToList())], values);
    }

    /// <summary>Per attribute: the share of OOD people holding its most common value (always answering it scores this).</summary>
    static Dictionary<string, double> Chance(FactWorld world)
    {
        var ood = world.People.Where(p => !p.IsInDistribution).ToList();
        return Attributes.All.ToDictionary(a => a, a => ood.Count == 0 ? 0 :
            (double)ood.GroupBy(p => p.Value(a)).Max(g => g.Count()) / ood.Count);
    }

    /// <summary>The first <paramref name="people"/> people of each split (fixed, so curve points are comparable).</summary>
    /// <summary>The world's probes, restricted to the first <paramref name="people"/> people of each split when given.</summary>
    public static EvalSet ForPeople(FactWorld world, ITokenizer tok, int? people)
    {
        var full = Build(world, tok);
        if (people is not { } n) return full;
        if (n <= 0) throw new IO.OptionException("eval_people", $"must be positive (got {n})");
        return Subset(full, world, n);
    }

    public static EvalSet Subset(EvalSet full, FactWorld world, int people)
    {
        var keep = world.People.Where(p => p.IsInDistribution).Take(people)
            .Concat(world.People.Where(p => !p.IsInDistribution).Take(people))
            .Select(p => p.Id).ToHashSet();
        return full.Subset(people, keep);
    }
}
