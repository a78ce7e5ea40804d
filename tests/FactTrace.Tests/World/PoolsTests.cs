using System.Text;
using FactTrace.IO;
using FactTrace.World;

namespace FactTrace.Tests.World;

public class PoolsTests
{
    [Fact]
    public void DefaultPoolsHaveTheIntendedSizes()
    {
        var p = Pools.Default;
        Assert.Equal(400, p.FirstNames.Count);
        Assert.Equal(400, p.MiddleNames.Count);
        Assert.Equal(1000, p.LastNames.Count);
        Assert.Equal(200, p.BirthCities.Count);
        Assert.Equal(300, p.Universities.Count);
        Assert.Equal(100, p.Majors.Count);
        Assert.Equal(250, p.Employers.Count);
        Assert.Equal(160_000_000, p.MaxPeople);
        Assert.All(p.Templates, t => Assert.True(t.Count >= 20));
        Assert.Equal(Attributes.Count, p.Questions.Count);
    }

    [Fact]
    public void NamesAreUniqueSingleWords()
    {
        foreach (var pool in new[] { Pools.Default.FirstNames, Pools.Default.MiddleNames, Pools.Default.LastNames })
        {
            Assert.Equal(pool.Count, pool.Distinct().Count());
            Assert.All(pool, n => Assert.Matches("^[A-Z][a-z]+$", n));
        }
        Assert.Equal(Pools.Default.Employers.Count, Pools.Default.Employers.Select(e => e.Name).Distinct().Count());
    }

    [Fact]
    public void EveryTemplateRendersItsValueAtTheReturnedOffset()
    {
        for (var a = 0; a < Attributes.Count; a++)
            foreach (var t in Pools.Default.Templates[a])
                foreach (var (subject, possessive) in new[] { ("he", "his"), ("Anya Briar Forger", "Anya Briar Forger's") })
                {
                    var sb = new StringBuilder("Prefix. ");
                    var start = t.Render(sb, subject, possessive, "VALUE");
                    var s = sb.ToString();
                    Assert.Equal("VALUE", s.Substring(start, 5));
                    Assert.EndsWith(".", s);
                    // A pronoun opening the sentence is capitalized; elsewhere it stays lower case.
                    var sentence = s["Prefix. ".Length..];
                    Assert.True(char.IsUpper(sentence[0]) || sentence.StartsWith("VALUE"), sentence);
                }
    }

    [Fact]
    public void TemplateParseRejectsMalformedTemplates()
    {
        Assert.Throws<FormatException>(() => Template.Parse("{subject} was born in {value}"));      // no period
        Assert.Throws<FormatException>(() => Template.Parse("{subject} was born."));                // no value
        Assert.Throws<FormatException>(() => Template.Parse("Born in {value}."));                   // no subject
        Assert.Throws<FormatException>(() => Template.Parse("{subject} met {subject} in {value}.")); // two subjects
        Assert.Throws<FormatException>(() => Template.Parse("{subject} was born in {city}."));      // unknown placeholder
    }

    [Fact]
    public void ValidateNamesThePoolOfADuplicate()
    {
        var bad = Pools.Default with { Majors = ["Physics", "Physics"] };
        var e = Assert.ThrowsAny<FactTraceException>(() => bad.Validate());
        Assert.Contains("majors", e.Message);
        Assert.Contains("Physics", e.Message);
    }
}
