using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FactTrace.IO;

/// <summary>One settable field of an option record: its JSON path, value type, description, default and allowed values.</summary>
public sealed record OptionField(string Path, Type Type, string Description, JsonNode? Default, IReadOnlyList<string>? Allowed)
{
    /// <summary>The value type without <see cref="Nullable{T}"/>.</summary>
    public Type ValueType => Nullable.GetUnderlyingType(Type) ?? Type;
    public bool IsNullable => Nullable.GetUnderlyingType(Type) is not null;
    public bool IsList => IsListType(ValueType);

    internal static bool IsListType(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>);
}

/// <summary>
/// The vocabulary of an option record (<c>TrainOptions</c>, <c>TraceOptions</c>, a <c>Preset</c>, ...): its fields by JSON
/// path, as presets and manifest.json spell them (nested records give <c>probe.bio_size</c>), and a way to set some of
/// them by path. Everything that takes options by name (the CLI's flags, preset files, sweep axes) goes through it, so
/// the record is the one definition of names, defaults, descriptions and allowed values.
/// </summary>
public static class OptionSchema
{
    /// <summary>The leaf fields of <paramref name="defaults"/>'s type, with <paramref name="defaults"/>' values as defaults.</summary>
    public static IReadOnlyList<OptionField> Fields<T>(T defaults) where T : class
    {
        var list = new List<OptionField>();
        Add(typeof(T), JsonSerializer.SerializeToNode(defaults, Json.Line) as JsonObject ?? [], "", list);
        return list;
    }

    /// <summary>
    /// <paramref name="record"/> with the fields at the given paths set to the given JSON values, deserialized with the JSON
    /// options that read preset files; a value of the wrong type is an <see cref="OptionException"/> naming its path.
    /// </summary>
    public static T With<T>(T record, IEnumerable<KeyValuePair<string, JsonNode?>> values) where T : class
    {
        var node = JsonSerializer.SerializeToNode(record, Json.Line)!.AsObject();
        foreach (var (path, value) in values)
        {
            var parts = path.Split('.');
            var o = node;
            for (int i = 0; i < parts.Length - 1; i++)
                o = o[parts[i]] as JsonObject ?? (JsonObject)(o[parts[i]] = new JsonObject());
            o[parts[^1]] = value?.DeepClone();
        }
        try
        {
            return node.Deserialize<T>(Json.Line) ?? throw new OptionException("options", "null");
        }
        catch (JsonException e)
        {
            var path = e.Path is { Length: > 2 } p ? p[2..] : "options";
            throw new OptionException(path, e.Message.Split('\n')[0].Trim());
        }
    }

    static string JsonName(PropertyInfo p) =>
        p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);

    static void Add(Type type, JsonObject node, string prefix, List<OptionField> list)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!p.CanWrite || p.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.Always }) continue;
            var name = JsonName(p);
            var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (t.IsClass && t != typeof(string) && !OptionField.IsListType(t))
            {
                Add(t, node[name] as JsonObject ?? [], prefix + name + ".", list);
                continue;
            }
            var allowed = p.GetCustomAttribute<AllowedValuesAttribute>()?.Values.Select(v => $"{v}").ToArray()
                          ?? (t.IsEnum ? EnumNames(t) : null);
            list.Add(new OptionField(prefix + name, p.PropertyType, p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "",
                node[name]?.DeepClone(), allowed));
        }
    }

    static string[] EnumNames(Type t) =>
        [.. t.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(f.Name))];
}
