using System.Reflection;
using System.Text.RegularExpressions;
using FactTrace.IO;

namespace FactTrace.World;

/// <summary>
/// The value pools a world draws from: names, cities, universities, majors, employers (with headquarters), BIO
/// templates and QA questions. <see cref="Default"/> reads the data files embedded from World/Pools/; tests make
/// smaller ones with <c>with</c>. Lists are indexed by position; templates and questions by attribute index.
/// </summary>
public sealed partial record Pools
{
    public required IReadOnlyList<string> FirstNames { get; init; }
    public required IReadOnlyList<string> MiddleNames { get; init; }
    public required IReadOnlyList<string> LastNames { get; init; }
    public required IReadOnlyList<string> BirthCities { get; init; }
    public required IReadOnlyList<string> Universities { get; init; }
    public required IReadOnlyList<string> Majors { get; init; }
    public required IReadOnlyList<Employer> Employers { get; init; }
    /// <summary>Per attribute (in <see cref="Attributes.All"/> order), its BIO sentence templates.</summary>
    public required IReadOnlyList<IReadOnlyList<Template>> Templates { get; init; }
    /// <summary>Per attribute, its question with a {name} placeholder.</summary>
    public required IReadOnlyList<string> Questions { get; init; }

    /// <summary>Pronouns and their possessives. he/she only, like bioS: both take the same verb forms as a name.</summary>
    public static readonly IReadOnlyList<(string Subject, string Possessive)> Pronouns = [("he", "his"), ("she", "her")];

    /// <summary>How many distinct full names the pools can make: the most people a world can have.</summary>
    public long MaxPeople => (long)FirstNames.Count * MiddleNames.Count * LastNames.Count;

    public PoolSizes Sizes => new(FirstNames.Count, MiddleNames.Count, LastNames.Count, BirthCities.Count, Universities.Count,
        Majors.Count, Employers.Count, Attributes.All.Select((a, i) => (a, Templates[i].Count)).ToDictionary(p => p.a, p => p.Count));

    static readonly Lazy<Pools> _default = new(() => Parse(ReadEmbedded));

    /// <summary>The pools embedded in the library (World/Pools/*.txt, *.tsv).</summary>
    public static Pools Default => _default.Value;

    /// <summary>Throws a <see cref="FactTraceException"/> naming the pool for an empty pool, a duplicate or a malformed value.</summary>
    public Pools Validate()
    {
        CheckNames("first_names", FirstNames);
        CheckNames("middle_names", MiddleNames);
        CheckNames("last_names", LastNames);
        CheckValues("birth_cities", BirthCities, CityPattern());
        CheckValues("universities", Universities, null);
        CheckValues("majors", Majors, null);
        CheckValues("employers", Employers.Select(e => e.Name).ToList(), null);
        foreach (var e in Employers)
            if (!CityPattern().IsMatch(e.City)) throw Bad("employers", $"headquarters '{e.City}' of '{e.Name}' is not \"City, ST\"");
        if (Templates.Count != Attributes.Count || Questions.Count != Attributes.Count)
            throw Bad("templates", $"need templates and a question for each of the {Attributes.Count} attributes");
        for (var a = 0; a < Attributes.Count; a++)
        {
            if (Templates[a].Count == 0) throw Bad("templates", $"no templates for {Attributes.All[a]}");
            if (Questions[a].Split("{name}").Length != 2) throw Bad("questions", $"question for {Attributes.All[a]} needs exactly one {{name}}");
        }
        return this;
    }

    static void CheckNames(string pool, IReadOnlyList<string> names)
    {
        // Single words of letters keep a full name exactly three word tokens.
        CheckValues(pool, names, NamePattern());
    }

    static void CheckValues(string pool, IReadOnlyList<string> values, Regex? pattern)
    {
        if (values.Count == 0) throw Bad(pool, "is empty");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in values)
        {
            if (v.Length == 0 || v != v.Trim() || v.Contains("  ") || v.Contains('\t')) throw Bad(pool, $"malformed value '{v}'");
            if (pattern is not null && !pattern.IsMatch(v)) throw Bad(pool, $"value '{v}' does not match {pattern}");
            if (!seen.Add(v)) throw Bad(pool, $"duplicate value '{v}'");
        }
    }

    static FactTraceException Bad(string pool, string why) => new($"pool {pool}: {why}");

    [GeneratedRegex(@"^[A-Z][a-z]+$")] private static partial Regex NamePattern();
    [GeneratedRegex(@"^[A-Z][A-Za-z ]*[a-z], [A-Z]{2}$")] private static partial Regex CityPattern();

    /// <summary>Parses pool files given a reader from file name to content (lines starting with '#' and blank lines are skipped).</summary>
    public static Pools Parse(Func<string, string> read)
    {
        List<string> Lines(string file) => Rows(file, read(file)).Select(r => r.Text).ToList();

        var employers = new List<Employer>();
        foreach (var (line, text) in Rows("employers.tsv", read("employers.tsv")))
        {
            var f = text.Split('\t');
            if (f.Length != 2) throw new FactTraceException($"pool employers.tsv line {line}: expected company<TAB>city");
            employers.Add(new Employer(f[0], f[1]));
        }

        var templates = Attributes.All.Select(_ => new List<Template>()).ToList();
        foreach (var (line, text) in Rows("templates.tsv", read("templates.tsv")))
        {
            var (a, body) = AttributeRow("templates.tsv", line, text);
            try { templates[a].Add(Template.Parse(body)); }
            catch (FormatException e) { throw new FactTraceException($"pool templates.tsv line {line}: {e.Message}: {body}"); }
        }

        var questions = new string?[Attributes.Count];
        foreach (var (line, text) in Rows("questions.tsv", read("questions.tsv")))
        {
            var (a, body) = AttributeRow("questions.tsv", line, text);
            if (questions[a] is not null) throw new FactTraceException($"pool questions.tsv line {line}: second question for {Attributes.All[a]}");
            questions[a] = body;
        }
        for (var a = 0; a < Attributes.Count; a++)
            if (questions[a] is null) throw new FactTraceException($"pool questions.tsv: no question for {Attributes.All[a]}");

        return new Pools
        {
            FirstNames = Lines("first_names.txt"),
            MiddleNames = Lines("middle_names.txt"),
            LastNames = Lines("last_names.txt"),
            BirthCities = Lines("birth_cities.txt"),
            Universities = Lines("universities.txt"),
            Majors = Lines("majors.txt"),
            Employers = employers,
            Templates = templates,
            Questions = questions!,
        }.Validate();
    }

    static (int Attribute, string Body) AttributeRow(string file, int line, string text)
    {
        var tab = text.IndexOf('\t');
        var a = tab < 0 ? -1 : Attributes.IndexOf(text[..tab]);
        if (a < 0) throw new FactTraceException($"pool {file} line {line}: expected attribute<TAB>text with a known attribute");
        return (a, text[(tab + 1)..]);
    }

    static IEnumerable<(int Line, string Text)> Rows(string file, string content)
    {
        var n = 0;
        foreach (var raw in content.Split('\n'))
        {
            n++;
            var text = raw.TrimEnd('\r');
            if (text.Length == 0 || text.StartsWith('#')) continue;
            yield return (n, text);
        }
    }

    static string ReadEmbedded(string file)
    {
        var name = "FactTrace.World.Pools." + file;
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new FactTraceException($"embedded pool '{name}' is missing from the library");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }
}
