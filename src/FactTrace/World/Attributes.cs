namespace FactTrace.World;

/// <summary>
/// The six attributes of a person, in canonical order (the sentence order of an unpermuted BIO, the order of spans
/// in bio.jsonl and of questions per person). The names are the JSON field names in people.jsonl.
/// </summary>
public static class Attributes
{
    public const string BirthDate = "birth_date", BirthCity = "birth_city", University = "university", Major = "major",
        Employer = "employer", EmployerCity = "employer_city";

    public static readonly IReadOnlyList<string> All = [BirthDate, BirthCity, University, Major, Employer, EmployerCity];

    public static int Count => All.Count;

    /// <summary>Index of an attribute name in <see cref="All"/>, or -1.</summary>
    public static int IndexOf(string name)
    {
        for (var i = 0; i < All.Count; i++) if (All[i] == name) return i;
        return -1;
    }
}
