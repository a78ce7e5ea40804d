using System.Text.Json;
using System.Text.RegularExpressions;
using FactTrace.IO;
using Microsoft.ML.Tokenizers;

namespace FactTrace.Text;

/// <summary>
/// Byte-level BPE from a Hugging Face tokenizer.json: Pythia/GPT-NeoX and GPT-2 (ByteLevel pre-tokenizer with the
/// GPT-2 split regex) and Llama 3's tokenizer.json (Split with Llama 3's regex, then ByteLevel; ignore_merges). BPE
/// merging runs in Microsoft.ML.Tokenizers; added tokens, pre-tokenization and offsets follow HF's tokenizers.
/// </summary>
/// <remarks>
/// HF's "NFC" normalizer (GPT-NeoX) is applied as the identity: the process runs with invariant globalization, which
/// has no Unicode normalization. Text already in NFC (ASCII and virtually all real text) tokenizes exactly as in HF;
/// decomposed text (a combining accent after its letter) may not. Regexes run on UTF-16, so letters and digits
/// outside the Basic Multilingual Plane (e.g. mathematical alphanumerics) count as symbols in the split; emoji split
/// as in HF.
/// </remarks>
public sealed class ByteLevelBpeTokenizer : ByteBpeTokenizerBase
{
    public const string FileName = "tokenizer.json";

    readonly BpeTokenizer engine;
    readonly byte[]?[] tokenBytes;
    readonly Dictionary<string, int>? wholePieceVocab;
    readonly byte[] json;
    readonly Dictionary<string, byte[]> companions;

    ByteLevelBpeTokenizer(IReadOnlyList<AddedToken> added, PreTokenizer pre, BpeTokenizer engine, byte[]?[] tokenBytes,
        Dictionary<string, int>? wholePieceVocab, int? bos, int eos, int pad, byte[] json, Dictionary<string, byte[]> companions)
        : base(added, pre)
    {
        this.engine = engine;
        this.tokenBytes = tokenBytes;
        this.wholePieceVocab = wholePieceVocab;
        this.json = json;
        this.companions = companions;
        BosId = bos;
        EosId = eos;
        PadId = pad;
    }

    public override int VocabSize => tokenBytes.Length;
    /// <summary>The token HF's post-processor puts first (Llama 3's &lt;|begin_of_text|&gt;); null when none (Pythia).</summary>
    public override int? BosId { get; }
    public override int EosId { get; }
    public override int PadId { get; }

    private protected override byte[]? TokenBytes(int id) => (uint)id < (uint)tokenBytes.Length ? tokenBytes[id] : null;

    private protected override void EncodePiece(string piece, List<int> ids)
    {
        if (wholePieceVocab is not null
            && wholePieceVocab.TryGetValue(ByteLevel.Encode(ByteLevel.Utf8.GetBytes(piece)), out var whole))
        {
            ids.Add(whole);
            return;
        }
        ids.AddRange(engine.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
    }

    /// <summary>Writes tokenizer.json (and tokenizer_config.json / special_tokens_map.json if they were loaded) verbatim.</summary>
    public override void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllBytes(Path.Combine(folder, FileName), json);
        foreach (var (name, bytes) in companions) AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
    }

    /// <summary>Loads a tokenizer.json file; tokenizer_config.json beside it, if any, supplies eos/pad tokens.</summary>
    public static ByteLevelBpeTokenizer Load(string tokenizerJsonPath)
    {
        var companions = BpeModelJson.ReadCompanions(tokenizerJsonPath);
        return Parse(File.ReadAllBytes(tokenizerJsonPath), tokenizerJsonPath, companions);
    }

    /// <param name="json">The tokenizer.json bytes.</param>
    /// <param name="source">Named in error messages.</param>
    /// <param name="companions">tokenizer_config.json / special_tokens_map.json bytes by file name, kept for Save.</param>
    public static ByteLevelBpeTokenizer Parse(byte[] json, string source = FileName, IReadOnlyDictionary<string, byte[]>? companions = null)
    {
        FactTraceException Fail(string why) => new($"{source}: {why}");
        var (doc, model) = BpeModelJson.Parse(json, Fail);
        using var _ = doc;
        var root = doc.RootElement;
        var type = ModelType(model);
        if (type != "BPE") throw Fail($"model type \"{type}\" is not byte-level BPE");

        // model.vocab and model.merges
        var (vocab, pairs) = BpeModelJson.Read(model, Fail, spaceFree: true);
        var merges = pairs.Select(m => $"{m.A} {m.B}").ToList();
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() > 0)
            throw Fail("model.dropout > 0 (BPE dropout) is not supported");
        foreach (var field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() != "")
                throw Fail($"model.{field} \"{v.GetString()}\" is not supported for byte-level BPE");
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw Fail("model.byte_fallback (SentencePiece-style BPE) is not supported");
        var ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;

