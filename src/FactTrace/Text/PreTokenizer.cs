using System.Text.RegularExpressions;

namespace FactTrace.Text;

/// <summary>
/// A piece of text the BPE model encodes on its own. <see cref="TextStart"/> is the index in the input of its first
/// character; with <see cref="VirtualPrefix"/> its first character is a space that is not in the input
/// (ByteLevel add_prefix_space), and character k >= 1 is input character TextStart + k - 1.
/// </summary>
internal readonly record struct Piece(string Text, int TextStart, bool VirtualPrefix)
{
    public int TextIndex(int k) => TextStart + k - (VirtualPrefix ? 1 : 0);
}

/// <summary>
/// The pre-tokenization chain of a byte-level tokenizer: regex splits with HF's "Isolated" behaviour (matches and the
/// gaps between them both become pieces) and the ByteLevel prefix space.
/// </summary>
internal sealed class PreTokenizer
{
    /// <summary>GPT-2's split pattern, used by HF's ByteLevel pre-tokenizer with use_regex (Pythia, GPT-2).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Llama 3's split pattern as written in its tokenizer.json and tiktoken code.</summary>
    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// .NET regexes see UTF-16 code units, so an emoji (a surrogate pair) before letters would not fit the one-character
    /// prefix [^\r\n\p{L}\p{N}]? as it does in the Rust/Oniguruma regexes of tiktoken and HF; a pair is allowed there.
    /// </summary>
    const string Llama3PatternNet =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|(?:[\uD800-\uDBFF][\uDC00-\uDFFF]|[^\r\n\p{L}\p{N}])?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    abstract record Step;
    sealed record RegexStep(Regex Regex) : Step;
    sealed record PrefixSpaceStep : Step;

    readonly List<Step> steps = new();

    public static Regex CompilePattern(string pattern) =>
        new(pattern == Llama3Pattern ? Llama3PatternNet : pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    public PreTokenizer AddSplit(Regex regex) { steps.Add(new RegexStep(regex)); return this; }

    /// <summary>HF's ByteLevel pre-tokenizer: optional prefix space on every piece, then the GPT-2 split.</summary>
    public PreTokenizer AddByteLevel(bool addPrefixSpace, bool useRegex)
    {
        if (addPrefixSpace) steps.Add(new PrefixSpaceStep());
        if (useRegex) steps.Add(new RegexStep(Gpt2Regex));
        return this;
    }

    static readonly Regex Gpt2Regex = CompilePattern(Gpt2Pattern);

    public List<Piece> Split(string text, int start, int end)
    {
        var pieces = new List<Piece> { new(text[start..end], start, false) };
        foreach (var step in steps)
        {
            var next = new List<Piece>(pieces.Count * 4);
            foreach (var p in pieces)
            {
                switch (step)
                {
                    case PrefixSpaceStep:
                        next.Add(p.Text.StartsWith(' ') || p.VirtualPrefix ? p : new Piece(" " + p.Text, p.TextStart, true));
                        break;
                    case RegexStep r:
                        var cursor = 0;
                        foreach (var m in r.Regex.EnumerateMatches(p.Text))
                        {
                            if (m.Length == 0) continue;
                            if (m.Index > cursor) next.Add(Sub(p, cursor, m.Index));
                            next.Add(Sub(p, m.Index, m.Index + m.Length));
                            cursor = m.Index + m.Length;
                        }
                        if (cursor < p.Text.Length) next.Add(Sub(p, cursor, p.Text.Length));
                        break;
                }
            }
            pieces = next;
        }
        return pieces;
    }

    static Piece Sub(Piece p, int a, int b) =>
        p.VirtualPrefix && a == 0 ? new Piece(p.Text[..b], p.TextStart, true) : new Piece(p.Text[a..b], p.TextIndex(a), false);
}
