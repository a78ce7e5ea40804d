using System.Text.Json;
using FactTrace.IO;
using FactTrace.Text;

namespace FactTrace.World;

/// <summary>
/// A synthetic fact world in memory: people, their BIOs, the QA splits and the word-level tokenizer over all texts.
/// Made by <see cref="Generate"/>, written by <see cref="Save"/> as a world folder, read back by <see cref="Load"/>.
/// </summary>
public sealed class FactWorld
{
    /// <summary>The world folder format this program writes; it reads this version and older.</summary>
    public const int FormatVersion = 1;

    public const string InfoFile = "world.json", PeopleFile = "people.jsonl", BioFile = "bio.jsonl",
        QaTrainFile = "qa_train.jsonl", QaTestIdFile = "qa_test_id.jsonl", QaTestOodFile = "qa_test_ood.jsonl";

    public WorldInfo Info { get; }
    public WorldOptions Options => Info.Options;
    public IReadOnlyList<Person> People { get; }
    public IReadOnlyList<BioRecord> Bios { get; }
    /// <summary>QA of in-distribution people: trained on.</summary>
    public IReadOnlyList<QaRecord> QaTrain { get; }
    /// <summary>The same questions as <see cref="QaTrain"/>: the in-distribution test.</summary>
    public IReadOnlyList<QaRecord> QaTestId { get; }
    /// <summary>QA of out-of-distribution people: only tested.</summary>
    public IReadOnlyList<QaRecord> QaTestOod { get; }
    public WordLevelTokenizer Tokenizer { get; }

    internal FactWorld(WorldInfo info, IReadOnlyList<Person> people, IReadOnlyList<BioRecord> bios, IReadOnlyList<QaRecord> qaTrain,
        IReadOnlyList<QaRecord> qaTestId, IReadOnlyList<QaRecord> qaTestOod, WordLevelTokenizer tokenizer)
    {
        Info = info;
        People = people;
        Bios = bios;
        QaTrain = qaTrain;
        QaTestId = qaTestId;
        QaTestOod = qaTestOod;
        Tokenizer = tokenizer;
    }

    public static FactWorld Generate(WorldOptions options, Pools? pools = null) => WorldGenerator.Generate(options, pools);

    /// <summary>
    /// `facttrace world`: validates the options, refuses a bad folder before spending time on generation, generates the
    /// world and saves it (atomically) into <paramref name="dir"/>.
    /// </summary>
    public static FactWorld Create(WorldOptions options, string dir, bool force = false)
    {
        options.Validate(Pools.Default);
        OutputFolder.CheckWritable(dir, force);
        var world = Generate(options);
        world.Save(dir, force);
        return world;
    }

    /// <summary>Every distinct text of the world: BIOs, then QA (train, then OOD; qa_test_id repeats qa_train).</summary>
    public IReadOnlyList<string> Texts => [.. Bios.Select(b => b.Text), .. QaTrain.Select(q => q.Text), .. QaTestOod.Select(q => q.Text)];

    /// <summary>Writes the world folder atomically; a non-empty <paramref name="dir"/> is refused unless <paramref name="force"/>.</summary>
    public void Save(string dir, bool force = false) => OutputFolder.Create(dir, force, tmp =>
    {
        AtomicFile.WriteAllText(Path.Combine(tmp, InfoFile), Json.Serialize(Info) + "\n");
        Jsonl.Write(Path.Combine(tmp, PeopleFile), People);
        Jsonl.Write(Path.Combine(tmp, BioFile), Bios);
        Jsonl.Write(Path.Combine(tmp, QaTrainFile), QaTrain);
        // A generated world's ID test is its training QA: copy the bytes rather than serialize them again.
        if (ReferenceEquals(QaTestId, QaTrain)) File.Copy(Path.Combine(tmp, QaTrainFile), Path.Combine(tmp, QaTestIdFile));
        else Jsonl.Write(Path.Combine(tmp, QaTestIdFile), QaTestId);
        Jsonl.Write(Path.Combine(tmp, QaTestOodFile), QaTestOod);
        Tokenizer.Save(tmp);
    }, "world folder");

    /// <summary>
    /// Reads a world folder. A missing file, a corrupt line, a line that contradicts the people (a span or answer that
    /// is not the person's value), or a format newer than this program is a one-line error naming the file and line.
    /// </summary>
    public static FactWorld Load(string dir)
    {
        if (File.Exists(dir)) throw FactTraceException.Usage($"world folder '{dir}' is a file; pass the folder that holds world.json");
        if (!Directory.Exists(dir)) throw FactTraceException.Usage($"world folder '{dir}' not found");
        var info = ReadInfo(Path.Combine(dir, InfoFile));
        var c = info.Counts;

        var people = Jsonl.Read<Person>(Path.Combine(dir, PeopleFile), (p, line) => CheckPerson(p, line - 1));
        CheckCount(dir, PeopleFile, people.Count, c.People);
        var bios = Jsonl.Read<BioRecord>(Path.Combine(dir, BioFile), (b, _) => CheckBio(b, people));
        CheckCount(dir, BioFile, bios.Count, c.Bios);
        var qaTrain = Jsonl.Read<QaRecord>(Path.Combine(dir, QaTrainFile), (q, _) => CheckQa(q, people, Splits.Id));
        CheckCount(dir, QaTrainFile, qaTrain.Count, c.QaTrain);
        var qaTestId = Jsonl.Read<QaRecord>(Path.Combine(dir, QaTestIdFile), (q, _) => CheckQa(q, people, Splits.Id));
        CheckCount(dir, QaTestIdFile, qaTestId.Count, c.QaTestId);
        var qaTestOod = Jsonl.Read<QaRecord>(Path.Combine(dir, QaTestOodFile), (q, _) => CheckQa(q, people, Splits.Ood));
        CheckCount(dir, QaTestOodFile, qaTestOod.Count, c.QaTestOod);
        var tokenizer = WordLevelTokenizer.Load(Path.Combine(dir, WordLevelTokenizer.FileName));
        return new FactWorld(info, people, bios, qaTrain, qaTestId, qaTestOod, tokenizer);
    }

