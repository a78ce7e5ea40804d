using System.Text.Json;
using FactTrace.IO;
using FactTrace.Text;
using FactTrace.World;

namespace FactTrace.Tests.World;

public class WordLevelTokenizerTests
{
    static readonly Lazy<FactWorld> World = new(() =>
        FactWorld.Generate(new WorldOptions(People: 1000, Seed: 21, BioVariants: 2, Permute: true)));

    // Expected pieces from Hugging Face tokenizers 0.23.2 (Rust) running the pre-tokenizer our tokenizer.json declares.
    [Theory]
    [InlineData("What is the birth city of Anya Briar Forger? Answer: Princeton, NJ.",
        "▁What|▁is|▁the|▁birth|▁city|▁of|▁Anya|▁Briar|▁Forger|?|▁Answer|:|▁Princeton|,|▁NJ|.")]
    [InlineData("Anya Briar Forger's birthday", "▁Anya|▁Briar|▁Forger|'|s|▁birthday")]
    [InlineData("(a", "▁|(|a")]
    [InlineData(" (a", "▁|(|a")]
    [InlineData("a  b", "▁a|▁|▁b")]
    [InlineData("a ", "▁a|▁")]
    [InlineData("..", "▁|.|.")]
    [InlineData("", "")]
    [InlineData("$5 + 3=8 ~x", "▁|$|5|▁|+|▁3|=|8|▁|~|x")]
    [InlineData("don't-stop_now", "▁don|'|t|-|stop|_|now")]
    [InlineData("Winston Salem, NC.", "▁Winston|▁Salem|,|▁NC|.")]
    [InlineData("Hello\tworld\nnew", "▁Hello\tworld\nnew")]
    [InlineData("«quoted» — dash", "▁|«|quoted|»|▁|—|▁dash")]
    [InlineData("x▁y", "▁x|▁y")]
    public void PreTokenizerMatchesHuggingFace(string text, string expected)
    {
        Assert.Equal(expected.Length == 0 ? [] : expected.Split('|'), WordPreTokenizer.Tokens(text));
    }

    [Fact]
    public void EveryTextOfAWorldRoundTripsWithoutUnknownWords()
    {
        var w = World.Value;
        var tok = w.Tokenizer;
        foreach (var text in w.Texts)
        {
            var ids = tok.Encode(text);
            Assert.DoesNotContain(tok.UnkId, ids);
            Assert.Equal(text, tok.Decode(ids));
            // Special tokens around a text do not change its decoding.
            Assert.Equal(text, tok.Decode([tok.BosId!.Value, .. ids, tok.EosId, tok.PadId]));
        }
    }

    [Fact]
    public void OffsetsLocateEveryTokenAndAnswersAlignWithTokens()
    {
        var w = World.Value;
        var tok = w.Tokenizer;
        foreach (var q in w.QaTrain.Concat(w.QaTestOod))
        {
            var spans = tok.EncodeWithOffsets(q.Text);
            foreach (var s in spans) Assert.Equal(tok.TokenOf(s.Id).TrimStart(WordPreTokenizer.Marker), q.Text[s.Start..s.End]);
            // The answer is exactly a run of whole tokens, and the prompt the tokens before it.
            var answer = spans.Where(s => s.Start >= q.AnswerStart && s.End <= q.AnswerEnd).ToList();
            Assert.Equal(q.AnswerStart, answer[0].Start);
            Assert.Equal(q.AnswerEnd, answer[^1].End);
            Assert.Equal(q.Answer, tok.Decode(answer.Select(s => s.Id)));
            Assert.Equal(tok.Encode(q.Prompt), spans.TakeWhile(s => s.End <= q.Prompt.Length).Select(s => s.Id));
        }
        foreach (var b in w.Bios.Take(200))
        {
            var spans = tok.EncodeWithOffsets(b.Text);
            foreach (var v in b.Spans)
            {
                Assert.Contains(spans, s => s.Start == v.Start);
                Assert.Contains(spans, s => s.End == v.End);
            }
        }
    }

