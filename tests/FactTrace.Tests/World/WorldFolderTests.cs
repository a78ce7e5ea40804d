using System.Text.Json;
using FactTrace.IO;
using FactTrace.World;

namespace FactTrace.Tests.World;

public class WorldFolderTests
{
    static readonly WorldOptions Options = new(People: 200, Seed: 11, BioVariants: 2, Permute: true);

    static string Saved(TempDir tmp, string name = "world")
    {
        var dir = tmp.Sub(name);
        FactWorld.Generate(Options).Save(dir);
        return dir;
    }

    [Fact]
    public void LoadReadsBackWhatSaveWrote()
    {
        using var tmp = new TempDir();
        var world = FactWorld.Generate(Options);
        world.Save(tmp.Sub("w"));
        var loaded = FactWorld.Load(tmp.Sub("w"));
        Assert.Equal(world.Options, loaded.Options);
        Assert.Equal(world.Info.Counts, loaded.Info.Counts);
        Assert.Equal(world.People, loaded.People);
        Assert.Equal(Json.Serialize(world.Bios), Json.Serialize(loaded.Bios));
        Assert.Equal(world.QaTrain, loaded.QaTrain);
        Assert.Equal(world.QaTestId, loaded.QaTestId);
        Assert.Equal(world.QaTestOod, loaded.QaTestOod);
        Assert.Equal(world.Tokenizer.Vocabulary, loaded.Tokenizer.Vocabulary);
        // Saving the loaded world gives the same bytes again.
        loaded.Save(tmp.Sub("again"));
        foreach (var f in Directory.GetFiles(tmp.Sub("w")))
            Assert.Equal(File.ReadAllBytes(f), File.ReadAllBytes(Path.Combine(tmp.Sub("again"), Path.GetFileName(f))));
    }