        var pre = ReadPreTokenizer(root, Fail);
        ReadNormalizer(root, Fail);

        foreach (var b in ByteLevel.Utf8Bytes)
            if (!vocab.ContainsKey(ByteLevel.ByteToChar(b).ToString()))
                throw Fail($"model.vocab lacks the byte-level token for byte 0x{b:X2} (\"{ByteLevel.ByteToChar(b)}\")");

        var added = ReadAddedTokens(root, Fail);
        var size = Math.Max(vocab.Values.DefaultIfEmpty(-1).Max(), added.Select(t => t.Id).DefaultIfEmpty(-1).Max()) + 1;
        var tokenBytes = new byte[]?[size];
        foreach (var (token, id) in vocab)
            tokenBytes[id] = ByteLevel.TryDecode(token, out var bytes) ? bytes : ByteLevel.Utf8.GetBytes(token);

        BpeTokenizer engine;
        try { engine = BpeTokenizer.Create(new BpeOptions(vocab) { Merges = merges, ByteLevel = true }); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw Fail($"the BPE model cannot be built ({e.Message})");
        }

        var comp = new Dictionary<string, byte[]>(companions ?? new Dictionary<string, byte[]>());
        var config = ReadTokenizerConfig(comp);
        int? Lookup(string? content) =>
            content is null ? null : added.FirstOrDefault(t => t.Content == content)?.Id ?? (vocab.TryGetValue(content, out var id) ? id : null);

        var bos = ReadTemplateBos(root);
        var eos = Lookup(config.Eos) ?? new[] { "<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>" }.Select(Lookup).FirstOrDefault(i => i is not null)
                  ?? throw Fail("no end-of-text token: none of <|endoftext|>, <|end_of_text|>, </s>, <eos> is an added token, and no tokenizer_config.json names eos_token");
        var pad = Lookup(config.Pad) ?? new[] { "<|padding|>", "<pad>", "[PAD]" }.Select(Lookup).FirstOrDefault(i => i is not null) ?? eos;

