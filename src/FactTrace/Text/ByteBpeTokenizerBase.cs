using System.Text;

namespace FactTrace.Text;

/// <summary>
/// The shared pipeline of byte-level BPE tokenizers (HF tokenizer.json BPE and tiktoken): split out added/special
/// tokens, pre-tokenize with regexes, encode each piece with the BPE model, and derive character offsets from the
/// bytes each token stands for.
/// </summary>
/// <remarks>
/// Offsets are exact, untrimmed source spans: a token's span covers every input character whose UTF-8 bytes it
/// holds, so " world" is [5, 11) in "hello world" (HF's trim_offsets would report [6, 11)). Tokens that hold part of
/// one character (a byte of an emoji) each get that whole character's span; a token made only of an
/// add_prefix_space space is empty. Added tokens span their match, including whitespace swallowed by lstrip/rstrip.
/// Lone UTF-16 surrogates are encoded as U+FFFD.
/// </remarks>
public abstract class ByteBpeTokenizerBase : ITokenizer
{
    readonly AddedTokenSplitter splitter;
    readonly PreTokenizer preTokenizer;
    readonly Dictionary<int, AddedToken> addedById;

    private protected ByteBpeTokenizerBase(IReadOnlyList<AddedToken> addedTokens, PreTokenizer preTokenizer)
    {
        AddedTokens = addedTokens;
        addedById = addedTokens.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First());
        splitter = new AddedTokenSplitter(addedTokens);
        this.preTokenizer = preTokenizer;
    }

    public abstract int VocabSize { get; }
    public abstract int? BosId { get; }
    public abstract int EosId { get; }
    public abstract int PadId { get; }

    /// <summary>Tokens matched in raw text before pre-tokenization (special tokens and other added tokens).</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Appends the ids of one pre-tokenized piece.</summary>
    private protected abstract void EncodePiece(string piece, List<int> ids);

    /// <summary>The bytes a (non-added) token id stands for, or null if the id has no token.</summary>
    private protected abstract byte[]? TokenBytes(int id);

    public abstract void Save(string folder);

    /// <summary>The id of an added/special token by its content, or null.</summary>
    public int? AddedTokenId(string content) => AddedTokens.FirstOrDefault(t => t.Content == content)?.Id;

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        Run(text, ids, null);
        return ids;
    }

    public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text)
    {
        var spans = new List<TokenSpan>();
        Run(text, new List<int>(), spans);
        return spans;
    }

    void Run(string text, List<int> ids, List<TokenSpan>? spans)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ReplaceLoneSurrogates(text);
        var segments = splitter.IsEmpty ? new List<(int Start, int End, int? Id)> { (0, text.Length, null) } : splitter.Split(text);
        var pieceIds = new List<int>();
        foreach (var (start, end, id) in segments)
        {
            if (id is int added)
            {
                ids.Add(added);
                spans?.Add(new TokenSpan(added, start, end));
                continue;
            }
            if (start == end) continue;
            foreach (var piece in preTokenizer.Split(text, start, end))
            {
                pieceIds.Clear();
                EncodePiece(piece.Text, pieceIds);
                ids.AddRange(pieceIds);
                if (spans is not null) AddSpans(piece, pieceIds, spans);
            }
        }
    }

    void AddSpans(Piece piece, List<int> pieceIds, List<TokenSpan> spans)
    {
        var s = piece.Text;
        // charOfByte[b]: index in the piece of the character (code point start) that byte b of its UTF-8 belongs to.
        var charOfByte = new int[ByteLevel.Utf8.GetByteCount(s)];
        var cursor = 0;
        for (var k = 0; k < s.Length;)
        {
            var width = char.IsHighSurrogate(s[k]) && k + 1 < s.Length && char.IsLowSurrogate(s[k + 1]) ? 2 : 1;
            var n = ByteLevel.Utf8.GetByteCount(s.AsSpan(k, width));
            for (var j = 0; j < n; j++) charOfByte[cursor++] = k;
            k += width;
        }
        var firstReal = piece.VirtualPrefix ? 1 : 0;
        var b0 = 0;
        foreach (var id in pieceIds)
        {
            var len = TokenBytes(id)?.Length ?? 0;
            if (len == 0 || b0 + len > charOfByte.Length)
                throw new InvalidOperationException($"tokenizer produced id {id} whose bytes do not fit the piece \"{s}\"");
            var lo = Math.Max(charOfByte[b0], firstReal);
            var last = charOfByte[b0 + len - 1];
            var hi = last + (char.IsHighSurrogate(s[last]) && last + 1 < s.Length ? 2 : 1);
            spans.Add(lo >= hi
                ? new TokenSpan(id, piece.TextStart, piece.TextStart)
                : new TokenSpan(id, piece.TextIndex(lo), piece.TextIndex(hi - 1) + 1));
            b0 += len;
        }
        if (b0 != charOfByte.Length)
            throw new InvalidOperationException($"tokenizer ids cover {b0} of the {charOfByte.Length} bytes of the piece \"{s}\"");
    }

    /// <summary>An added token's content, else the token's bytes in the byte-level alphabet ("Ġhello"), as in tokenizer.json.</summary>
    public string? TokenText(int id) =>
        addedById.TryGetValue(id, out var a) ? a.Content
        : TokenBytes(id) is { } b ? string.Concat(b.Select(x => ByteLevel.ByteToChar(x))) : null;

    /// <summary>
    /// Concatenates the bytes of the tokens (an added token contributes its text) and reads them as UTF-8; invalid
    /// sequences (a lone part of a character) become U+FFFD, as in HF. Special tokens are kept as text; ids without a
    /// token (a model's padded embedding rows) contribute nothing.
    /// </summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        foreach (var id in ids)
        {
            if (addedById.TryGetValue(id, out var added)) bytes.AddRange(ByteLevel.Utf8.GetBytes(added.Content));
            else if (TokenBytes(id) is { } b) bytes.AddRange(b);
        }
        return ByteLevel.Utf8.GetString(bytes.ToArray());
    }

    static string ReplaceLoneSurrogates(string text)
    {
        StringBuilder? sb = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (!char.IsSurrogate(c)) continue;
            sb ??= new StringBuilder(text);
            sb[i] = '\uFFFD';
        }
        return sb?.ToString() ?? text;
    }
}
