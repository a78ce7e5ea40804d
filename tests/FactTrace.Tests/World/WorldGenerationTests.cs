using FactTrace.IO;
using FactTrace.World;
using Xunit.Abstractions;

namespace FactTrace.Tests.World;

public class WorldGenerationTests(ITestOutputHelper output)
{
    static readonly WorldOptions Augmented = new(People: 400, Seed: 5, BioVariants: 3, Permute: true);

    [Fact]
    public void SameSeedGivesByteIdenticalFilesAndAnotherSeedAnotherWorld()
    {
        using var tmp = new TempDir();
        FactWorld.Generate(Augmented).Save(tmp.Sub("a"));
        FactWorld.Generate(Augmented).Save(tmp.Sub("b"));
        FactWorld.Generate(Augmented with { Seed = 6 }).Save(tmp.Sub("c"));
        var files = Directory.GetFiles(tmp.Sub("a")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(["bio.jsonl", "people.jsonl", "qa_test_id.jsonl", "qa_test_ood.jsonl", "qa_train.jsonl", "tokenizer.json",
            "tokenizer_config.json", "world.json"], files);
        foreach (var f in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(tmp.Sub("a"), f!)), File.ReadAllBytes(Path.Combine(tmp.Sub("b"), f!)));
        Assert.NotEqual(File.ReadAllBytes(tmp.Sub("a/people.jsonl")), File.ReadAllBytes(tmp.Sub("c/people.jsonl")));
        Assert.NotEqual(File.ReadAllBytes(tmp.Sub("a/bio.jsonl")), File.ReadAllBytes(tmp.Sub("c/bio.jsonl")));
    }

    [Fact]
    public void SeedZeroStillMakesTheSameFirstPerson()
    {
        // A pin: if this changes, worlds made by earlier versions can no longer be regenerated from their seed.
        var p = FactWorld.Generate(new WorldOptions(People: 10)).People[0];
        Assert.Equal(("Glenn Sterling Bradley", "he", "February 22, 1973", "Pembroke Pines, FL", "Paragon Optics"),
            (p.FullName, p.Pronoun, p.BirthDate, p.BirthCity, p.Employer));
    }

    [Fact]
    public void FullNamesAreUnique()
    {
        var w = FactWorld.Generate(new WorldOptions(People: 5000, Seed: 1));
        Assert.Equal(5000, w.People.Select(p => p.FullName).Distinct().Count());
        Assert.All(w.People, p => Assert.Equal($"{p.FirstName} {p.MiddleName} {p.LastName}", p.FullName));
    }

    [Fact]
    public void AttributesStayInTheirRanges()
    {
        var w = FactWorld.Generate(new WorldOptions(People: 2000, Seed: 2));
        var pools = Pools.Default;
        Assert.All(w.People, p =>
        {
            Assert.InRange(p.BirthDay, 1, 28);
            Assert.InRange(p.BirthMonth, 1, 12);
            Assert.InRange(p.BirthYear, 1900, 2099);
            Assert.Contains(p.Pronoun, new[] { "he", "she" });
            Assert.Contains(p.BirthCity, pools.BirthCities);
            Assert.Contains(p.University, pools.Universities);
            Assert.Contains(p.Major, pools.Majors);
        });
        Assert.Equal("October 2, 1996", Person.FormatDate(2, 10, 1996));
        Assert.Equal(2, w.People.Select(p => p.Pronoun).Distinct().Count());
    }

    [Fact]
    public void EmployerCityIsTheEmployersHeadquarters()
    {
        var hq = Pools.Default.Employers.ToDictionary(e => e.Name, e => e.City);
        var w = FactWorld.Generate(new WorldOptions(People: 3000, Seed: 3));
        Assert.All(w.People, p => Assert.Equal(hq[p.Employer], p.EmployerCity));
        // Everyone at one employer shares one city.
        Assert.All(w.People.GroupBy(p => p.Employer), g => Assert.Single(g.Select(p => p.EmployerCity).Distinct()));
    }

