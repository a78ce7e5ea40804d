using System.Text;
using FactTrace.IO;
using FactTrace.Text;
using static FactTrace.Tests.Text.TokenizerFixtures;

namespace FactTrace.Tests.Text;

public class TokenizerLoaderTests
{
    [Fact]
    public void PicksByFileAndModelType()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("original"));
        File.WriteAllText(dir.File("original/tokenizer.model"), TiktokenFile());
        Assert.IsType<Llama3Tokenizer>(TokenizerLoader.Load(dir.Path));          // only Meta's file

        File.WriteAllText(dir.File("tokenizer.json"), Llama3Json());
        var json = TokenizerLoader.Load(dir.Path);                               // tokenizer.json first, as HF
        Assert.IsType<ByteLevelBpeTokenizer>(json);
        Assert.Equal(TtRanks, json.BosId);

        File.WriteAllText(dir.File("tokenizer.json"), PythiaStyleJson());
        Assert.IsType<ByteLevelBpeTokenizer>(TokenizerLoader.Load(dir.File("tokenizer.json")));
        Assert.IsType<Llama3Tokenizer>(TokenizerLoader.Load(dir.File("original/tokenizer.model")));
    }

    const string WordLevelJson = """
        {"version": "1.0", "added_tokens": [], "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1}, "unk_token": "[UNK]"}}
        """;

    [Fact]
    public void WordLevelGoesToTheWorldTokenizerOrTheGivenLoader()
    {
        using var dir = new TempDir();
        var world = FactTrace.World.FactWorld.Generate(new FactTrace.World.WorldOptions(People: 4));
        world.Tokenizer.Save(dir.Path);
        var loaded = Assert.IsType<WordLevelTokenizer>(TokenizerLoader.Load(dir.Path));
        Assert.Equal(world.Tokenizer.VocabSize, loaded.VocabSize);

        File.WriteAllText(dir.File("tokenizer.json"), WordLevelJson);

        string? seen = null;
        var fake = new FakeTokenizer();
        Assert.Same(fake, TokenizerLoader.Load(dir.Path, p => { seen = p; return fake; }));
        Assert.Equal(dir.File("tokenizer.json"), seen);
    }

    [Fact]
    public void UnsupportedTypesNameTheFileAndTheType()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("tokenizer.json"), """{"model": {"type": "Unigram", "vocab": []}}""");
        var e = Assert.ThrowsAny<FactTraceException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains(dir.File("tokenizer.json"), e.Message);
        Assert.Contains("Unigram", e.Message);

        File.Delete(dir.File("tokenizer.json"));
        File.WriteAllBytes(dir.File("tokenizer.model"), [0x0A, 0x0B, 0x0A, 0x05, 0x3C, 0x75, 0x6E, 0x6B, 0x3E, 0x15, 0x00]);
        e = Assert.ThrowsAny<FactTraceException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("tokenizer.model", e.Message);
        Assert.Contains("SentencePiece", e.Message);
    }

    [Fact]
    public void MissingPathsAreErrors()
    {
        using var dir = new TempDir();
        var e = Assert.ThrowsAny<FactTraceException>(() => TokenizerLoader.Load(dir.File("nope")));
        Assert.Equal(FactTrace.IO.ErrorKind.Usage, e.Kind);
        e = Assert.ThrowsAny<FactTraceException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("no tokenizer", e.Message);
        File.WriteAllText(dir.File("tokenizer.json"), "{ not json");
        e = Assert.ThrowsAny<FactTraceException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("not valid JSON", e.Message);
    }

    sealed class FakeTokenizer : ITokenizer
    {
        public int VocabSize => 2;
        public int? BosId => null;
        public int EosId => 0;
        public int PadId => 0;
        public IReadOnlyList<int> Encode(string text) => [];
        public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text) => [];
        public string Decode(IEnumerable<int> ids) => "";
        public void Save(string folder) { }
    }
}
