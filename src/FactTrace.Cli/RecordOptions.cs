using System.CommandLine;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.Cli;

/// <summary>The one naming rule from JSON fields to flags.</summary>
public static class Flags
{
    /// <summary>The flag of a JSON path: its kebab-case (<c>probe.bio_size</c> -> <c>--probe-bio-size</c>).</summary>
    public static string Of(string path) => "--" + path.Replace('_', '-').Replace('.', '-');
}

/// <summary>
/// The command-line options of an option record, made from the record itself: one flag per JSON field, named by its
/// kebab-case (<c>bio_epochs</c> = <c>--bio-epochs</c>; a nested record's fields are prefixed: <c>probe.bio_size</c> =
/// <c>--probe-bio-size</c>), described by its <see cref="DescriptionAttribute"/>, with the record's defaults. The
/// verb, the preset JSON and manifest.json therefore share one vocabulary by construction. Binding serializes the
/// defaults, overwrites the fields given on the command line and deserializes the record with the same JSON options
/// that read preset files.
/// </summary>
public sealed class RecordOptions<T> where T : class
{
    sealed record Field(string Path, Option Option, Type Type);

    readonly T defaults;
    readonly string prefix;
    readonly List<Field> fields = [];

    /// <param name="defaults">The values shown as defaults and used where a flag is not given.</param>
    /// <param name="prefix">The record's own path when it is a field of a request (e.g. "trace" for <c>--trace-score</c>).</param>
    /// <param name="skip">JSON paths (e.g. "strategy", "probe.seed") that the verb sets itself.</param>
    public RecordOptions(T defaults, string prefix = "", params string[] skip)
    {
        this.defaults = defaults;
        this.prefix = prefix.Length > 0 ? prefix + "." : "";
        var node = JsonSerializer.SerializeToNode(defaults, Json.Line)!.AsObject();
        Add(typeof(T), node, this.prefix, skip.Select(x => this.prefix + x).ToHashSet());
    }

    public IEnumerable<Option> Options => fields.Select(f => f.Option);

    public void AddTo(Command command)
    {
        foreach (var o in Options) command.Options.Add(o);
    }

    /// <summary>The option of a JSON path (for a verb that adds constraints, e.g. <c>Required</c>).</summary>
    public Option this[string path] => fields.First(f => f.Path == prefix + path).Option;

    /// <summary>Makes a field's flag required (and shows no default for it).</summary>
    public void Require(string path)
    {
        this[path].Required = true;
        NoDefault(path);
    }

    /// <summary>Shows no default for a field whose flag, when given, switches something on (e.g. <c>--trace-score</c>).</summary>
    public void NoDefault(string path)
    {
        if (this[path] is Option<string> o) o.DefaultValueFactory = null;
    }


    /// <summary>The JSON paths given on the command line (not left at their defaults).</summary>
    public IReadOnlyList<string> Given(ParseResult r) =>
        [.. fields.Where(f => r.GetResult(f.Option) is { Implicit: false }).Select(f => f.Path)];

    /// <summary>The record with the given flags applied over <paramref name="over"/> (default: the defaults).</summary>
    public T Bind(ParseResult r, T? over = null)
    {
        var node = JsonSerializer.SerializeToNode(over ?? defaults, Json.Line)!.AsObject();
        foreach (var f in fields)
        {
            if (r.GetResult(f.Option) is not { Implicit: false }) continue;
            Set(node, f.Path[prefix.Length..].Split('.'), Value(f, r));
        }
        try
        {
            return node.Deserialize<T>(Json.Line) ?? throw new InvalidOperationException("null record");
        }
        catch (JsonException e)
        {
            var path = e.Path is { Length: > 2 } p ? prefix + p[2..] : prefix.TrimEnd('.');
            throw new OptionException(path.Length > 0 ? path : "options", e.Message.Split('\n')[0].Trim());
        }
    }

    /// <summary>Warns (one line each) about given flags in <paramref name="ignored"/>: they change nothing in this combination.</summary>
    public void WarnIgnored(ParseResult r, IEnumerable<string> ignored, string why, TextWriter? stderr = null)
    {
        var given = Given(r);
        foreach (var path in ignored)
            foreach (var g in given.Where(g => g == path || g.StartsWith(path + ".", StringComparison.Ordinal)))
                (stderr ?? Console.Error).WriteLine($"note: {Flags.Of(g)} is ignored {why}");
    }

