using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace FactTrace.Tests.Text;

/// <summary>
/// Small tokenizer files built by the tests, written independently of the library: GPT-2's byte table, a Pythia-style
/// byte-level BPE tokenizer.json, a Llama-3-style tiktoken file, the Llama-3 tokenizer.json HF would convert it to,
/// and textbook reference encoders.
/// </summary>
public static class TokenizerFixtures
{
    // ---- GPT-2 bytes_to_unicode, written out again: the printable bytes in order, then the rest.
    public static readonly int[] ByteOrder = Enumerable.Range('!', '~' - '!' + 1)
        .Concat(Enumerable.Range(0xA1, 0xAC - 0xA1 + 1)).Concat(Enumerable.Range(0xAE, 0xFF - 0xAE + 1))
        .Concat(Enumerable.Range(0, 256).Where(b => !(b >= '!' && b <= '~') && !(b >= 0xA1 && b <= 0xAC) && !(b >= 0xAE)))
        .ToArray();

    public static char ByteChar(int b)
    {
        var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        if (printable) return (char)b;
        var n = Enumerable.Range(0, b).Count(x => !((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE));
        return (char)(256 + n);
    }

    public static string ByteString(byte[] bytes) => new(bytes.Select(b => ByteChar(b)).ToArray());
    public static string ByteString(string text) => ByteString(Encoding.UTF8.GetBytes(text));

    // ---- Pythia-style byte-level BPE: <|endoftext|> 0, <|padding|> 1, byte b -> 2 + b, merges -> 258...
    public static readonly string[] BpeMerges =
    [
        "Ġ t", "h e", "Ġt he", "Ġ Ġ", "1 2", "12 3", "Ã ©", "c a", "ca f", "caf Ã©", "ð Ł", "' s", "! !", "Ċ Ċ",
    ];
    public const int DoubleSpaceId = 272, SepId = 273, ZzId = 274;

    public static int Bpe(char c) => 2 + c;   // ASCII byte ids
    public static int BpeByte(int b) => 2 + b;

    /// <param name="addedExtras">Also the non-special "  " (like GPT-NeoX's space runs), "&lt;sep&gt;" with lstrip/rstrip
    /// and single-word "zz".</param>
    public static string PythiaStyleJson(bool addedExtras = true)
    {
        var vocab = new Dictionary<string, int> { ["<|endoftext|>"] = 0, ["<|padding|>"] = 1 };
        for (var b = 0; b < 256; b++) vocab[ByteChar(b).ToString()] = 2 + b;
        foreach (var m in BpeMerges) vocab[m.Replace(" ", "")] = vocab.Count;
        var added = new List<object>
        {
            new { id = 0, content = "<|endoftext|>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true },
            new { id = 1, content = "<|padding|>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true },
        };
        if (addedExtras)
        {
            added.Add(new { id = DoubleSpaceId, content = "  ", single_word = false, lstrip = false, rstrip = false, normalized = true, special = false });
            added.Add(new { id = SepId, content = "<sep>", single_word = false, lstrip = true, rstrip = true, normalized = false, special = true });
            added.Add(new { id = ZzId, content = "zz", single_word = true, lstrip = false, rstrip = false, normalized = true, special = false });
        }
        var doc = new
        {
            version = "1.0",
            truncation = (object?)null,
            padding = (object?)null,
            added_tokens = added,
            normalizer = new { type = "NFC" },
            pre_tokenizer = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            post_processor = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            decoder = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            model = new
            {
                type = "BPE", dropout = (object?)null, unk_token = (object?)null, continuing_subword_prefix = (object?)null,
                end_of_word_suffix = (object?)null, fuse_unk = false, vocab, merges = BpeMerges,
            },
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    // ---- Llama-3-style tiktoken: single bytes ranked in GPT-2 byte order (as in real files), then merges.
    public static readonly byte[][] TiktokenExtra =
    [
        B(" t"), B("he"), B(" the"), B("in"), B("12"), B("123"), B("é"), B("\n\n"), B("  "), B("!!"), B("'s"),
        [0xF0, 0x9F], B(" cat"),
    ];
    public const int TtThe = 258, Tt123 = 261, TtE = 262, TtNN = 263, TtSS = 264, TtBang = 265, TtS = 266, TtEmoji = 267, TtCat = 268;
    public const int TtRanks = 269;

    static byte[] B(string s) => Encoding.UTF8.GetBytes(s);

    public static byte[][] TiktokenRanks() =>
        ByteOrder.Select(b => new[] { (byte)b }).Concat(TiktokenExtra).ToArray();

    public static int Rank(char c) => Array.IndexOf(ByteOrder, (int)c);
    public static int RankByte(int b) => Array.IndexOf(ByteOrder, b);

    public static string TiktokenFile() =>
        string.Concat(TiktokenRanks().Select((t, r) => $"{Convert.ToBase64String(t)} {r}\n"));

    public static readonly string[] Llama3Specials = BuildSpecials();

    static string[] BuildSpecials()
    {
        var s = new List<string>
        {
            "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
            "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
        };
        for (var i = 3; s.Count < 256; i++) s.Add($"<|reserved_special_token_{i}|>");
        return s.ToArray();
    }

    public const string Llama3Regex =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The tokenizer.json HF's tiktoken converter makes of <see cref="TiktokenRanks"/>: merges from every
    /// split of a token into two tokens, ordered by the merged token's rank; ignore_merges; BOS template.</summary>
    public static string Llama3Json()
    {
        var ranks = TiktokenRanks();
        var vocab = new Dictionary<string, int>();
        for (var r = 0; r < ranks.Length; r++) vocab[ByteString(ranks[r])] = r;
        var merges = new List<string[]>();
        for (var r = 0; r < ranks.Length; r++)
        {
            var t = ranks[r];
            var local = new List<(string L, string R)>();
            for (var i = 1; i < t.Length; i++)
            {
                string l = ByteString(t[..i]), rr = ByteString(t[i..]);
                if (vocab.ContainsKey(l) && vocab.ContainsKey(rr)) local.Add((l, rr));
            }
            merges.AddRange(local.OrderBy(x => vocab[x.L]).ThenBy(x => vocab[x.R]).Select(x => new[] { x.L, x.R }));
        }
        var added = Llama3Specials.Select((c, i) => new
        {
            id = ranks.Length + i, content = c, single_word = false, lstrip = false, rstrip = false, normalized = false, special = true,
        });
        var bos = Llama3Specials[0];
        var doc = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = Llama3Regex }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false },
                },
            },
            ["post_processor"] = new
            {
                type = "Sequence",
                processors = new object[]
                {
                    new { type = "ByteLevel", add_prefix_space = true, trim_offsets = false, use_regex = true },
                    new Dictionary<string, object>
                    {
                        ["type"] = "TemplateProcessing",
                        ["single"] = new object[]
                        {
                            new { SpecialToken = new { id = bos, type_id = 0 } },
                            new { Sequence = new { id = "A", type_id = 0 } },
                        },
                        ["pair"] = Array.Empty<object>(),
                        ["special_tokens"] = new Dictionary<string, object>
                        {
                            [bos] = new { id = bos, ids = new[] { ranks.Length }, tokens = new[] { bos } },
                        },
                    },
                },
            },
            ["decoder"] = new { type = "ByteLevel", add_prefix_space = true, trim_offsets = true, use_regex = true },
            ["model"] = new
            {
                type = "BPE", dropout = (object?)null, unk_token = (object?)null, continuing_subword_prefix = (object?)null,
                end_of_word_suffix = (object?)null, fuse_unk = false, byte_fallback = false, ignore_merges = true, vocab, merges,
            },
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    // ---- Textbook reference encoders (no added tokens).

    /// <summary>HF BPE: repeatedly merge the leftmost occurrence of the pair with the lowest merge rank.</summary>
    public static List<int> ReferenceBpe(string text, string pattern, IReadOnlyList<string> merges, IReadOnlyDictionary<string, int> vocab)
    {
        var rank = merges.Select((m, i) => (m, i)).ToDictionary(x => x.m, x => x.i);
        var ids = new List<int>();
        foreach (Match piece in Regex.Matches(text, pattern))
        {
            var symbols = ByteString(piece.Value).Select(c => c.ToString()).ToList();
            while (true)
            {
                int best = -1, bestRank = int.MaxValue;
                for (var i = 0; i + 1 < symbols.Count; i++)
                    if (rank.TryGetValue(symbols[i] + " " + symbols[i + 1], out var r) && r < bestRank) (best, bestRank) = (i, r);
                if (best < 0) break;
                symbols[best] += symbols[best + 1];
                symbols.RemoveAt(best + 1);
            }
            ids.AddRange(symbols.Select(s => vocab[s]));
        }
        return ids;
    }

    /// <summary>tiktoken: a piece that is a token is that token; else merge the adjacent pair whose concatenation has
    /// the lowest rank, leftmost first.</summary>
    public static List<int> ReferenceTiktoken(string text, string pattern, byte[][] ranks)
    {
        var byBytes = new Dictionary<string, int>();
        for (var r = 0; r < ranks.Length; r++) byBytes[Convert.ToHexString(ranks[r])] = r;
        var ids = new List<int>();
        foreach (Match piece in Regex.Matches(text, pattern))
        {
            var bytes = Encoding.UTF8.GetBytes(piece.Value);
            if (byBytes.TryGetValue(Convert.ToHexString(bytes), out var whole)) { ids.Add(whole); continue; }
            var parts = bytes.Select(b => new[] { b }).ToList();
            while (true)
            {
                int best = -1, bestRank = int.MaxValue;
                for (var i = 0; i + 1 < parts.Count; i++)
                    if (byBytes.TryGetValue(Convert.ToHexString(parts[i].Concat(parts[i + 1]).ToArray()), out var r) && r < bestRank)
                        (best, bestRank) = (i, r);
                if (best < 0) break;
                parts[best] = parts[best].Concat(parts[best + 1]).ToArray();
                parts.RemoveAt(best + 1);
            }
            ids.AddRange(parts.Select(p => byBytes[Convert.ToHexString(p)]));
        }
        return ids;
    }

    public const string Gpt2Regex = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Random strings over a tricky alphabet (spaces, newlines, digits, punctuation, é, CJK, emoji).</summary>
    public static IEnumerable<string> RandomTexts(int count, int seed, bool withDoubleSpaces = true)
    {
        string[] atoms =
        [
            "a", "b", "c", "e", "f", "h", "t", "s", "T", "I", "1", "2", "3", "4", " ", "\n", "!", "'", ",", ".", "é", "日",
            "😀", "ca", "the", "'s", "café", "\t", "-",
        ];
        var rng = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var sb = new StringBuilder();
            var n = rng.Next(1, 16);
            for (var j = 0; j < n; j++) sb.Append(atoms[rng.Next(atoms.Length)]);
            var s = sb.ToString();
            yield return withDoubleSpaces ? s : Regex.Replace(s, " {2,}", " ");
        }
    }
}