    [Theory]
    [InlineData(1000, 0.5, 500)]
    [InlineData(999, 0.5, 500)]
    [InlineData(10, 0.25, 3)]
    [InlineData(2, 0.5, 1)]
    public void SplitHasTheRightSizesAndIsDisjoint(int people, double fraction, int expectedId)
    {
        var w = FactWorld.Generate(new WorldOptions(People: people, IdFraction: fraction));
        var id = w.People.Where(p => p.Split == Splits.Id).Select(p => p.Id).ToHashSet();
        var ood = w.People.Where(p => p.Split == Splits.Ood).Select(p => p.Id).ToHashSet();
        Assert.Equal(expectedId, id.Count);
        Assert.Equal(people - expectedId, ood.Count);
        Assert.Equal(expectedId, w.Info.Counts.IdPeople);
        Assert.Equal(expectedId * Attributes.Count, w.QaTrain.Count);
        Assert.Equal((people - expectedId) * Attributes.Count, w.QaTestOod.Count);
        Assert.All(w.QaTrain, q => Assert.Contains(q.PersonId, id));
        Assert.All(w.QaTestOod, q => Assert.Contains(q.PersonId, ood));
        Assert.Equal(w.QaTrain, w.QaTestId);
        // Every person's QA is in exactly one split, one question per attribute; everyone has BIOs.
        Assert.Equal(Enumerable.Range(0, people), w.QaTrain.Concat(w.QaTestOod).Select(q => q.PersonId).Distinct().Order());
        Assert.All(w.QaTrain.Concat(w.QaTestOod).GroupBy(q => q.PersonId),
            g => Assert.Equal(Attributes.All, g.Select(q => q.Attribute)));
        Assert.Equal(Enumerable.Range(0, people), w.Bios.Select(b => b.PersonId).Distinct());
    }

