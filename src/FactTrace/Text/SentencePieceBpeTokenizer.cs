using System.Globalization;
using System.Text;
using System.Text.Json;
using FactTrace.IO;

namespace FactTrace.Text;

/// <summary>
/// The Llama-2 / SentencePiece-BPE tokenizer.json (as HF converts a SentencePiece BPE model; stories260K ships one):
/// added tokens split out first; each remaining segment normalized (Prepend "▁", then every " " -> "▁"); no
/// pre-tokenizer, so a segment is one word; the word's characters looked up in the vocabulary, a character without an
/// entry spelled as its UTF-8 bytes &lt;0xXX&gt; (byte_fallback) or else &lt;unk&gt; (consecutive ones fused), then
/// the BPE merges applied lowest rank first, leftmost first among equal ranks, exactly as HF's Word::merge_all.
/// Decoding: "▁" -> " ", runs of byte tokens read as UTF-8 (an invalid run gives U+FFFD per byte), one leading space
/// stripped (decoders Replace, ByteFallback, Fuse, Strip).
/// </summary>
/// <remarks>
/// Offsets are source spans: the prepended "▁" belongs to no character (a token holding only it is empty at the
/// segment's start), each byte token of a character spans that whole character.
/// </remarks>
public sealed class SentencePieceBpeTokenizer : ITokenizer
{
    const char Space = '▁';

    readonly Dictionary<string, int> vocab;
    readonly string?[] tokenOf;
    readonly Dictionary<(int, int), (int Rank, int Id)> merges;
    readonly int[] byteId; // id of <0xXX>, or -1
    readonly bool byteFallback, fuseUnk;
    readonly int? unkId;
    readonly IReadOnlyList<AddedToken> added;
    readonly Dictionary<int, AddedToken> addedById;
    readonly AddedTokenSplitter splitter;
    readonly byte[] json;
    readonly IReadOnlyDictionary<string, byte[]> companions;