    [Fact]
    public void WorldJsonDescribesTheWorld()
    {
        using var tmp = new TempDir();
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Saved(tmp), "world.json")));
        var root = doc.RootElement;
        Assert.Equal(FactWorld.FormatVersion, root.GetProperty("format_version").GetInt32());
        Assert.Equal(11, root.GetProperty("seed").GetInt64());
        Assert.Equal(2, root.GetProperty("options").GetProperty("bio_variants").GetInt32());
        Assert.True(root.GetProperty("options").GetProperty("permute").GetBoolean());
        Assert.Equal(400, root.GetProperty("pool_sizes").GetProperty("first_names").GetInt32());
        Assert.Equal(400, root.GetProperty("counts").GetProperty("bios").GetInt32());
        Assert.Equal(Attributes.All, root.GetProperty("attribute_names").EnumerateArray().Select(e => e.GetString()));
        var people = root.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "people.jsonl");
        Assert.Contains("employer_city", people.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
    }

    [Fact]
    public void JsonlLinesAreFlatSnakeCaseObjects()
    {
        using var tmp = new TempDir();
        var dir = Saved(tmp);
        using var person = JsonDocument.Parse(File.ReadLines(Path.Combine(dir, "people.jsonl")).First());
        Assert.Equal(["id", "full_name", "first_name", "middle_name", "last_name", "pronoun", "split", "birth_date", "birth_day",
            "birth_month", "birth_year", "birth_city", "university", "major", "employer", "employer_city"],
            person.RootElement.EnumerateObject().Select(p => p.Name));
        using var qa = JsonDocument.Parse(File.ReadLines(Path.Combine(dir, "qa_train.jsonl")).First());
        Assert.Equal(["person_id", "attribute", "text", "prompt", "answer", "answer_start", "answer_end"],
            qa.RootElement.EnumerateObject().Select(p => p.Name));
        using var bio = JsonDocument.Parse(File.ReadLines(Path.Combine(dir, "bio.jsonl")).First());
        Assert.Equal(["person_id", "variant", "text", "order", "spans"], bio.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(["attribute", "start", "end"], bio.RootElement.GetProperty("spans")[0].EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain('\r', File.ReadAllText(Path.Combine(dir, "bio.jsonl")));
    }

    [Fact]
    public void SaveRefusesANonEmptyFolderUnlessForced()
    {
        using var tmp = new TempDir();
        var dir = tmp.Sub("w");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "keep.txt"), "x");
        var e = Assert.ThrowsAny<FactTraceException>(() => FactWorld.Generate(Options).Save(dir));
        Assert.Equal(FactTrace.IO.ErrorKind.Usage, e.Kind);
        Assert.True(File.Exists(Path.Combine(dir, "keep.txt")));
        FactWorld.Generate(Options).Save(dir, force: true);
        Assert.False(File.Exists(Path.Combine(dir, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(dir, "world.json")));
        Assert.Equal(["w"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName)); // no temp folders left
    }

    [Fact]
    public void MissingFileIsAnErrorNamingIt()
    {
        using var tmp = new TempDir();
        var dir = Saved(tmp);
        File.Delete(Path.Combine(dir, "qa_test_ood.jsonl"));
        var e = Assert.ThrowsAny<FactTraceException>(() => FactWorld.Load(dir));
        Assert.Contains("qa_test_ood.jsonl", e.Message);
        Assert.Contains("not found", e.Message);
        Assert.Contains("not found", Assert.ThrowsAny<FactTraceException>(() => FactWorld.Load(tmp.Sub("nothing"))).Message);
    }

    [Theory]
    [InlineData("bio.jsonl", 3, "{\"person_id\": 1, \"variant\": 0", "line 3")]                      // truncated JSON
    [InlineData("people.jsonl", 5, "{\"id\": 4}", "line 5")]                                        // missing fields
    [InlineData("qa_train.jsonl", 2, "", "line 2: empty line")]
    public void CorruptLineIsAnErrorNamingFileAndLine(string file, int line, string replacement, string expected)
    {
        using var tmp = new TempDir();
        var dir = Saved(tmp);
        var path = Path.Combine(dir, file);
        var lines = File.ReadAllLines(path);
        lines[line - 1] = replacement;
        File.WriteAllLines(path, lines);
        var e = Assert.ThrowsAny<FactTraceException>(() => FactWorld.Load(dir));
        Assert.Contains(file, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void ALineThatContradictsThePeopleIsAnError()
    {
        using var tmp = new TempDir();
        var dir = Saved(tmp);
        var path = Path.Combine(dir, "qa_test_ood.jsonl");
        var lines = File.ReadAllLines(path);
        var q = JsonSerializer.Deserialize<QaRecord>(lines[0], Json.Line)!;
        lines[0] = JsonSerializer.Serialize(q with { AnswerStart = q.AnswerStart + 1 }, Json.Line);
        File.WriteAllLines(path, lines);
        var e = Assert.ThrowsAny<FactTraceException>(() => FactWorld.Load(dir));
        Assert.Contains("qa_test_ood.jsonl line 1", e.Message);
    }

    [Fact]
    public void NewerFormatVersionIsRefused()
    {
        using var tmp = new TempDir();
        var dir = Saved(tmp);
        var path = Path.Combine(dir, "world.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace($"\"format_version\": {FactWorld.FormatVersion}", "\"format_version\": 99"));
        var e = Assert.ThrowsAny<FactTraceException>(() => FactWorld.Load(dir));
        Assert.Contains("format_version 99", e.Message);
        Assert.Contains("newer", e.Message);
    }

    [Fact]
    public void LineCountsMustMatchWorldJson()
    {
        using var tmp = new TempDir();
        var dir = Saved(tmp);
        var path = Path.Combine(dir, "bio.jsonl");
        File.WriteAllLines(path, File.ReadAllLines(path).SkipLast(1));
        Assert.Contains("bio.jsonl has 399 lines", Assert.ThrowsAny<FactTraceException>(() => FactWorld.Load(dir)).Message);
    }
}