    [Fact]
    public void SplitAndPeopleDoNotDependOnBioOptions()
    {
        var plain = FactWorld.Generate(new WorldOptions(People: 300, Seed: 9));
        var augmented = FactWorld.Generate(new WorldOptions(People: 300, Seed: 9, BioVariants: 4, Permute: true, FullName: true));
        Assert.Equal(plain.People, augmented.People);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void EveryBioHoldsEachValueAtItsSpan(bool permute, bool fullName)
    {
        var w = FactWorld.Generate(new WorldOptions(People: 300, Seed: 4, BioVariants: 2, Permute: permute, FullName: fullName));
        foreach (var b in w.Bios)
        {
            var p = w.People[b.PersonId];
            Assert.Equal(Attributes.All, b.Spans.Select(s => s.Attribute));
            for (var a = 0; a < Attributes.Count; a++)
                Assert.Equal(p.Value(a), b.Text[b.Spans[a].Start..b.Spans[a].End]);
            // Spans follow the sentence order and do not overlap.
            var byPosition = b.Spans.OrderBy(s => s.Start).ToList();
            Assert.Equal(b.Order, byPosition.Select(s => s.Attribute));
            for (var i = 1; i < byPosition.Count; i++) Assert.True(byPosition[i].Start > byPosition[i - 1].End);
        }
    }

    [Fact]
    public void BioVariantsAndPermutationAreApplied()
    {
        var w = FactWorld.Generate(Augmented);
        Assert.Equal(400 * 3, w.Bios.Count);
        Assert.All(w.Bios.GroupBy(b => b.PersonId), g => Assert.Equal([0, 1, 2], g.Select(b => b.Variant)));
        // Variants are templated independently, and the permuted orders are not all canonical.
        Assert.True(w.Bios.GroupBy(b => b.PersonId).Count(g => g.Select(b => b.Text).Distinct().Count() == 3) > 390);
        Assert.True(w.Bios.Count(b => !b.Order.SequenceEqual(Attributes.All)) > w.Bios.Count * 9 / 10);
        Assert.All(w.Bios, b => Assert.Equal(Attributes.All.Order(), b.Order.Order()));
        // Without permute every BIO follows the canonical order.
        Assert.All(FactWorld.Generate(Augmented with { Permute = false }).Bios, b => Assert.Equal(Attributes.All, b.Order));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FirstSentenceCarriesTheFullNameAndOthersThePronounUnlessFullName(bool fullName)
    {
        var w = FactWorld.Generate(Augmented with { FullName = fullName });
        foreach (var b in w.Bios)
        {
            var p = w.People[b.PersonId];
            var sentences = Sentences(b);
            Assert.Equal(Attributes.Count, sentences.Count);
            Assert.Contains(p.FullName, sentences[0]);
            foreach (var s in sentences.Skip(1))
            {
                if (fullName) Assert.Contains(p.FullName, s);
                else
                {
                    Assert.DoesNotContain(p.FullName, s);
                    var words = s.ToLowerInvariant().TrimEnd('.').Replace(",", "").Split(' ');
                    Assert.Contains(words, x => x == p.Pronoun || x == (p.Pronoun == "he" ? "his" : "her"));
                }
            }
        }
    }

    /// <summary>A BIO's sentences, cut just after each value's sentence-ending period (values hold no periods).</summary>
    static List<string> Sentences(BioRecord b)
    {
        var result = new List<string>();
        var start = 0;
        foreach (var span in b.Spans.OrderBy(s => s.Start))
        {
            var end = b.Text.IndexOf('.', span.End) + 1;
            result.Add(b.Text[start..end].Trim());
            start = end;
        }
        return result;
    }

    [Fact]
    public void EveryQaAnswerIsTheAttributeWithExactOffsets()
    {
        var w = FactWorld.Generate(new WorldOptions(People: 500, Seed: 8));
        foreach (var q in w.QaTrain.Concat(w.QaTestOod))
        {
            var p = w.People[q.PersonId];
            Assert.Equal(p.Value(q.Attribute), q.Answer);
            Assert.Equal(q.Answer, q.Text[q.AnswerStart..q.AnswerEnd]);
            Assert.Equal(q.Prompt + " " + q.Answer + ".", q.Text);
            Assert.EndsWith("? Answer:", q.Prompt);
            Assert.Contains(p.FullName, q.Prompt);
        }
        var example = w.QaTrain.First(q => q.Attribute == Attributes.BirthCity);
        Assert.Equal($"What is the birth city of {w.People[example.PersonId].FullName}? Answer: {example.Answer}.", example.Text);
    }

    [Fact]
    public void TooManyPeopleForThePoolsIsAUsageErrorNamingTheLimit()
    {
        var small = Pools.Default with { FirstNames = ["Ann", "Bob"], MiddleNames = ["Cy"], LastNames = ["Doe", "Roe", "Poe"] };
        var w = FactWorld.Generate(new WorldOptions(People: 6), small); // exactly the limit: every name used once
        Assert.Equal(6, w.People.Select(p => p.FullName).Distinct().Count());
        var e = Assert.ThrowsAny<FactTraceException>(() => FactWorld.Generate(new WorldOptions(People: 7), small));
        Assert.Equal(FactTrace.IO.ErrorKind.Usage, e.Kind);
        Assert.Contains("at most 6", e.Message);
        var big = Assert.ThrowsAny<FactTraceException>(() => new WorldOptions(People: 160_000_001).Validate(Pools.Default));
        Assert.Contains("160,000,000", big.Message);
    }

    [Theory]
    [InlineData(0, 0.5, 1, "people")]
    [InlineData(-3, 0.5, 1, "people")]
    [InlineData(10, 0.0, 1, "id_fraction")]
    [InlineData(10, 1.0, 1, "id_fraction")]
    [InlineData(10, double.NaN, 1, "id_fraction")]
    [InlineData(1, 0.5, 1, "id_fraction")]
    [InlineData(10, 0.01, 1, "id_fraction")]
    [InlineData(10, 0.5, 0, "bio_variants")]
    public void BadOptionsAreUsageErrorsNamingTheField(int people, double fraction, int variants, string field)
    {
        var e = Assert.Throws<OptionException>(() =>
            FactWorld.Generate(new WorldOptions(People: people, IdFraction: fraction, BioVariants: variants)));
        Assert.Equal(FactTrace.IO.ErrorKind.Usage, e.Kind);
        Assert.Equal(field, e.Field);
        Assert.StartsWith(field + ": ", e.Message);
    }

    [Fact]
    public void HundredThousandPeopleHaveDistinctNamesAndAllTheirQuestions()
    {
        var w = FactWorld.Generate(new WorldOptions(People: 100_000));
        output.WriteLine($"100k people: vocabulary {w.Tokenizer.VocabSize}");
        Assert.Equal(100_000, w.People.Select(p => p.FullName).Distinct().Count());
        Assert.Equal(600_000, w.QaTrain.Count + w.QaTestOod.Count);
    }
}
