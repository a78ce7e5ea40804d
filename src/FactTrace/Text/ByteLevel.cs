using System.Text;

namespace FactTrace.Text;

/// <summary>
/// GPT-2's reversible byte-to-character table used by byte-level BPE vocabularies (tokenizer.json): printable bytes
/// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, the other 68 bytes map in order to U+0100 onwards, so the
/// space 0x20 is 'Ġ' and '\n' is 'Ċ'.
/// </summary>
internal static class ByteLevel
{
    static readonly char[] ByteToCharTable = BuildTable();
    static readonly Dictionary<char, byte> CharToByteTable =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToCharTable[b], b => (byte)b);

    static char[] BuildTable()
    {
        var table = new char[256];
        var printable = new bool[256];
        for (var b = '!'; b <= '~'; b++) printable[b] = true;
        for (var b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (var b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        var next = 256;
        for (var b = 0; b < 256; b++) table[b] = printable[b] ? (char)b : (char)next++;
        return table;
    }

    public static char ByteToChar(byte b) => ByteToCharTable[b];

    /// <summary>The vocabulary spelling of raw bytes ("Ġthe" for " the").</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++) chars[i] = ByteToCharTable[bytes[i]];
        return new string(chars);
    }

    /// <summary>The raw bytes a vocabulary token stands for; false if it has a character outside the table.</summary>
    public static bool TryDecode(string token, out byte[] bytes)
    {
        bytes = new byte[token.Length];
        for (var i = 0; i < token.Length; i++)
        {
            if (!CharToByteTable.TryGetValue(token[i], out var b)) { bytes = []; return false; }
            bytes[i] = b;
        }
        return true;
    }

    /// <summary>Bytes that can occur in valid UTF-8 (all but 0xC0, 0xC1, 0xF5..0xFF); a vocabulary must cover them.</summary>
    public static IEnumerable<byte> Utf8Bytes =>
        Enumerable.Range(0, 256).Where(b => b is not (0xC0 or 0xC1) && b < 0xF5).Select(b => (byte)b);

    public static readonly UTF8Encoding Utf8 = new(false);
}
