using System.Text;
using FactTrace.IO;
using FactTrace.Text;

namespace FactTrace.World;

/// <summary>
/// Makes a world: draws people, splits them into ID/OOD, writes their BIOs and questions. Each kind of draw has its own
/// named random stream of the seed (people, split, one BIO stream per person), so e.g. --permute or --bio-variants
/// change the BIOs but never who the people are or which half they are in.
/// </summary>
public static class WorldGenerator
{
    public static FactWorld Generate(WorldOptions options, Pools? pools = null)
    {
        pools ??= Pools.Default;
        options.Validate(pools);
        var people = DrawPeople(options, pools);

        var bios = new List<BioRecord>(options.People * options.BioVariants);
        var sb = new StringBuilder(512);
        foreach (var p in people)
        {
            var rng = new Rng(options.Seed, "bio", p.Id);
            for (var v = 0; v < options.BioVariants; v++) bios.Add(Bio(p, v, rng, pools, options, sb));
        }

        var questions = pools.Questions.Select(q => q.Split("{name}")).ToArray(); // text before and after the name
        var qaId = new List<QaRecord>(options.IdPeople * Attributes.Count);
        var qaOod = new List<QaRecord>((options.People - options.IdPeople) * Attributes.Count);
        foreach (var p in people)
            for (var a = 0; a < Attributes.Count; a++)
                (p.IsInDistribution ? qaId : qaOod).Add(Question(p, a, questions[a][0], questions[a][1]));

        // The vocabulary covers every text of the world; qa_test_id repeats qa_train, so it adds nothing.
        var tokenizer = WordLevelTokenizer.Build([.. bios.Select(b => b.Text), .. qaId.Select(q => q.Text), .. qaOod.Select(q => q.Text)]);
        var info = WorldInfo.Describe(options, pools.Sizes, people.Count, options.IdPeople, bios.Count, qaId.Count, qaOod.Count, tokenizer.VocabSize);
        return new FactWorld(info, people, bios, qaId, qaId, qaOod, tokenizer);
    }

    static List<Person> DrawPeople(WorldOptions o, Pools pools)
    {
        var n = o.People;
        var isId = new bool[n];
        var perm = new Rng(o.Seed, "split").Permutation(n);
        for (var i = 0; i < o.IdPeople; i++) isId[perm[i]] = true;

        var rng = new Rng(o.Seed, "people");
        long middles = pools.MiddleNames.Count, lasts = pools.LastNames.Count;
        var used = new HashSet<long>(n);
        var people = new List<Person>(n);
        for (var id = 0; id < n; id++)
        {
            // A full name is one number in [0, first*middle*last); redraw until unused (Validate bounds n by that).
            long key;
            do key = (long)rng.NextULong((ulong)pools.MaxPeople); while (!used.Add(key));
            var first = pools.FirstNames[(int)(key / (middles * lasts))];
            var middle = pools.MiddleNames[(int)(key / lasts % middles)];
            var last = pools.LastNames[(int)(key % lasts)];

            var pronoun = rng.Pick(Pools.Pronouns).Subject;
            int day = rng.NextInt(1, 28), month = rng.NextInt(1, 12), year = rng.NextInt(1900, 2099);
            var employer = rng.Pick(pools.Employers);
            people.Add(new Person
            {
                Id = id,
                FullName = $"{first} {middle} {last}",
                FirstName = first,
                MiddleName = middle,
                LastName = last,
                Pronoun = pronoun,
                Split = isId[id] ? Splits.Id : Splits.Ood,
                BirthDate = Person.FormatDate(day, month, year),
                BirthDay = day,
                BirthMonth = month,
                BirthYear = year,
                BirthCity = rng.Pick(pools.BirthCities),
                University = rng.Pick(pools.Universities),
                Major = rng.Pick(pools.Majors),
                Employer = employer.Name,
                EmployerCity = employer.City,
            });
        }
        return people;
    }

    /// <summary>One sentence per attribute, each from a random template; the full name in the first sentence.</summary>
    static BioRecord Bio(Person p, int variant, Rng rng, Pools pools, WorldOptions o, StringBuilder sb)
    {
        var count = Attributes.Count;
        Span<int> template = stackalloc int[count];
        for (var a = 0; a < count; a++) template[a] = rng.NextInt(pools.Templates[a].Count);
        var order = new int[count];
        for (var a = 0; a < count; a++) order[a] = a;
        if (o.Permute) rng.Shuffle(order.AsSpan());

        var possessive = Pools.Pronouns.First(x => x.Subject == p.Pronoun).Possessive;
        var spans = new ValueSpan[count];
        sb.Clear();
        for (var k = 0; k < count; k++)
        {
            var a = order[k];
            if (k > 0) sb.Append(' ');
            var named = k == 0 || o.FullName;
            var value = p.Value(a);
            var start = pools.Templates[a][template[a]].Render(sb,
                named ? p.FullName : p.Pronoun, named ? p.FullName + "'s" : possessive, value);
            spans[a] = new ValueSpan(Attributes.All[a], start, start + value.Length);
        }
        return new BioRecord
        {
            PersonId = p.Id,
            Variant = variant,
            Text = sb.ToString(),
            Order = Array.ConvertAll(order, a => Attributes.All[a]),
            Spans = spans,
        };
    }

    /// <summary>"&lt;question&gt; Answer: &lt;value&gt;." with the value's exact offsets.</summary>
    static QaRecord Question(Person p, int a, string beforeName, string afterName)
    {
        var value = p.Value(a);
        var text = string.Concat([beforeName, p.FullName, afterName, " Answer: ", value, "."]);
        var answerEnd = text.Length - 1;
        var answerStart = answerEnd - value.Length;
        return new QaRecord
        {
            PersonId = p.Id,
            Attribute = Attributes.All[a],
            Text = text,
            Prompt = text[..(answerStart - 1)],
            Answer = value,
            AnswerStart = answerStart,
            AnswerEnd = answerEnd,
        };
    }
}
