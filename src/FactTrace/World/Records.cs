using System.Text.Json.Serialization;

namespace FactTrace.World;

/// <summary>The two halves of a world: QA of "id" people is trained on, QA of "ood" people only tested.</summary>
public static class Splits
{
    public const string Id = "id", Ood = "ood";
}

/// <summary>
/// One person: a line of people.jsonl. Properties are declared in file order. <see cref="FullName"/> and
/// <see cref="BirthDate"/> are stored as rendered in the texts (and checked against their parts on load).
/// </summary>
public sealed record Person
{
    public required int Id { get; init; }
    public required string FullName { get; init; }
    public required string FirstName { get; init; }
    public required string MiddleName { get; init; }
    public required string LastName { get; init; }
    /// <summary>"he" or "she".</summary>
    public required string Pronoun { get; init; }
    /// <summary><see cref="Splits.Id"/> or <see cref="Splits.Ood"/>.</summary>
    public required string Split { get; init; }
    /// <summary>As written in BIOs and answers, e.g. "October 2, 1996".</summary>
    public required string BirthDate { get; init; }
    public required int BirthDay { get; init; }
    public required int BirthMonth { get; init; }
    public required int BirthYear { get; init; }
    public required string BirthCity { get; init; }
    public required string University { get; init; }
    public required string Major { get; init; }
    public required string Employer { get; init; }
    /// <summary>The employer's headquarters: a function of <see cref="Employer"/>.</summary>
    public required string EmployerCity { get; init; }

    [JsonIgnore] public bool IsInDistribution => Split == Splits.Id;

    /// <summary>The value of attribute <paramref name="attribute"/> (an index into <see cref="Attributes.All"/>).</summary>
    public string Value(int attribute) => attribute switch
    {
        0 => BirthDate,
        1 => BirthCity,
        2 => University,
        3 => Major,
        4 => Employer,
        5 => EmployerCity,
        _ => throw new ArgumentOutOfRangeException(nameof(attribute)),
    };

    public string Value(string attribute) => Value(Attributes.IndexOf(attribute));

    static readonly string[] Months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    /// <summary>"October 2, 1996".</summary>
    public static string FormatDate(int day, int month, int year) => $"{Months[month - 1]} {day}, {year}";
}

/// <summary>Where an attribute's value sits in a text: characters [Start, End).</summary>
public sealed record ValueSpan(string Attribute, int Start, int End);

/// <summary>One BIO: a line of bio.jsonl.</summary>
public sealed record BioRecord
{
    public required int PersonId { get; init; }
    /// <summary>0..bio_variants-1: independently templated BIOs of the same person.</summary>
    public required int Variant { get; init; }
    public required string Text { get; init; }
    /// <summary>Attribute names in sentence order (the canonical order unless the world was generated with permute).</summary>
    public required IReadOnlyList<string> Order { get; init; }
    /// <summary>One span per attribute, in canonical attribute order (spans[i] is Attributes.All[i]).</summary>
    public required IReadOnlyList<ValueSpan> Spans { get; init; }
}

/// <summary>One question and answer: a line of qa_train.jsonl, qa_test_id.jsonl or qa_test_ood.jsonl.</summary>
public sealed record QaRecord
{
    public required int PersonId { get; init; }
    public required string Attribute { get; init; }
    /// <summary>"What is the birth city of Anya Briar Forger? Answer: Princeton, NJ."</summary>
    public required string Text { get; init; }
    /// <summary>The text up to and including "Answer:" (what a model is given when it is asked).</summary>
    public required string Prompt { get; init; }
    /// <summary>The attribute value: Text[AnswerStart..AnswerEnd], without the final period.</summary>
    public required string Answer { get; init; }
    public required int AnswerStart { get; init; }
    public required int AnswerEnd { get; init; }
}
