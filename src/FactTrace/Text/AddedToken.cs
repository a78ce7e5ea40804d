namespace FactTrace.Text;

/// <summary>
/// A token matched in the raw text before pre-tokenization (HF tokenizer.json "added_tokens"): special tokens such as
/// &lt;|endoftext|&gt;, and non-special ones such as GPT-NeoX's runs of spaces. <see cref="LStrip"/>/<see cref="RStrip"/>
/// let the match swallow whitespace on that side; <see cref="SingleWord"/> only matches between non-word characters.
/// </summary>
public sealed record AddedToken(int Id, string Content, bool Special = true, bool LStrip = false, bool RStrip = false,
    bool SingleWord = false);

/// <summary>Splits text on added tokens the way HF tokenizers do: leftmost match first, the longest token at a position.</summary>
internal sealed class AddedTokenSplitter
{
    readonly Dictionary<char, AddedToken[]> byFirstChar;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens) =>
        byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ThenBy(t => t.Id).ToArray());

    public bool IsEmpty => byFirstChar.Count == 0;

    /// <summary>Segments covering <paramref name="text"/> in order; Id is the added token's id or null for plain text.</summary>
    public List<(int Start, int End, int? Id)> Split(string text)
    {
        var segments = new List<(int, int, int?)>();
        var plainStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (!byFirstChar.TryGetValue(text[i], out var candidates)) { i++; continue; }
            AddedToken? hit = null;
            foreach (var t in candidates)
                if (string.CompareOrdinal(text, i, t.Content, 0, t.Content.Length) == 0) { hit = t; break; }
            if (hit is null) { i++; continue; }
            int start = i, end = i + hit.Content.Length;
            if (hit.SingleWord && ((start > 0 && IsWordChar(text[start - 1])) || (end < text.Length && IsWordChar(text[end]))))
            {
                i = end; // like HF's non-overlapping match iteration: a rejected match is not retried shorter
                continue;
            }
            if (hit.LStrip)
                while (start > plainStart && char.IsWhiteSpace(text[start - 1])) start--;
            if (hit.RStrip)
                while (end < text.Length && char.IsWhiteSpace(text[end])) end++;
            if (start > plainStart) segments.Add((plainStart, start, null));
            segments.Add((start, end, hit.Id));
            plainStart = i = end;
        }
        if (plainStart < text.Length) segments.Add((plainStart, text.Length, null));
        return segments;
    }

    static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
