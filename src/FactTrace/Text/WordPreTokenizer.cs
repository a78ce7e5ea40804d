using System.Buffers;

namespace FactTrace.Text;

/// <summary>
/// A word piece of a text: characters [Start, End) of the original text, where a leading space stands for the marker
/// "▁"; <see cref="Prepended"/> means a "▁" was put in front (the first word of a text).
/// </summary>
public readonly record struct WordPiece(int Start, int End, bool Prepended)
{
    /// <summary>Length of the piece as a token (with its marker).</summary>
    public int TokenLength => End - Start + (Prepended ? 1 : 0);
}

/// <summary>
/// Splits text into word pieces exactly as this Hugging Face pre-tokenizer does (it is what tokenizer.json declares):
/// <c>Sequence[Metaspace(replacement "▁", prepend_scheme "always", split true), Punctuation("Isolated")]</c>.
/// Spaces become "▁" and start a new word ("▁born", "▁on"); the first word gets one too; each punctuation character
/// is a piece of its own ("▁NJ", "."; "▁1996", ","). Because the space lives in the token, decoding is plain
/// concatenation with "▁" turned back into a space, so every text that does not start with a space round-trips exactly.
/// Works on the original text without copying it (a world has millions of pieces). Texts are expected to be in the
/// Basic Multilingual Plane (ours are ASCII): a surrogate pair is never punctuation here.
/// </summary>
public static class WordPreTokenizer
{
    public const char Marker = '\u2581';

    // The scans below are the BCL's vectorized IndexOfAny: a world has tens of millions of characters to split.
    static readonly SearchValues<char> Markers = SearchValues.Create([' ', Marker]);
    static readonly SearchValues<char> Punctuation = SearchValues.Create(AllPunctuation());

    /// <summary>Appends the pieces of <paramref name="text"/> to <paramref name="pieces"/>.</summary>
    public static void Split(ReadOnlySpan<char> text, List<WordPiece> pieces)
    {
        var i = 0;
        while (i < text.Length)
        {
            // Metaspace (MergedWithNext): a marker starts a word that runs to the next marker. HF prepends one to a
            // text that does not start with a space, so the first word always has a marker too.
            var prepended = i == 0 && !IsMarker(text[0]);
            var content = prepended ? i : i + 1;
            var next = text[content..].IndexOfAny(Markers);
            var end = next < 0 ? text.Length : content + next;
            // Punctuation (Isolated): every punctuation character is its own piece; the marker stays with what precedes it.
            var start = i;
            var first = true;
            for (var j = content; ; j++)
            {
                var k = text[j..end].IndexOfAny(Punctuation);
                if (k < 0) break;
                j += k;
                if (j > start || (first && prepended)) pieces.Add(new WordPiece(start, j, first && prepended));
                pieces.Add(new WordPiece(j, j + 1, false));
                start = j + 1;
                first = false;
            }
            if (start < end) pieces.Add(new WordPiece(start, end, first && prepended));
            i = end;
        }
    }

    /// <summary>Writes the token text of a piece ("▁" for its space or prepended marker) into <paramref name="dst"/>.</summary>
    public static ReadOnlySpan<char> TokenText(ReadOnlySpan<char> text, WordPiece p, Span<char> dst)
    {
        var n = p.Prepended ? 1 : 0;
        if (p.Prepended) dst[0] = Marker;
        var src = text[p.Start..p.End];
        src.CopyTo(dst[n..]);
        // Only a piece's first character can be a space: pieces are cut at every marker.
        if (src.Length > 0 && IsMarker(src[0])) dst[n] = Marker;
        return dst[..(n + src.Length)];
    }

    /// <summary>The pieces of <paramref name="text"/> as token strings.</summary>
    public static List<string> Tokens(string text)
    {
        var pieces = new List<WordPiece>();
        Split(text, pieces);
        return pieces.ConvertAll(p => TokenText(text, p, new char[p.TokenLength]).ToString());
    }

    /// <summary>
    /// Where a piece sits in the original text. The span covers the characters the piece shows, without the space its
    /// marker stands for ("▁Princeton" -> "Princeton"), so an answer span starts exactly at its first token. A piece
    /// that is only a marker spans its space (or is empty when the marker was prepended).
    /// Hugging Face's offsets differ in that they include that space.
    /// </summary>
    public static (int Start, int End) VisibleSpan(ReadOnlySpan<char> text, WordPiece p) =>
        !p.Prepended && p.End - p.Start > 1 && IsMarker(text[p.Start]) ? (p.Start + 1, p.End) : (p.Start, p.End);

    static bool IsMarker(char c) => c == ' ' || c == Marker;

    /// <summary>HF's is_punc: ASCII punctuation (which includes symbols like $ + &lt; = &gt; ^ ` | ~) or Unicode category P*.</summary>
    public static bool IsPunctuation(char c) => c < 128 ? char.IsPunctuation(c) || char.IsSymbol(c) : char.IsPunctuation(c);

    static char[] AllPunctuation()
    {
        var list = new List<char>();
        for (var c = 0; c <= char.MaxValue; c++)
            if (!char.IsSurrogate((char)c) && IsPunctuation((char)c)) list.Add((char)c);
        return [.. list];
    }
}