    SentencePieceBpeTokenizer(Dictionary<string, int> vocab, Dictionary<(int, int), (int, int)> merges, bool byteFallback, bool fuseUnk,
        int? unkId, IReadOnlyList<AddedToken> added, int? bos, int eos, int pad, byte[] json, IReadOnlyDictionary<string, byte[]> companions)
    {
        (this.vocab, this.merges, this.byteFallback, this.fuseUnk, this.unkId, this.added, this.json, this.companions) =
            (vocab, merges, byteFallback, fuseUnk, unkId, added, json, companions);
        VocabSize = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), added.Select(t => t.Id).DefaultIfEmpty(-1).Max()) + 1;
        tokenOf = new string?[VocabSize];
        foreach (var (t, id) in vocab) tokenOf[id] = t;
        byteId = Enumerable.Range(0, 256).Select(b => vocab.TryGetValue(ByteToken(b), out var id) ? id : -1).ToArray();
        addedById = added.GroupBy(t => t.Id).ToDictionary(g => g.Key, g => g.First());
        splitter = new AddedTokenSplitter(added);
        (BosId, EosId, PadId) = (bos, eos, pad);
    }

    public const string FileName = "tokenizer.json";
    public int VocabSize { get; }
    public int? BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public IReadOnlyList<AddedToken> AddedTokens => added;

    /// <summary>"&lt;0x0A&gt;": the vocabulary entry of byte b (HF's format!("&lt;{:#04X}&gt;", b)).</summary>
    public static string ByteToken(int b) => $"<0x{b:X2}>";

    /// <summary>Whether a tokenizer.json is of this kind: a BPE model whose normalizer prepends "▁" (no ByteLevel pre-tokenizer).</summary>
    internal static bool IsSentencePiece(JsonElement root)
    {
        if (root.TryGetProperty("model", out var m) && m.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True) return true;
        return root.TryGetProperty("normalizer", out var n) && n.ValueKind == JsonValueKind.Object && n.GetRawText().Contains("\"Prepend\"");
    }

    public static SentencePieceBpeTokenizer Load(string path)
    {
        var companions = BpeModelJson.ReadCompanions(path);
        return Parse(File.ReadAllBytes(path), path, companions);
    }

    public static SentencePieceBpeTokenizer Parse(byte[] json, string source = FileName, IReadOnlyDictionary<string, byte[]>? companions = null)
    {
        FactTraceException Fail(string why) => new($"{source}: {why}");
        var (doc, model) = BpeModelJson.Parse(json, Fail);
        using var _ = doc;
        var root = doc.RootElement;
        if (ByteLevelBpeTokenizer.ModelType(model) != "BPE") throw Fail("model type is not BPE");
        var (vocab, pairs) = BpeModelJson.Read(model, Fail, spaceFree: false);
        var merges = new Dictionary<(int, int), (int, int)>();
        for (var i = 0; i < pairs.Count; i++)
            merges.TryAdd((vocab[pairs[i].A], vocab[pairs[i].B]), (i, vocab[pairs[i].A + pairs[i].B])); // HF keeps the first rank of a pair given twice
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw Fail("model.dropout > 0 (BPE dropout) is not supported");
        foreach (var field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() != "")
                throw Fail($"model.{field} \"{v.GetString()}\" is not supported");
        if (model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True)
            throw Fail("model.ignore_merges is not supported for SentencePiece-style BPE");
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind != JsonValueKind.Null)
            throw Fail("a pre_tokenizer with SentencePiece-style BPE is not supported (the Llama-2 layout has none)");
        CheckNormalizer(root, Fail);

        bool Flag(string name) => model.TryGetProperty(name, out var f) && f.ValueKind == JsonValueKind.True;
        int? unk = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String
            ? vocab.TryGetValue(u.GetString()!, out var uid) ? uid : throw Fail($"model.unk_token \"{u.GetString()}\" is not in model.vocab")
            : null;
        var added = ByteLevelBpeTokenizer.ReadAddedTokens(root, Fail);
        int? Lookup(string content) => added.FirstOrDefault(t => t.Content == content)?.Id ?? (vocab.TryGetValue(content, out var id) ? id : null);
        var bos = Lookup("<s>");
        var eos = Lookup("</s>") ?? throw Fail("no end-of-text token </s>");
        var pad = Lookup("<pad>") ?? eos;
        return new SentencePieceBpeTokenizer(vocab, merges, Flag("byte_fallback"), Flag("fuse_unk"), unk, added, bos, eos, pad, json,
            companions ?? new Dictionary<string, byte[]>());
    }

    /// <summary>Only the Llama-2 normalizer: Prepend "▁" and Replace " " -> "▁", in that order (alone or in a Sequence).</summary>
    static void CheckNormalizer(JsonElement root, Func<string, FactTraceException> fail)
    {
        if (!root.TryGetProperty("normalizer", out var n) || n.ValueKind != JsonValueKind.Object)
            throw fail("no normalizer: SentencePiece-style BPE needs Prepend \"▁\" and Replace \" \" -> \"▁\"");
        var steps = n.TryGetProperty("type", out var t) && t.GetString() == "Sequence" && n.TryGetProperty("normalizers", out var list)
            ? list.EnumerateArray().ToList() : [n];
        string Describe(JsonElement s) => s.TryGetProperty("type", out var ty) ? ty.GetString() ?? "?" : "?";
        var ok = steps.Count == 2
                 && Describe(steps[0]) == "Prepend" && steps[0].TryGetProperty("prepend", out var pp) && pp.GetString() == "▁"
                 && Describe(steps[1]) == "Replace" && steps[1].TryGetProperty("pattern", out var pat) && pat.TryGetProperty("String", out var ps)
                 && ps.GetString() == " " && steps[1].TryGetProperty("content", out var c) && c.GetString() == "▁";
        if (!ok) throw fail($"normalizer [{string.Join(", ", steps.Select(Describe))}] is not supported (only Prepend \"▁\" then Replace \" \" -> \"▁\")");
    }

    public IReadOnlyList<int> Encode(string text) => EncodeWithOffsets(text).Select(s => s.Id).ToList();

    public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spans = new List<TokenSpan>();
        var segments = splitter.IsEmpty ? [(0, text.Length, null)] : splitter.Split(text);
        foreach (var (start, end, id) in segments)
        {
            if (id is int a) { spans.Add(new TokenSpan(a, start, end)); continue; }
            if (start < end) EncodeSegment(text, start, end, spans);
        }
        return spans;
    }

    /// <summary>One symbol of a word being merged (HF's Symbol): its id, neighbours, and the normalized chars it covers.</summary>
    struct Symbol
    {
        public int Id, Prev, Next, From, To; // [From, To) in normalized chars; To == From: removed
    }

    void EncodeSegment(string text, int start, int end, List<TokenSpan> spans)
    {
        // Normalized: "▁" + the segment with " " -> "▁"; char i > 0 of it is source char start + i - 1.
        var norm = new StringBuilder(end - start + 1).Append(Space);
        for (var i = start; i < end; i++) norm.Append(text[i] == ' ' ? Space : text[i]);
        var s = norm.ToString();

        var symbols = new List<Symbol>();
        void Add(int id, int from, int to) => symbols.Add(new Symbol { Id = id, Prev = symbols.Count - 1, Next = symbols.Count + 1, From = from, To = to });
        (int From, int To)? pendingUnk = null;
        for (var i = 0; i < s.Length;)
        {
            var w = char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? 2 : 1;
            var ch = s.Substring(i, w);
            if (vocab.TryGetValue(ch, out var id))
            {
                if (pendingUnk is { } pu) { Add(unkId!.Value, pu.From, pu.To); pendingUnk = null; }
                Add(id, i, i + w);
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes(char.IsSurrogate(ch[0]) && w == 1 ? "\uFFFD" : ch);
                if (byteFallback && bytes.All(b => byteId[b] >= 0))
                {
                    // HF adds the byte tokens without flushing a pending unk first (it cannot be pending with every byte present).
                    foreach (var b in bytes) Add(byteId[b], i, i + w);
                }
                else if (unkId is null) throw new FactTraceException($"'{ch}' is not in the vocabulary and the tokenizer has no unk_token");
                else if (pendingUnk is { } pu && fuseUnk) pendingUnk = (pu.From, i + w);
                else
                {
                    if (pendingUnk is { } p) Add(unkId.Value, p.From, p.To);
                    pendingUnk = (i, i + w);
                }
            }
            i += w;
        }
        if (pendingUnk is { } last) Add(unkId!.Value, last.From, last.To);
        if (symbols.Count > 0) { var x = symbols[^1]; x.Next = -1; symbols[^1] = x; }
        var sym = symbols.ToArray();

        // Word::merge_all: a heap of (rank, position) merges; stale entries are skipped when popped.
        var queue = new PriorityQueue<(int Pos, int NewId), (int Rank, int Pos)>();
        for (var i = 0; i + 1 < sym.Length; i++)
            if (merges.TryGetValue((sym[i].Id, sym[i + 1].Id), out var m)) queue.Enqueue((i, m.Id), (m.Rank, i));
        while (queue.TryDequeue(out var top, out _))
        {
            ref var cur = ref sym[top.Pos];
            if (cur.To == cur.From || cur.Next == -1) continue;
            var nextPos = cur.Next;
            var right = sym[nextPos];
            if (!merges.TryGetValue((cur.Id, right.Id), out var mm) || mm.Id != top.NewId) continue;
            cur.Id = top.NewId;
            cur.To = right.To;
            cur.Next = right.Next;
            sym[nextPos].To = sym[nextPos].From; // removed
            if (right.Next >= 0) sym[right.Next].Prev = top.Pos;
            if (cur.Prev >= 0 && merges.TryGetValue((sym[cur.Prev].Id, cur.Id), out var mp)) queue.Enqueue((cur.Prev, mp.Id), (mp.Rank, cur.Prev));
            if (cur.Next >= 0 && merges.TryGetValue((cur.Id, sym[cur.Next].Id), out var mn)) queue.Enqueue((top.Pos, mn.Id), (mn.Rank, top.Pos));
        }

        for (var i = 0; sym.Length > 0 && i != -1; i = sym[i].Next)
        {
            var (from, to) = (Math.Max(sym[i].From, 1), sym[i].To); // normalized char 0 is the prepended "▁"
            spans.Add(from >= to ? new TokenSpan(sym[i].Id, start, start) : new TokenSpan(sym[i].Id, start + from - 1, start + to - 1));
        }
    }

    public string? TokenText(int id) =>
        addedById.TryGetValue(id, out var a) ? a.Content : id >= 0 && id < tokenOf.Length ? tokenOf[id] : null;

    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        var run = new List<byte>();
        void Flush()
        {
            if (run.Count == 0) return;
            try { sb.Append(new UTF8Encoding(false, true).GetString(run.ToArray())); }
            catch (DecoderFallbackException) { sb.Append('\uFFFD', run.Count); }
            run.Clear();
        }
        foreach (var id in ids)
        {
            if (addedById.TryGetValue(id, out var a)) { Flush(); sb.Append(a.Content); continue; }
            if (id < 0 || id >= tokenOf.Length || tokenOf[id] is not { } t) continue;
            if (t.Length == 6 && t.StartsWith("<0x", StringComparison.Ordinal) && t[5] == '>'
                && byte.TryParse(t.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                run.Add(b);
                continue;
            }
            Flush();
            sb.Append(t.Replace(Space, ' '));
        }
        Flush();
        return sb.Length > 0 && sb[0] == ' ' ? sb.ToString(1, sb.Length - 1) : sb.ToString();
    }

    public void Save(string folder)
    {
        AtomicFile.WriteAllBytes(Path.Combine(folder, FileName), json);
        foreach (var (name, bytes) in companions) AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
    }
}
