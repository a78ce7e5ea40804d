using System.Collections.Concurrent;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FactTrace.IO;

// Longer than ~300 lines on purpose: building, encoding, decoding with offsets and the HF tokenizer.json round trip of
// one format stay together, because the format's rules (Metaspace, Isolated punctuation, special ids) bind all four.

namespace FactTrace.Text;

/// <summary>
/// The tokenizer of a synthetic world: one token per word piece of <see cref="WordPreTokenizer"/> ("▁born", "▁Princeton",
/// ",", "▁NJ", "."). Ids 0-3 are the specials [PAD], [BOS], [EOS], [UNK]; then every distinct piece of the world's
/// texts in ordinal (code point) order, so the vocabulary depends only on the set of texts. Saved as a Hugging Face
/// tokenizer.json (model WordLevel) that Python's <c>tokenizers</c> loads and that encodes and decodes the same way.
/// </summary>
public sealed class WordLevelTokenizer : ITokenizer
{
    public const string PadToken = "[PAD]", BosToken = "[BOS]", EosToken = "[EOS]", UnkToken = "[UNK]";
    public const int PadTokenId = 0, BosTokenId = 1, EosTokenId = 2, UnkTokenId = 3;
    public const string FileName = "tokenizer.json", ConfigFileName = "tokenizer_config.json";
    static readonly string[] Specials = [PadToken, BosToken, EosToken, UnkToken];

    readonly string[] _tokens;
    readonly Dictionary<string, int> _ids;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    WordLevelTokenizer(string[] tokens)
    {
        _tokens = tokens;
        _ids = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
        for (var i = 0; i < tokens.Length; i++)
            if (!_ids.TryAdd(tokens[i], i)) throw new ArgumentException($"token '{tokens[i]}' appears twice in the vocabulary");
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int VocabSize => _tokens.Length;
    public int? BosId => BosTokenId;
    public int EosId => EosTokenId;
    public int PadId => PadTokenId;
    public int UnkId => UnkTokenId;

    /// <summary>Tokens by id.</summary>
    public IReadOnlyList<string> Vocabulary => _tokens;

    public string TokenOf(int id) => _tokens[id];

    /// <summary>The id of a token (a piece, e.g. "▁Princeton"), or [UNK]'s.</summary>
    public int IdOf(string token) => _ids.GetValueOrDefault(token, UnkTokenId);

    /// <summary>
    /// The vocabulary of <paramref name="texts"/>: specials, then their distinct pieces in ordinal order. Scanned in
    /// parallel (a 100k-people world has ~14M pieces); the result is a sorted set, the same for any thread count.
    /// </summary>
    public static WordLevelTokenizer Build(IEnumerable<string> texts)
    {
        var all = texts as IReadOnlyList<string> ?? texts.ToList();
        var sets = new List<HashSet<string>>();
        Parallel.ForEach(Partitioner.Create(0, all.Count, 16384), () => new HashSet<string>(StringComparer.Ordinal),
            (range, _, seen) =>
            {
                var lookup = seen.GetAlternateLookup<ReadOnlySpan<char>>();
                var pieces = new List<WordPiece>();
                Span<char> buffer = stackalloc char[256];
                for (var i = range.Item1; i < range.Item2; i++)
                {
                    var text = all[i];
                    pieces.Clear();
                    WordPreTokenizer.Split(text, pieces);
                    foreach (var p in pieces)
                    {
                        var dst = p.TokenLength <= buffer.Length ? buffer : new char[p.TokenLength];
                        lookup.Add(WordPreTokenizer.TokenText(text, p, dst)); // allocates only for a new piece
                    }
                }
                return seen;
            },
            seen => { lock (sets) sets.Add(seen); });
        var words = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in sets) words.UnionWith(s);
        words.ExceptWith(Specials);
        var sorted = words.ToArray();
        Array.Sort(sorted, StringComparer.Ordinal);
        return new WordLevelTokenizer([.. Specials, .. sorted]);
    }

