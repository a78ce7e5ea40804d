using System.Text;
using FactTrace.IO;

namespace FactTrace.World;

/// <summary>
/// One BIO sentence template, e.g. "{subject} was born in {value}." or "{possessive} hometown is {value}.".
/// Parsed once into literal parts and slots so rendering is a few appends and the value's offset comes for free.
/// </summary>
public sealed class Template
{
    public const string Subject = "{subject}", Possessive = "{possessive}", Value = "{value}";

    enum Slot { Subject, Possessive, Value }

    readonly string[] _literals; // literal text before slot 0, between slots, after the last slot (slots + 1 items)
    readonly Slot[] _slots;

    public string Text { get; }

    Template(string text, string[] literals, Slot[] slots) => (Text, _literals, _slots) = (text, literals, slots);

    /// <summary>Parses and checks a template: one {value}, one of {subject}/{possessive}, one sentence ending in '.'.</summary>
    public static Template Parse(string text)
    {
        if (text.Length == 0 || text != text.Trim() || text.Contains("  ") || !text.EndsWith('.'))
            throw new FormatException("a template is one sentence with single spaces, ending with '.'");
        var literals = new List<string>();
        var slots = new List<Slot>();
        var at = 0;
        while (true)
        {
            var open = text.IndexOf('{', at);
            if (open < 0) { literals.Add(text[at..]); break; }
            var close = text.IndexOf('}', open);
            if (close < 0) throw new FormatException("unclosed '{'");
            literals.Add(text[at..open]);
            slots.Add(text[open..(close + 1)] switch
            {
                Subject => Slot.Subject,
                Possessive => Slot.Possessive,
                Value => Slot.Value,
                var other => throw new FormatException($"unknown placeholder {other}"),
            });
            at = close + 1;
        }
        if (slots.Count(s => s == Slot.Value) != 1) throw new FormatException("needs exactly one {value}");
        if (slots.Count(s => s != Slot.Value) != 1) throw new FormatException("needs exactly one of {subject} or {possessive}");
        return new Template(text, [.. literals], [.. slots]);
    }

    /// <summary>
    /// Appends the sentence to <paramref name="sb"/> and returns where the value starts in it. The subject is a pronoun
    /// ("he"/"she") or the full name; a pronoun at the start of the sentence is capitalized.
    /// </summary>
    public int Render(StringBuilder sb, string subject, string possessive, string value)
    {
        var valueStart = -1;
        for (var i = 0; i < _slots.Length; i++)
        {
            sb.Append(_literals[i]);
            var atStart = i == 0 && _literals[0].Length == 0;
            switch (_slots[i])
            {
                case Slot.Value: valueStart = sb.Length; sb.Append(value); break;
                case Slot.Subject: AppendWord(sb, subject, atStart); break;
                case Slot.Possessive: AppendWord(sb, possessive, atStart); break;
            }
        }
        sb.Append(_literals[^1]);
        return valueStart;
    }

    static void AppendWord(StringBuilder sb, string word, bool capitalize)
    {
        if (capitalize && word.Length > 0) sb.Append(char.ToUpperInvariant(word[0])).Append(word, 1, word.Length - 1);
        else sb.Append(word);
    }

    public override string ToString() => Text;
}

/// <summary>An employer and the city of its headquarters (the employer_city of everyone who works there).</summary>
public sealed record Employer(string Name, string City);

/// <summary>Pool sizes as recorded in world.json.</summary>
public sealed record PoolSizes(int FirstNames, int MiddleNames, int LastNames, int BirthCities, int Universities, int Majors,
    int Employers, IReadOnlyDictionary<string, int> Templates);