    static WorldInfo ReadInfo(string path)
    {
        // Check the version before the schema: a newer file may not parse as this version's record at all.
        var version = Json.ReadFile<JsonElement>(path, "world file");
        if (version.ValueKind != JsonValueKind.Object || !version.TryGetProperty("format_version", out var v) || !v.TryGetInt32(out var n))
            throw new FactTraceException($"world file '{path}' has no integer format_version");
        if (n > FormatVersion)
            throw new FactTraceException($"world file '{path}' has format_version {n}, newer than this program reads ({FormatVersion}); update facttrace");
        try
        {
            return version.Deserialize<WorldInfo>(Jsonl.Strict) ?? throw new FactTraceException($"world file '{path}' is null");
        }
        catch (JsonException e)
        {
            throw new FactTraceException($"world file '{path}' is not a valid world.json: {e.Message.Split('\n')[0].Trim()}");
        }
    }

    static void CheckCount(string dir, string file, int actual, int expected)
    {
        if (actual != expected)
            throw new FactTraceException($"{Path.Combine(dir, file)} has {actual} lines but {InfoFile} counts {expected}");
    }

    static string? CheckPerson(Person p, int expectedId)
    {
        if (p.Id != expectedId) return $"id {p.Id} where {expectedId} was expected (people are ordered by id)";
        if (p.FullName != $"{p.FirstName} {p.MiddleName} {p.LastName}") return $"full_name '{p.FullName}' is not first middle last";
        if (p.Split is not (Splits.Id or Splits.Ood)) return $"split '{p.Split}' is neither id nor ood";
        if (p.BirthDay is < 1 or > 28 || p.BirthMonth is < 1 or > 12) return $"birth date {p.BirthMonth}/{p.BirthDay} out of range";
        if (p.BirthDate != Person.FormatDate(p.BirthDay, p.BirthMonth, p.BirthYear)) return $"birth_date '{p.BirthDate}' disagrees with its parts";
        return null;
    }

    static string? CheckBio(BioRecord b, List<Person> people)
    {
        if (b.PersonId < 0 || b.PersonId >= people.Count) return $"person_id {b.PersonId} is not in people.jsonl";
        if (b.Spans.Count != Attributes.Count) return $"{b.Spans.Count} spans, expected {Attributes.Count}";
        for (var a = 0; a < Attributes.Count; a++)
        {
            var s = b.Spans[a];
            if (s.Attribute != Attributes.All[a]) return $"spans[{a}] is '{s.Attribute}', expected '{Attributes.All[a]}'";
            if (s.Start < 0 || s.End < s.Start || s.End > b.Text.Length) return $"span of {s.Attribute} [{s.Start}, {s.End}) is outside the text";
            if (b.Text.AsSpan(s.Start, s.End - s.Start).SequenceEqual(people[b.PersonId].Value(a)) is false)
                return $"span of {s.Attribute} does not hold the person's value '{people[b.PersonId].Value(a)}'";
        }
        return null;
    }

    static string? CheckQa(QaRecord q, List<Person> people, string split)
    {
        if (q.PersonId < 0 || q.PersonId >= people.Count) return $"person_id {q.PersonId} is not in people.jsonl";
        var p = people[q.PersonId];
        if (p.Split != split) return $"person {q.PersonId} is in split '{p.Split}', not '{split}'";
        var a = Attributes.IndexOf(q.Attribute);
        if (a < 0) return $"unknown attribute '{q.Attribute}'";
        if (q.Answer != p.Value(a)) return $"answer '{q.Answer}' is not the person's {q.Attribute} '{p.Value(a)}'";
        if (!q.Text.StartsWith(q.Prompt, StringComparison.Ordinal)) return "prompt is not the start of text";
        if (q.AnswerStart < q.Prompt.Length || q.AnswerEnd > q.Text.Length || q.AnswerEnd - q.AnswerStart != q.Answer.Length
            || !q.Text.AsSpan(q.AnswerStart, q.Answer.Length).SequenceEqual(q.Answer))
            return $"answer_start/answer_end [{q.AnswerStart}, {q.AnswerEnd}) do not hold the answer";
        return null;
    }
}
