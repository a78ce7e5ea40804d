using System.Text;
using FactTrace.IO;
using FactTrace.Text;
using static FactTrace.Tests.Text.TokenizerFixtures;

namespace FactTrace.Tests.Text;

public class ByteLevelBpeTokenizerTests
{
    static ByteLevelBpeTokenizer Pythia(bool extras = true) =>
        ByteLevelBpeTokenizer.Parse(Encoding.UTF8.GetBytes(PythiaStyleJson(extras)), "test tokenizer.json");

    public static TheoryData<string, int[]> Cases => new()
    {
        { "", [] },
        { "the cat", [Bpe('t'), 259, Bpe(' '), 265, Bpe('t')] },     // "he" merges; " cat" -> Ġ ca t
        { " the", [260] },                                           // Ġ t -> Ġt, h e -> he, Ġt he -> Ġthe
        { "café", [267] },                                           // é is Ã© in byte-level; merges up to cafÃ©
        { "12345", [263, Bpe('4'), Bpe('5')] },                      // GPT-2 regex keeps digit runs whole
        { " 12", [Bpe(' '), 262] },
        { "Hi!!!", [Bpe('H'), Bpe('i'), 270, Bpe('!')] },            // leftmost !! first
        { "it's", [Bpe('i'), Bpe('t'), 269] },                       // contraction is its own piece
        { "a  b", [Bpe('a'), DoubleSpaceId, Bpe('b')] },             // non-special added token "  " (NeoX-style)
        { "a   b", [Bpe('a'), DoubleSpaceId, Bpe(' '), Bpe('b')] },  // leftmost match, then " b" (no Ġb merge)
        { "😀", [268, BpeByte(0x98), BpeByte(0x80)] },               // F0 9F merged, 98 and 80 single bytes
        { "x😀y", [Bpe('x'), 268, BpeByte(0x98), BpeByte(0x80), Bpe('y')] },
        { "日本", [BpeByte(0xE6), BpeByte(0x97), BpeByte(0xA5), BpeByte(0xE6), BpeByte(0x9C), BpeByte(0xAC)] },
        { "\n\nThe", [Bpe('\n'), Bpe('\n'), Bpe('T'), 259] },       // \s+(?!\S) splits the newlines, ĊĊ cannot merge
        { "\n\n", [271] },
        { "<|endoftext|>the", [0, Bpe('t'), 259] },
        { "Hello<|padding|>", [Bpe('H'), Bpe('e'), Bpe('l'), Bpe('l'), Bpe('o'), 1] },
        { "a <sep> b", [Bpe('a'), SepId, Bpe('b')] },                // lstrip + rstrip swallow the spaces
        { "a zz b", [Bpe('a'), Bpe(' '), ZzId, Bpe(' '), Bpe('b')] },
        { "azz", [Bpe('a'), Bpe('z'), Bpe('z')] },                   // single_word: no match inside a word
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodesExactIds(string text, int[] expected)
    {
        var tok = Pythia();
        Assert.Equal(expected, tok.Encode(text));
        Assert.Equal(expected, tok.EncodeWithOffsets(text).Select(s => s.Id));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeRoundTrips(string text, int[] _)
    {
        var tok = Pythia();
        var expected = text == "a <sep> b" ? "a<sep>b" : text; // lstrip/rstrip swallow whitespace, as in HF
        Assert.Equal(expected, tok.Decode(tok.Encode(text)));
    }

    public static TheoryData<string, (int, int)[]> OffsetCases => new()
    {
        { "the cat", [(0, 1), (1, 3), (3, 4), (4, 6), (6, 7)] },
        { " the", [(0, 4)] },
        { "café", [(0, 4)] },
        { "12345", [(0, 3), (3, 4), (4, 5)] },
        { "a   b", [(0, 1), (1, 3), (3, 4), (4, 5)] },
        { "x😀y", [(0, 1), (1, 3), (1, 3), (1, 3), (3, 4)] },        // byte tokens of the emoji share its 2 chars
        { "日本", [(0, 1), (0, 1), (0, 1), (1, 2), (1, 2), (1, 2)] },
        { "<|endoftext|>the", [(0, 13), (13, 14), (14, 16)] },
        { "a <sep> b", [(0, 1), (1, 8), (8, 9)] },
        { "\n\nThe", [(0, 1), (1, 2), (2, 3), (3, 5)] },
    };

    [Theory]
    [MemberData(nameof(OffsetCases))]
    public void OffsetsAreCharacterSpans(string text, (int, int)[] expected)
    {
        var spans = Pythia().EncodeWithOffsets(text);
        Assert.Equal(expected, spans.Select(s => (s.Start, s.End)));
    }

    [Fact]
    public void SpecialIdsAndVocab()
    {
        var tok = Pythia();
        Assert.Null(tok.BosId);          // no BOS template in Pythia's post-processor
        Assert.Equal(0, tok.EosId);      // <|endoftext|>
        Assert.Equal(1, tok.PadId);      // <|padding|>
        Assert.Equal(275, tok.VocabSize);
        Assert.Equal(0, tok.AddedTokenId("<|endoftext|>"));
    }

    [Fact]
    public void DecodeOfPartialCharacterAndUnknownIds()
    {
        var tok = Pythia();
        Assert.Equal("\uFFFD", tok.Decode([268]));                    // F0 9F alone is not UTF-8
        Assert.Equal("a", tok.Decode([Bpe('a'), 99_999]));            // ids without a token decode to nothing
        Assert.Equal("<|endoftext|>x", tok.Decode([0, Bpe('x')]));    // special tokens are kept as text
    }

    [Fact]
    public void LoneSurrogateIsEncodedAsReplacementCharacter()
    {
        var tok = Pythia();
        var spans = tok.EncodeWithOffsets("a\uD800b");
        Assert.Equal(tok.Encode("a\uFFFDb"), spans.Select(s => s.Id));
        Assert.Equal((1, 2), (spans[1].Start, spans[3].End));
    }

    [Fact]
    public void MatchesTextbookBpeOnRandomText()
    {
        var tok = Pythia(extras: false);
        var vocab = new Dictionary<string, int> { ["<|endoftext|>"] = 0, ["<|padding|>"] = 1 };
        for (var b = 0; b < 256; b++) vocab[ByteChar(b).ToString()] = 2 + b;
        foreach (var m in BpeMerges) vocab[m.Replace(" ", "")] = vocab.Count;
        foreach (var text in RandomTexts(400, seed: 7))
        {
            Assert.Equal(ReferenceBpe(text, Gpt2Regex, BpeMerges, vocab), tok.Encode(text));
            Assert.Equal(text, tok.Decode(tok.Encode(text)));
            SpansCover(text, tok.EncodeWithOffsets(text));
        }
    }

    /// <summary>Spans start at 0, end at the text's end, and each starts where the previous ended or repeats it
    /// (byte tokens of one character).</summary>
    internal static void SpansCover(string text, IReadOnlyList<TokenSpan> spans)
    {
        if (text.Length == 0) { Assert.Empty(spans); return; }
        Assert.Equal(0, spans[0].Start);
        Assert.Equal(text.Length, spans[^1].End);
        for (var i = 1; i < spans.Count; i++)
            Assert.True(spans[i].Start == spans[i - 1].End || (spans[i].Start, spans[i].End) == (spans[i - 1].Start, spans[i - 1].End),
                $"span {i} {spans[i]} after {spans[i - 1]} in \"{text}\"");
    }

    [Fact]
    public void PrefixSpaceIsVirtual()
    {
        var json = PythiaStyleJson(false).Replace("\"add_prefix_space\": false", "\"add_prefix_space\": true");
        var tok = ByteLevelBpeTokenizer.Parse(Encoding.UTF8.GetBytes(json));
        Assert.Equal([260], tok.Encode("the"));                       // " the" after the prefix space
        Assert.Equal([(0, 3)], tok.EncodeWithOffsets("the").Select(s => (s.Start, s.End)));
        Assert.Equal([260, 0, 260], tok.Encode("the<|endoftext|>the")); // every segment gets its own prefix, as in HF
        Assert.Equal([Bpe(' '), Bpe('\n')], tok.Encode("\n"));
        Assert.Equal([(0, 0), (0, 1)], tok.EncodeWithOffsets("\n").Select(s => (s.Start, s.End)));
    }

    [Fact]
    public void SaveWritesTheFileVerbatimAndReloads()
    {
        using var dir = new TempDir();
        var src = dir.File("src");
        Directory.CreateDirectory(src);
        var path = Path.Combine(src, "tokenizer.json");
        File.WriteAllText(path, PythiaStyleJson());
        File.WriteAllText(Path.Combine(src, "tokenizer_config.json"), """{"eos_token": "<|padding|>"}""");
        var tok = ByteLevelBpeTokenizer.Load(path);
        Assert.Equal(1, tok.EosId); // tokenizer_config.json's eos_token wins
        var outDir = dir.File("out");
        tok.Save(outDir);
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(Path.Combine(outDir, "tokenizer.json")));
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer_config.json")));
        var again = TokenizerLoader.Load(outDir);
        Assert.IsType<ByteLevelBpeTokenizer>(again);
        Assert.Equal(tok.Encode("the café 12345 😀"), again.Encode("the café 12345 😀"));
    }

    [Theory]
    [InlineData("\"merges\": [", "\"merges\": [\"q Q\",", "merges[0]")]
    [InlineData("\"type\": \"ByteLevel\",\n    \"add_prefix_space\": false,\n    \"trim_offsets\": true,\n    \"use_regex\": true\n  },\n  \"post_processor\"",
        "\"type\": \"Metaspace\"\n  },\n  \"post_processor\"", "Metaspace")]
    [InlineData("\"type\": \"NFC\"", "\"type\": \"Lowercase\"", "Lowercase")]
    [InlineData("\"dropout\": null", "\"dropout\": 0.1", "dropout")]
    public void BadFilesAreOneLineErrors(string find, string replace, string expected)
    {
        var json = PythiaStyleJson();
        Assert.Contains(find, json);
        var e = Assert.ThrowsAny<FactTraceException>(() =>
            ByteLevelBpeTokenizer.Parse(Encoding.UTF8.GetBytes(json.Replace(find, replace)), "x/tokenizer.json"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("x/tokenizer.json", e.Message);
    }

    [Fact]
    public void MissingByteTokenIsAnError()
    {
        var json = PythiaStyleJson().Replace("\"q\": 115,", "");
        var e = Assert.ThrowsAny<FactTraceException>(() => ByteLevelBpeTokenizer.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Contains("0x71", e.Message);
    }
}
