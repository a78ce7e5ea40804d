using System.Text;
using FactTrace.IO;
using Microsoft.ML.Tokenizers;

namespace FactTrace.Text;

/// <summary>
/// Llama 3.x's tokenizer from Meta's tiktoken file (original/tokenizer.model: one "base64-token rank" line per token):
/// Llama 3's split regex, BPE by merge rank in Microsoft.ML.Tokenizers' TiktokenTokenizer, and 256 special tokens
/// numbered from the number of ranks on (&lt;|begin_of_text|&gt; 128000, &lt;|end_of_text|&gt; 128001, ... 128255),
/// named as in Llama 3.1/3.2. Special tokens written in the text are matched as tokens, as HF's tokenizer.json does.
/// </summary>
/// <remarks>See <see cref="ByteBpeTokenizerBase"/> for offsets and <see cref="ByteLevelBpeTokenizer"/> for the regex caveat.</remarks>
public sealed class Llama3Tokenizer : ByteBpeTokenizerBase
{
    public const string FileName = "tokenizer.model";
    /// <summary>Where HF's Llama 3 repositories keep Meta's file, relative to the checkpoint folder.</summary>
    public static readonly string RelativePath = Path.Combine("original", FileName);
    public const int NumSpecialTokens = 256;

    /// <summary>The 256 special token names in id order (Llama 3.1/3.2 naming).</summary>
    public static IReadOnlyList<string> SpecialTokenNames { get; } = BuildSpecialNames();

    static string[] BuildSpecialNames()
    {
        string[] named =
        [
            "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
            "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
        ];
        return named.Concat(Enumerable.Range(0, NumSpecialTokens - named.Length).Select(i => $"<|reserved_special_token_{3 + i}|>")).ToArray();
    }

    readonly TiktokenTokenizer engine;
    readonly byte[][] ranks;
    readonly byte[] file;

    Llama3Tokenizer(byte[][] ranks, TiktokenTokenizer engine, byte[] file)
        : base(SpecialTokenNames.Select((n, i) => new AddedToken(ranks.Length + i, n)).ToArray(),
            new PreTokenizer().AddSplit(PreTokenizer.CompilePattern(PreTokenizer.Llama3Pattern)))
    {
        this.ranks = ranks;
        this.engine = engine;
        this.file = file;
    }

    /// <summary>Number of BPE ranks in the file (128000 for Llama 3); the first special token's id.</summary>
    public int NumRanks => ranks.Length;
    public override int VocabSize => ranks.Length + NumSpecialTokens;
    public override int? BosId => ranks.Length;          // <|begin_of_text|>
    public override int EosId => ranks.Length + 1;       // <|end_of_text|>
    /// <summary>Llama 3 has no padding token; batches pad with &lt;|end_of_text|&gt; (masked anyway).</summary>
    public override int PadId => EosId;
    /// <summary>&lt;|eot_id|&gt;, the end of an instruct model's turn.</summary>
    public int EotId => ranks.Length + 9;

    private protected override byte[]? TokenBytes(int id) => (uint)id < (uint)ranks.Length ? ranks[id] : null;

    private protected override void EncodePiece(string piece, List<int> ids) =>
        ids.AddRange(engine.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));

    /// <summary>Writes original/tokenizer.model verbatim, where <see cref="TokenizerLoader"/> finds it.</summary>
    public override void Save(string folder)
    {
        var dir = Path.Combine(folder, "original");
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllBytes(Path.Combine(dir, FileName), file);
    }

    public static Llama3Tokenizer Load(string tokenizerModelPath)
    {
        if (!File.Exists(tokenizerModelPath)) throw new FactTraceException($"tokenizer file '{tokenizerModelPath}' not found");
        return Parse(File.ReadAllBytes(tokenizerModelPath), tokenizerModelPath);
    }

    /// <summary>True if the bytes start like a tiktoken file ("base64 rank" lines), not a SentencePiece protobuf.</summary>
    public static bool LooksLikeTiktoken(ReadOnlySpan<byte> head)
    {
        var n = head.IndexOf((byte)'\n');
        var line = Encoding.ASCII.GetString(n < 0 ? head : head[..n]).TrimEnd('\r');
        return ParseLine(line, out _, out _);
    }

    public static Llama3Tokenizer Parse(byte[] file, string source = FileName)
    {
        var byRank = new List<byte[]?>();
        var lines = Encoding.ASCII.GetString(file).Split('\n');
        var lineNo = 0;
        foreach (var raw in lines)
        {
            lineNo++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            if (!ParseLine(line, out var bytes, out var rank))
                throw new FactTraceException($"{source}: line {lineNo} is not a tiktoken \"base64-token rank\" line");
            if (rank >= lines.Length)
                throw new FactTraceException($"{source}: line {lineNo}: rank {rank} leaves a gap (ranks must be 0, 1, 2, ...)");
            while (byRank.Count <= rank) byRank.Add(null);
            if (byRank[rank] is not null) throw new FactTraceException($"{source}: line {lineNo}: rank {rank} appears twice");
            byRank[rank] = bytes;
        }
        if (byRank.Count == 0) throw new FactTraceException($"{source}: no tokens");
        var gap = byRank.FindIndex(b => b is null);
        if (gap >= 0) throw new FactTraceException($"{source}: ranks are not contiguous (rank {gap} is missing)");
        var ranks = byRank.Select(b => b!).ToArray();
        var single = ranks.Where(b => b.Length == 1).Select(b => b[0]).ToHashSet();
        foreach (var b in ByteLevel.Utf8Bytes)
            if (!single.Contains(b)) throw new FactTraceException($"{source}: no token for the single byte 0x{b:X2}");

        TiktokenTokenizer engine;
        try { engine = TiktokenTokenizer.Create(new MemoryStream(file, writable: false), preTokenizer: null, normalizer: null); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new FactTraceException($"{source}: the tiktoken model cannot be built ({e.Message})");
        }
        return new Llama3Tokenizer(ranks, engine, file);
    }

    static bool ParseLine(string line, out byte[] bytes, out int rank)
    {
        bytes = [];
        rank = -1;
        var sp = line.IndexOf(' ');
        if (sp <= 0 || !int.TryParse(line.AsSpan(sp + 1), System.Globalization.NumberStyles.None, null, out rank)) return false;
        try { bytes = Convert.FromBase64String(line[..sp]); }
        catch (FormatException) { return false; }
        return bytes.Length > 0;
    }
}
