using System.IO.Compression;
using System.Text.Json;
using FactTrace.Tests.Models;
using FactTrace.Text;
using Xunit.Abstractions;

namespace FactTrace.Tests.Text;

/// <summary>
/// Parity with Hugging Face's Rust `tokenizers` on the three real tokenizer files (stories260K's SentencePiece BPE,
/// GPT-NeoX-20B's byte-level BPE, Llama 3's): the same ids for every text of parity/texts.jsonl.gz (world BIO and QA
/// texts, digits, spaces, punctuation, unicode, emoji, control characters, special-looking strings). The reference ids
/// were produced by tools/tokenizer-parity/make-fixtures.sh (HF tokenizers 0.6.0 of @anush008/tokenizers, under Node).
/// </summary>
public class TokenizerParityTests(ITestOutputHelper output)
{
    static string Shared() => Path.GetDirectoryName(ModelTestKit.GoldenRoot() ?? throw new InvalidOperationException("no shared/ folder found"))!;

    static List<string> Lines(string gz)
    {
        using var f = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Text", "parity", gz));
        using var z = new GZipStream(f, CompressionMode.Decompress);
        using var r = new StreamReader(z);
        var lines = new List<string>();
        while (r.ReadLine() is { } l) if (l.Length > 0) lines.Add(l);
        return lines;
    }

    [Theory]
    [InlineData("stories260K", "pretrained/stories260K/tokenizer.json", typeof(SentencePieceBpeTokenizer))]
    [InlineData("gpt-neox-20b", "tokenizers/gpt-neox-20b/tokenizer.json", typeof(ByteLevelBpeTokenizer))]
    [InlineData("llama-3", "tokenizers/llama-3/tokenizer.json", typeof(ByteLevelBpeTokenizer))]
    public void IdsEqualHuggingFaceTokenizersOnTheRealFile(string name, string file, Type kind)
    {
        var texts = Lines("texts.jsonl.gz").Select(l => JsonSerializer.Deserialize<string>(l)!).ToList();
        var expected = Lines($"{name}.ids.jsonl.gz").Select(l => JsonSerializer.Deserialize<int[]>(l)!).ToList();
        Assert.True(texts.Count >= 2000, $"{texts.Count} texts");
        Assert.Equal(texts.Count, expected.Count);
        var tok = TokenizerLoader.Load(Path.Combine(Shared(), file));
        Assert.IsType(kind, tok);
        var wrong = new List<string>();
        for (var i = 0; i < texts.Count; i++)
        {
            var ids = tok.Encode(texts[i]);
            if (!ids.SequenceEqual(expected[i]))
                wrong.Add($"{JsonSerializer.Serialize(texts[i])}: ours [{string.Join(",", ids)}], HF [{string.Join(",", expected[i])}]");
        }
        output.WriteLine($"{name}: {texts.Count - wrong.Count} of {texts.Count} texts identical");
        // The one known difference: GPT-NeoX's NFC normalizer is the identity here (the process runs with invariant
        // globalization, which has no Unicode normalization), so decomposed text (a combining mark after its letter,
        // "a\u0301") differs from HF, which composes it first. Only such texts may differ, and the set holds one.
        var known = name == "gpt-neox-20b" ? texts.Where(HasCombiningMark).Select(t => JsonSerializer.Serialize(t)).ToHashSet() : [];
        var unexpected = wrong.Where(w => !known.Any(k => w.StartsWith(k + ":", StringComparison.Ordinal))).ToList();
        Assert.True(unexpected.Count == 0, $"{unexpected.Count} of {texts.Count} differ, e.g.\n{string.Join("\n", unexpected.Take(8))}");
        Assert.True(wrong.Count <= known.Count);
    }

    static bool HasCombiningMark(string s) => s.Any(c => char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.NonSpacingMark);

    [Fact]
    public void TheSentencePieceTokenizerDecodesWhatItEncodes()
    {
        var tok = TokenizerLoader.Load(Path.Combine(Shared(), "pretrained/stories260K"));
        foreach (var t in new[] { "Once upon a time, there was a little girl named Lily.", "  two  spaces", "日本 😀 café" })
            Assert.Equal(t, tok.Decode(tok.Encode(t)));
        // The text after an added token is normalized on its own, so it gains a "▁": HF decodes it as "x<s> y" too.
        Assert.Equal([410, 444, 1, 348], tok.Encode("x<s>y"));
        Assert.Equal("x<s> y", tok.Decode(tok.Encode("x<s>y")));
        Assert.Equal((1, 2, 512), (tok.BosId, tok.EosId, tok.VocabSize));
        // Offsets: source spans; the prepended "▁" belongs to no character.
        var spans = tok.EncodeWithOffsets("Lily ran");
        Assert.Equal("Lily ran", string.Concat(spans.Select(s => "Lily ran"[s.Start..s.End])));
        Assert.Equal(0, spans[0].Start);
    }
}
