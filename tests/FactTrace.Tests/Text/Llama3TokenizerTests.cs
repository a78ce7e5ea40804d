using System.Text;
using FactTrace.IO;
using FactTrace.Text;
using static FactTrace.Tests.Text.TokenizerFixtures;

namespace FactTrace.Tests.Text;

public class Llama3TokenizerTests
{
    static Llama3Tokenizer Tiktoken() => Llama3Tokenizer.Parse(Encoding.ASCII.GetBytes(TiktokenFile()), "test tokenizer.model");
    static ByteLevelBpeTokenizer HfJson() => ByteLevelBpeTokenizer.Parse(Encoding.UTF8.GetBytes(Llama3Json()), "test tokenizer.json");

    const int Bos = TtRanks, Eos = TtRanks + 1;

    public static TheoryData<string, int[]> Cases => new()
    {
        { "", [] },
        { "12345", [Tt123, Rank('4'), Rank('5')] },                      // digits in groups of at most 3
        { " the cat", [TtThe, TtCat] },                                   // " cat" is a token though no merge reaches it
        { "cats", [Rank('c'), Rank('a'), Rank('t'), Rank('s')] },
        { "it's", [Rank('i'), Rank('t'), TtS] },
        { "IT'S", [Rank('I'), Rank('T'), Rank('\''), Rank('S')] },        // contractions match case-insensitively
        { "x😀y", [Rank('x'), TtEmoji, RankByte(0x98), RankByte(0x80), Rank('y')] }, // emoji joins the letters after it
        { "  \n", [TtSS, Rank('\n')] },
        { "\n\n\nHi", [TtNN, Rank('\n'), Rank('H'), Rank('i')] },
        { "a  b", [Rank('a'), Rank(' '), Rank(' '), Rank('b')] },
        { "  ", [TtSS] },
        { "café", [Rank('c'), Rank('a'), Rank('f'), TtE] },
        { "the 2024!!", [Rank('t'), 257, Rank(' '), Rank('2'), Rank('0'), Rank('2'), Rank('4'), TtBang] },
        { "<|begin_of_text|>Hi<|end_of_text|>", [Bos, Rank('H'), Rank('i'), Eos] },
        { "<|eot_id|><|reserved_special_token_3|>", [TtRanks + 9, TtRanks + 11] },
        { "<|reserved_special_token_247|>", [TtRanks + 255] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void TiktokenFileEncodesExactIds(string text, int[] expected)
    {
        var tok = Tiktoken();
        Assert.Equal(expected, tok.Encode(text));
        Assert.Equal(text, tok.Decode(expected));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void TokenizerJsonEncodesTheSameIds(string text, int[] expected) => Assert.Equal(expected, HfJson().Encode(text));

    [Fact]
    public void OffsetsAreCharacterSpans()
    {
        var tok = Tiktoken();
        Assert.Equal([(0, 1), (1, 3), (1, 3), (1, 3), (3, 4)], tok.EncodeWithOffsets("x😀y").Select(s => (s.Start, s.End)));
        Assert.Equal([(0, 4), (4, 8)], tok.EncodeWithOffsets(" the cat").Select(s => (s.Start, s.End)));
        Assert.Equal([(0, 1), (1, 2), (2, 3), (3, 4)], tok.EncodeWithOffsets("café").Select(s => (s.Start, s.End)));
        Assert.Equal([(0, 17), (17, 18), (18, 19), (19, 34)],
            tok.EncodeWithOffsets("<|begin_of_text|>Hi<|end_of_text|>").Select(s => (s.Start, s.End)));
    }

    [Fact]
    public void SpecialIdsFollowTheRanks()
    {
        var tok = Tiktoken();
        Assert.Equal(TtRanks, tok.NumRanks);
        Assert.Equal(TtRanks + 256, tok.VocabSize);
        Assert.Equal(Bos, tok.BosId);
        Assert.Equal(Eos, tok.EosId);
        Assert.Equal(Eos, tok.PadId);
        Assert.Equal(TtRanks + 9, tok.EotId);
        Assert.Equal(Llama3Specials, Llama3Tokenizer.SpecialTokenNames);
        Assert.Equal(128000, Llama3Tokenizer.SpecialTokenNames.ToList().IndexOf("<|begin_of_text|>") + 128000);

        var json = HfJson();
        Assert.Equal((tok.VocabSize, tok.BosId, tok.EosId, tok.PadId), (json.VocabSize, json.BosId, json.EosId, json.PadId));
    }

    [Fact]
    public void MatchesTextbookTiktokenAndTheTokenizerJsonOnRandomText()
    {
        var tok = Tiktoken();
        var json = HfJson();
        var ranks = TiktokenRanks();
        foreach (var text in RandomTexts(400, seed: 11))
        {
            var ids = tok.Encode(text);
            Assert.Equal(ReferenceTiktoken(text, NetLlama3Regex, ranks), ids);
            Assert.Equal(ids, json.Encode(text));
            Assert.Equal(text, tok.Decode(ids));
            var spans = tok.EncodeWithOffsets(text);
            Assert.Equal(spans, json.EncodeWithOffsets(text));
            ByteLevelBpeTokenizerTests.SpansCover(text, spans);
        }
    }

    /// <summary>The reference split needs the surrogate-pair form too (.NET regexes see UTF-16 units).</summary>
    const string NetLlama3Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\r\n\p{L}\p{N}])?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [Fact]
    public void SaveWritesOriginalTokenizerModelAndReloads()
    {
        using var dir = new TempDir();
        var tok = Tiktoken();
        tok.Save(dir.Path);
        var file = Path.Combine(dir.Path, "original", "tokenizer.model");
        Assert.Equal(TiktokenFile(), File.ReadAllText(file));
        var again = TokenizerLoader.Load(dir.Path);
        Assert.IsType<Llama3Tokenizer>(again);
        Assert.Equal(tok.Encode("x😀y the 12345"), again.Encode("x😀y the 12345"));
    }

    [Theory]
    [InlineData("IQ== 0\nnot base64! 1\n", "line 2")]
    [InlineData("IQ== 0\nIg== 2\n", "rank 1 is missing")]
    [InlineData("IQ== 0\nIg== 0\n", "twice")]
    [InlineData("IQ== 0\n", "single byte")]
    public void BadFilesAreOneLineErrors(string content, string expected)
    {
        var e = Assert.ThrowsAny<FactTraceException>(() => Llama3Tokenizer.Parse(Encoding.ASCII.GetBytes(content), "t.model"));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith("t.model", e.Message);
    }
}