    public IReadOnlyList<int> Encode(string text)
    {
        var pieces = new List<WordPiece>();
        WordPreTokenizer.Split(text, pieces);
        var ids = new List<int>(pieces.Count);
        Span<char> buffer = stackalloc char[256];
        foreach (var p in pieces) ids.Add(Lookup(text, p, buffer));
        return ids;
    }

    public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text)
    {
        var pieces = new List<WordPiece>();
        WordPreTokenizer.Split(text, pieces);
        var spans = new List<TokenSpan>(pieces.Count);
        Span<char> buffer = stackalloc char[256];
        foreach (var p in pieces)
        {
            var (start, end) = WordPreTokenizer.VisibleSpan(text, p);
            spans.Add(new TokenSpan(Lookup(text, p, buffer), start, end));
        }
        return spans;
    }

    int Lookup(string text, WordPiece p, Span<char> buffer)
    {
        var dst = p.TokenLength <= buffer.Length ? buffer : new char[p.TokenLength];
        return _lookup.TryGetValue(WordPreTokenizer.TokenText(text, p, dst), out var id) ? id : UnkTokenId;
    }

    /// <summary>
    /// Hugging Face's Metaspace decoding: concatenate, turn "▁" into a space, drop the markers of the first token.
    /// [PAD], [BOS] and [EOS] are skipped (as with skip_special_tokens); an unknown word comes back as "[UNK]".
    /// </summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        var first = true;
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_tokens.Length) throw new ArgumentOutOfRangeException(nameof(ids), id, $"not a token id (vocabulary size {_tokens.Length})");
            if (id is PadTokenId or BosTokenId or EosTokenId) continue;
            foreach (var c in _tokens[id])
            {
                if (c != WordPreTokenizer.Marker) sb.Append(c);
                else if (!first) sb.Append(' ');
            }
            first = false;
        }
        return sb.ToString();
    }

    /// <summary>Writes tokenizer.json and tokenizer_config.json into <paramref name="folder"/>.</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllText(Path.Combine(folder, FileName), ToJson());
        AtomicFile.WriteAllText(Path.Combine(folder, ConfigFileName), ConfigJson());
    }

    static readonly JsonWriterOptions WriterOptions = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The Hugging Face tokenizer.json: WordLevel model, Metaspace + Punctuation pre-tokenizer, Metaspace decoder,
    /// and a post-processor that prepends [BOS] when Python asks for special tokens (C# Encode never adds any).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            for (var i = 0; i < Specials.Length; i++)
            {
                w.WriteStartObject();
                w.WriteNumber("id", i);
                w.WriteString("content", Specials[i]);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNull("normalizer");

            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "Sequence");
            w.WriteStartArray("pretokenizers");
            WriteMetaspace(w);
            w.WriteStartObject();
            w.WriteString("type", "Punctuation");
            w.WriteString("behavior", "Isolated");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();

            w.WritePropertyName("post_processor");
            WritePostProcessor(w);
            w.WritePropertyName("decoder");
            WriteMetaspace(w);

            w.WriteStartObject("model");
            w.WriteString("type", "WordLevel");
            w.WriteStartObject("vocab");
            for (var i = 0; i < _tokens.Length; i++) w.WriteNumber(_tokens[i], i);
            w.WriteEndObject();
            w.WriteString("unk_token", UnkToken);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    static void WriteMetaspace(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("type", "Metaspace");
        w.WriteString("replacement", WordPreTokenizer.Marker.ToString());
        w.WriteString("prepend_scheme", "always");
        w.WriteBoolean("split", true);
        w.WriteEndObject();
    }

    static void WritePostProcessor(Utf8JsonWriter w)
    {
        static void Special(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            w.WriteStartObject("SpecialToken");
            w.WriteString("id", BosToken);
            w.WriteNumber("type_id", 0);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        static void Sequence(Utf8JsonWriter w, string id, int typeId)
        {
            w.WriteStartObject();
            w.WriteStartObject("Sequence");
            w.WriteString("id", id);
            w.WriteNumber("type_id", typeId);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteStartObject();
        w.WriteString("type", "TemplateProcessing");
        w.WriteStartArray("single");
        Special(w);
        Sequence(w, "A", 0);
        w.WriteEndArray();
        w.WriteStartArray("pair");
        Special(w);
        Sequence(w, "A", 0);
        Sequence(w, "B", 1);
        w.WriteEndArray();
        w.WriteStartObject("special_tokens");
        w.WriteStartObject(BosToken);
        w.WriteString("id", BosToken);
        w.WriteStartArray("ids");
        w.WriteNumberValue(BosTokenId);
        w.WriteEndArray();
        w.WriteStartArray("tokens");
        w.WriteStringValue(BosToken);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>For transformers' AutoTokenizer; clean_up_tokenization_spaces off, or it would rewrite decoded text.</summary>
    static string ConfigJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("tokenizer_class", "PreTrainedTokenizerFast");
            w.WriteString("bos_token", BosToken);
            w.WriteString("eos_token", EosToken);
            w.WriteString("pad_token", PadToken);
            w.WriteString("unk_token", UnkToken);
            w.WriteBoolean("clean_up_tokenization_spaces", false);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>
    /// Reads a tokenizer.json written by <see cref="Save"/> (or a folder holding one). Anything else (another model type,
    /// another pre-tokenizer, specials at other ids, gaps in the ids) is a one-line error naming the file.
    /// </summary>
    public static WordLevelTokenizer Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, FileName);
        var root = Json.ReadFile<JsonElement>(path, "tokenizer file");
        FactTraceException Bad(string why) => new($"tokenizer file '{path}': {why}");

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw Bad("no \"model\" object");
        if (!model.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "WordLevel")
            throw Bad($"model type is {(model.TryGetProperty("type", out var t) ? t.ToString() : "missing")}, not WordLevel");
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || !IsOurPreTokenizer(pre))
            throw Bad("its pre_tokenizer is not Sequence[Metaspace(\"▁\", always, split), Punctuation(Isolated)], the one this tokenizer implements");
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw Bad("model has no vocab object");

        var entries = new List<(string Token, int Id)>();
        foreach (var p in vocab.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var id)) throw Bad($"vocab entry '{p.Name}' has no integer id");
            entries.Add((p.Name, id));
        }
        var tokens = new string?[entries.Count];
        foreach (var (token, id) in entries)
        {
            if (id < 0 || id >= tokens.Length) throw Bad($"id {id} of '{token}' is outside 0..{tokens.Length - 1} (ids must be dense)");
            if (tokens[id] is not null) throw Bad($"id {id} is given to both '{tokens[id]}' and '{token}'");
            tokens[id] = token;
        }
        for (var i = 0; i < Specials.Length; i++)
            if (i >= tokens.Length || tokens[i] != Specials[i]) throw Bad($"expected {Specials[i]} at id {i}");
        return new WordLevelTokenizer(tokens!);
    }

    static bool IsOurPreTokenizer(JsonElement pre)
    {
        static string? Str(JsonElement e, string name) =>
            e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (Str(pre, "type") != "Sequence" || !pre.TryGetProperty("pretokenizers", out var list) || list.ValueKind != JsonValueKind.Array
            || list.GetArrayLength() != 2) return false;
        var meta = list[0];
        var punct = list[1];
        return Str(meta, "type") == "Metaspace" && Str(meta, "replacement") == WordPreTokenizer.Marker.ToString()
            && Str(meta, "prepend_scheme") == "always" && meta.TryGetProperty("split", out var split) && split.ValueKind == JsonValueKind.True
            && Str(punct, "type") == "Punctuation" && Str(punct, "behavior") == "Isolated";
    }
}
