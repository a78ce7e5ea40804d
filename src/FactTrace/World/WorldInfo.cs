namespace FactTrace.World;

/// <summary>How many of each thing a world folder holds (world.json "counts").</summary>
public sealed record WorldCounts(int People, int IdPeople, int OodPeople, int Bios, int QaTrain, int QaTestId, int QaTestOod, int VocabSize);

/// <summary>A field of a JSONL file, described in world.json so that the folder explains itself.</summary>
public sealed record FieldSchema(string Name, string Type, string Description);

public sealed record FileSchema(string Name, string Description, IReadOnlyList<FieldSchema>? Fields = null);

/// <summary>world.json: format version, seed, options, pool sizes, counts, attribute names and the files' schema.</summary>
public sealed record WorldInfo
{
    public required int FormatVersion { get; init; }
    public required long Seed { get; init; }
    public required WorldOptions Options { get; init; }
    public required PoolSizes PoolSizes { get; init; }
    public required WorldCounts Counts { get; init; }
    public required IReadOnlyList<string> AttributeNames { get; init; }
    public required IReadOnlyList<string> Pronouns { get; init; }
    public required IReadOnlyList<FileSchema> Files { get; init; }

    public static WorldInfo Describe(WorldOptions o, PoolSizes pools, int people, int idPeople, int bios, int qaId, int qaOod, int vocab) => new()
    {
        FormatVersion = FactWorld.FormatVersion,
        Seed = o.Seed,
        Options = o,
        PoolSizes = pools,
        Counts = new WorldCounts(people, idPeople, people - idPeople, bios, qaId, qaId, qaOod, vocab),
        AttributeNames = Attributes.All,
        Pronouns = Pools.Pronouns.Select(p => p.Subject).ToList(),
        Files = Schema,
    };

    static readonly FieldSchema[] QaFields =
    [
        new("person_id", "int", "id of the person asked about"),
        new("attribute", "string", "which attribute is asked (one of attribute_names)"),
        new("text", "string", "question and answer: \"<question> Answer: <value>.\""),
        new("prompt", "string", "text up to and including \"Answer:\" (what a model is given)"),
        new("answer", "string", "the attribute value, without the final period"),
        new("answer_start", "int", "character offset of the answer in text"),
        new("answer_end", "int", "character offset just past the answer in text: text[answer_start:answer_end] == answer"),
    ];

    public static readonly IReadOnlyList<FileSchema> Schema =
    [
        new("people.jsonl", "one person per line, ordered by id", [
            new("id", "int", "0..people-1"),
            new("full_name", "string", "first middle last, unique in the world"),
            new("first_name", "string", ""), new("middle_name", "string", ""), new("last_name", "string", ""),
            new("pronoun", "string", "he or she"),
            new("split", "string", "id (QA trained and tested) or ood (QA tested only)"),
            new("birth_date", "string", "as written in texts, e.g. October 2, 1996"),
            new("birth_day", "int", "1..28"), new("birth_month", "int", "1..12"), new("birth_year", "int", "1900..2099"),
            new("birth_city", "string", "City, ST"), new("university", "string", ""), new("major", "string", ""),
            new("employer", "string", ""),
            new("employer_city", "string", "the employer's headquarters (a function of employer)"),
        ]),
        new("bio.jsonl", "BIOs of every person (all are training data): bio_variants per person, ordered by person_id then variant", [
            new("person_id", "int", ""),
            new("variant", "int", "0..bio_variants-1"),
            new("text", "string", "one sentence per attribute; full name in the first sentence, pronoun after unless full_name"),
            new("order", "list[string]", "attribute names in sentence order"),
            new("spans", "list[{attribute,start,end}]", "character span of each attribute value in text, in attribute_names order"),
        ]),
        new("qa_train.jsonl", "one question per attribute of each in-distribution person (trained on)", QaFields),
        new("qa_test_id.jsonl", "the same questions as qa_train.jsonl, as the in-distribution test", QaFields),
        new("qa_test_ood.jsonl", "one question per attribute of each out-of-distribution person (never trained on)", QaFields),
        new("tokenizer.json", "Hugging Face tokenizer: WordLevel model over the world's texts"),
        new("tokenizer_config.json", "lets transformers' AutoTokenizer load tokenizer.json with the special tokens"),
    ];
}
