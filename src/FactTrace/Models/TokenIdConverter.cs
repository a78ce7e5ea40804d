using System.Text.Json;
using System.Text.Json.Serialization;

namespace FactTrace.Models;

/// <summary>
/// A special-token id: a number, null, or (as in some Llama 3 configs, e.g. eos_token_id [128001, 128008, 128009]) an
/// array of numbers, of which the first is kept.
/// </summary>
public sealed class TokenIdConverter : JsonConverter<int?>
{
    public override bool HandleNull => true;

    public override int? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return null;
            case JsonTokenType.Number: return reader.GetInt32();
            case JsonTokenType.StartArray:
                int? first = null;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number) throw new JsonException("token id arrays must hold numbers");
                    first ??= reader.GetInt32();
                }
                return first;
            default: throw new JsonException("a token id must be a number, an array of numbers or null");
        }
    }

    public override void Write(Utf8JsonWriter writer, int? value, JsonSerializerOptions options)
    {
        if (value is int v) writer.WriteNumberValue(v); else writer.WriteNullValue();
    }
}