    [Fact]
    public void SpecialsComeFirstAndTheRestIsSortedAndUnique()
    {
        var tok = World.Value.Tokenizer;
        Assert.Equal((0, 1, 2, 3), (tok.PadId, tok.BosId!.Value, tok.EosId, tok.UnkId));
        Assert.Equal(["[PAD]", "[BOS]", "[EOS]", "[UNK]"], tok.Vocabulary.Take(4));
        var words = tok.Vocabulary.Skip(4).ToList();
        Assert.Equal(words.Order(StringComparer.Ordinal), words);
        Assert.Equal(words.Count, words.Distinct().Count());
        // Deterministic: the same texts in another order give the same vocabulary.
        Assert.Equal(tok.Vocabulary, WordLevelTokenizer.Build(World.Value.Texts.Reverse()).Vocabulary);
    }

    [Fact]
    public void UnknownWordsBecomeUnk()
    {
        var tok = WordLevelTokenizer.Build(["He was born in Princeton, NJ."]);
        var ids = tok.Encode("She was born in Trenton, NJ.");
        Assert.Equal(tok.UnkId, ids[0]);
        Assert.Equal(tok.UnkId, ids[4]);
        Assert.Equal(tok.IdOf("▁NJ"), ids[6]);
        Assert.Equal("[UNK] was born in[UNK], NJ.", tok.Decode(ids));
    }

    [Fact]
    public void SaveAndLoadRoundTripTheTokenizerJson()
    {
        using var tmp = new TempDir();
        var tok = World.Value.Tokenizer;
        tok.Save(tmp.Path);
        var loaded = WordLevelTokenizer.Load(Path.Combine(tmp.Path, "tokenizer.json"));
        Assert.Equal(tok.Vocabulary, loaded.Vocabulary);
        foreach (var text in World.Value.Texts.Take(500)) Assert.Equal(tok.EncodeWithOffsets(text), loaded.EncodeWithOffsets(text));
        Assert.Equal(tok.ToJson(), loaded.ToJson());
        Assert.Equal(tok.VocabSize, WordLevelTokenizer.Load(tmp.Path).VocabSize); // a folder works too

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(tmp.Path, "tokenizer.json")));
        var root = doc.RootElement;
        Assert.Equal("WordLevel", root.GetProperty("model").GetProperty("type").GetString());
        Assert.Equal("[UNK]", root.GetProperty("model").GetProperty("unk_token").GetString());
        Assert.Equal(["Metaspace", "Punctuation"],
            root.GetProperty("pre_tokenizer").GetProperty("pretokenizers").EnumerateArray().Select(p => p.GetProperty("type").GetString()));
        Assert.Equal("Metaspace", root.GetProperty("decoder").GetProperty("type").GetString());
        Assert.Equal(4, root.GetProperty("added_tokens").GetArrayLength());
        Assert.True(File.Exists(Path.Combine(tmp.Path, "tokenizer_config.json")));
    }

    [Fact]
    public void LoadRejectsOtherTokenizersWithOneLineErrors()
    {
        using var tmp = new TempDir();
        var path = Path.Combine(tmp.Path, "tokenizer.json");
        Assert.Contains("not found", Assert.ThrowsAny<FactTraceException>(() => WordLevelTokenizer.Load(path)).Message);

        var json = World.Value.Tokenizer.ToJson();
        File.WriteAllText(path, json.Replace("\"type\": \"WordLevel\"", "\"type\": \"BPE\""));
        Assert.Contains("not WordLevel", Assert.ThrowsAny<FactTraceException>(() => WordLevelTokenizer.Load(path)).Message);

        File.WriteAllText(path, json.Replace("\"behavior\": \"Isolated\"", "\"behavior\": \"Removed\""));
        Assert.Contains("pre_tokenizer", Assert.ThrowsAny<FactTraceException>(() => WordLevelTokenizer.Load(path)).Message);

        File.WriteAllText(path, json.Replace("\"[PAD]\": 0,", "\"[PAD]\": 7,"));
        Assert.Contains(path, Assert.ThrowsAny<FactTraceException>(() => WordLevelTokenizer.Load(path)).Message);

        File.WriteAllText(path, json[..(json.Length / 2)]);
        Assert.Contains("not valid JSON", Assert.ThrowsAny<FactTraceException>(() => WordLevelTokenizer.Load(path)).Message);
    }
}
