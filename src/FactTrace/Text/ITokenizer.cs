namespace FactTrace.Text;

/// <summary>A token id with the character span [Start, End) of the text it came from.</summary>
public readonly record struct TokenSpan(int Id, int Start, int End);

/// <summary>
/// One interface for every tokenizer FactTrace uses: the word-level tokenizer of a synthetic world, byte-level BPE
/// (Pythia's tokenizer.json) and Llama 3 (tiktoken). Encode never adds special tokens; callers add BOS/EOS.
/// </summary>
public interface ITokenizer
{
    int VocabSize { get; }
    int? BosId { get; }
    int EosId { get; }
    /// <summary>Padding id for batches (may equal EOS where the tokenizer has no PAD).</summary>
    int PadId { get; }

    IReadOnlyList<int> Encode(string text);
    /// <summary>Ids with character offsets into <paramref name="text"/>, to locate answer spans and attribute values.</summary>
    IReadOnlyList<TokenSpan> EncodeWithOffsets(string text);
    string Decode(IEnumerable<int> ids);

    /// <summary>The vocabulary entry of an id as the tokenizer file spells it ("Ġhello", "▁the", "&lt;0x0A&gt;", an added
    /// token's content); the default is the id decoded alone. Null for an id without a token.</summary>
    string? TokenText(int id) => id < 0 || id >= VocabSize ? null : Decode([id]);

    /// <summary>Writes the tokenizer's files (tokenizer.json and friends) into an HF checkpoint folder.</summary>
    void Save(string folder);
}