        return new ByteLevelBpeTokenizer(added, pre, engine, tokenBytes, ignoreMerges ? vocab : null, bos, eos, pad, json, comp);
    }

    /// <summary>model.type, or "BPE" for old files that have merges but no type.</summary>
    internal static string ModelType(JsonElement model) =>
        model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()!
        : model.TryGetProperty("merges", out _) ? "BPE" : "(missing)";

    static PreTokenizer ReadPreTokenizer(JsonElement root, Func<string, FactTraceException> fail)
    {
        var pre = new PreTokenizer();
        var byteLevel = false;
        void Add(JsonElement p, string where)
        {
            var type = p.TryGetProperty("type", out var t) ? t.GetString() : null;
            switch (type)
            {
                case "ByteLevel":
                    pre.AddByteLevel(Bool(p, "add_prefix_space", false), Bool(p, "use_regex", true));
                    byteLevel = true;
                    break;
                case "Split":
                    if (p.TryGetProperty("behavior", out var beh) && beh.GetString() != "Isolated")
                        throw fail($"{where}: Split behavior \"{beh.GetString()}\" is not supported (only \"Isolated\")");
                    if (Bool(p, "invert", false)) throw fail($"{where}: Split with invert is not supported");
                    if (!p.TryGetProperty("pattern", out var pat) || pat.ValueKind != JsonValueKind.Object)
                        throw fail($"{where}: Split without a pattern");
                    string pattern = pat.TryGetProperty("Regex", out var r) ? r.GetString()!
                        : pat.TryGetProperty("String", out var s) ? Regex.Escape(s.GetString()!)
                        : throw fail($"{where}: Split pattern is neither Regex nor String");
                    try { pre.AddSplit(PreTokenizer.CompilePattern(pattern)); }
                    catch (ArgumentException e) { throw fail($"{where}: Split regex cannot be compiled ({e.Message})"); }
                    break;
                case "Sequence":
                    var i = 0;
                    foreach (var q in p.GetProperty("pretokenizers").EnumerateArray()) Add(q, $"{where}.pretokenizers[{i++}]");
                    break;
                default:
                    throw fail($"{where}: pre-tokenizer type \"{type ?? "(missing)"}\" is not supported (ByteLevel, Split, Sequence)");
            }
        }
        if (root.TryGetProperty("pre_tokenizer", out var el) && el.ValueKind == JsonValueKind.Object) Add(el, "pre_tokenizer");
        if (!byteLevel)
            throw fail("BPE without a ByteLevel pre-tokenizer (e.g. SentencePiece-style BPE) is not supported");
        return pre;
    }

    static void ReadNormalizer(JsonElement root, Func<string, FactTraceException> fail)
    {
        void Check(JsonElement n, string where)
        {
            var type = n.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type == "NFC") return; // identity here; see the class remarks
            if (type == "Sequence")
            {
                var i = 0;
                foreach (var q in n.GetProperty("normalizers").EnumerateArray()) Check(q, $"{where}.normalizers[{i++}]");
                return;
            }
            throw fail($"{where}: normalizer type \"{type ?? "(missing)"}\" is not supported (only NFC or none)");
        }
        if (root.TryGetProperty("normalizer", out var el) && el.ValueKind == JsonValueKind.Object) Check(el, "normalizer");
    }

    internal static List<AddedToken> ReadAddedTokens(JsonElement root, Func<string, FactTraceException> fail)
    {
        var list = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens", out var arr) || arr.ValueKind != JsonValueKind.Array) return list;
        var i = 0;
        foreach (var t in arr.EnumerateArray())
        {
            if (!t.TryGetProperty("id", out var id) || !id.TryGetInt32(out var idv) || idv < 0
                || !t.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String || c.GetString() == "")
                throw fail($"added_tokens[{i}] needs a non-negative id and a non-empty content");
            list.Add(new AddedToken(idv, c.GetString()!, Bool(t, "special", false), Bool(t, "lstrip", false),
                Bool(t, "rstrip", false), Bool(t, "single_word", false)));
            i++;
        }
        return list;
    }

    /// <summary>The first special token of a TemplateProcessing "single" template before the sequence, if any.</summary>
    static int? ReadTemplateBos(JsonElement root)
    {
        static int? Find(JsonElement p)
        {
            if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("type", out var t)) return null;
            if (t.GetString() == "Sequence" && p.TryGetProperty("processors", out var procs))
                return procs.EnumerateArray().Select(Find).FirstOrDefault(x => x is not null);
            if (t.GetString() != "TemplateProcessing" || !p.TryGetProperty("single", out var single)) return null;
            foreach (var piece in single.EnumerateArray())
            {
                if (piece.TryGetProperty("Sequence", out _)) return null;
                if (piece.TryGetProperty("SpecialToken", out var st) && st.TryGetProperty("id", out var name)
                    && p.TryGetProperty("special_tokens", out var specials)
                    && specials.TryGetProperty(name.GetString()!, out var entry)
                    && entry.TryGetProperty("ids", out var ids) && ids.GetArrayLength() == 1)
                    return ids[0].GetInt32();
            }
            return null;
        }
        return root.TryGetProperty("post_processor", out var pp) ? Find(pp) : null;
    }

    static (string? Eos, string? Pad) ReadTokenizerConfig(Dictionary<string, byte[]> companions)
    {
        if (!companions.TryGetValue("tokenizer_config.json", out var bytes)) return (null, null);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            string? Token(string field) =>
                !doc.RootElement.TryGetProperty(field, out var v) ? null
                : v.ValueKind == JsonValueKind.String ? v.GetString()
                : v.ValueKind == JsonValueKind.Object && v.TryGetProperty("content", out var c) ? c.GetString() : null;
            return (Token("eos_token"), Token("pad_token"));
        }
        catch (JsonException) { return (null, null); }
    }

    static bool Bool(JsonElement e, string name, bool fallback) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => fallback } : fallback;
}