    static void Set(JsonObject node, string[] path, JsonNode? value)
    {
        for (int i = 0; i < path.Length - 1; i++)
            node = node[path[i]] as JsonObject ?? (JsonObject)(node[path[i]] = new JsonObject());
        node[path[^1]] = value;
    }

    static JsonNode? Value(Field f, ParseResult r)
    {
        var o = f.Option;
        var t = Nullable.GetUnderlyingType(f.Type) ?? f.Type;
        if (IsList(t))
        {
            var text = r.GetValue((Option<string>)o) ?? "";
            var a = new JsonArray();
            foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var x))
                    throw new OptionException(f.Path, $"'{part}' is not a number");
                a.Add(x);
            }
            return a;
        }
        if (t.IsEnum || t == typeof(string)) return JsonValue.Create(r.GetValue((Option<string>)o));
        if (t == typeof(bool)) return JsonValue.Create(r.GetValue((Option<bool>)o));
        if (t == typeof(int)) return f.Type == t ? JsonValue.Create(r.GetValue((Option<int>)o)) : JsonValue.Create(r.GetValue((Option<int?>)o));
        if (t == typeof(long)) return f.Type == t ? JsonValue.Create(r.GetValue((Option<long>)o)) : JsonValue.Create(r.GetValue((Option<long?>)o));
        if (t == typeof(double)) return f.Type == t ? JsonValue.Create(r.GetValue((Option<double>)o)) : JsonValue.Create(r.GetValue((Option<double?>)o));
        throw new NotSupportedException($"{f.Path}: type {f.Type}");
    }

    static bool IsList(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>);

    static string JsonName(PropertyInfo p) =>
        p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name);

    void Add(Type type, JsonObject node, string prefix, HashSet<string> skip)
    {
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!p.CanWrite || p.GetCustomAttribute<JsonIgnoreAttribute>() is { Condition: JsonIgnoreCondition.Always }) continue;
            var path = prefix + JsonName(p);
            if (skip.Contains(path)) continue;
            var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (t.IsClass && t != typeof(string) && !IsList(t))
            {
                Add(t, node[JsonName(p)] as JsonObject ?? [], path + ".", skip);
                continue;
            }
            var current = node[JsonName(p)];
            var description = p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? "";
            fields.Add(new Field(path, Make(p, t, Flags.Of(path), description, current), p.PropertyType));
        }
    }

    static Option Make(PropertyInfo p, Type t, string flag, string description, JsonNode? current)
    {
        string Shown() => current switch
        {
            null => "",
            JsonArray a => string.Join(",", a.Select(x => x?.ToJsonString())),
            _ => current.ToJsonString().Trim('"'),
        };
        if (IsList(t) || t.IsEnum || t == typeof(string))
        {
            var shown = Shown();
            var o = new Option<string>(flag) { Description = description };
            if (shown.Length > 0) o.DefaultValueFactory = _ => shown;
            var allowed = p.GetCustomAttribute<AllowedValuesAttribute>()?.Values.Select(v => $"{v}").ToArray()
                          ?? (t.IsEnum ? EnumNames(t) : null);
            if (allowed is not null) o.AcceptOnlyFromAmong(allowed);
            return o;
        }
        if (t == typeof(bool)) return new Option<bool>(flag) { Description = description, DefaultValueFactory = _ => current?.GetValue<bool>() ?? false };
        var nullable = Nullable.GetUnderlyingType(p.PropertyType) is not null;
        if (t == typeof(int))
            return nullable ? new Option<int?>(flag) { Description = description, DefaultValueFactory = _ => current?.GetValue<int>() }
                : new Option<int>(flag) { Description = description, DefaultValueFactory = _ => current?.GetValue<int>() ?? 0 };
        if (t == typeof(long))
            return nullable ? new Option<long?>(flag) { Description = description, DefaultValueFactory = _ => current?.GetValue<long>() }
                : new Option<long>(flag) { Description = description, DefaultValueFactory = _ => current?.GetValue<long>() ?? 0 };
        if (t == typeof(double))
            return nullable ? new Option<double?>(flag) { Description = description, DefaultValueFactory = _ => current?.GetValue<double>() }
                : new Option<double>(flag) { Description = description, DefaultValueFactory = _ => current?.GetValue<double>() ?? 0 };
        throw new NotSupportedException($"{flag}: option records hold numbers, strings, enums, lists of numbers and records (got {t})");
    }

    static string[] EnumNames(Type t) =>
        [.. t.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(f.Name))];
}
