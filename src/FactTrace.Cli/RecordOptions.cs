using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using FactTrace.IO;

namespace FactTrace.Cli;

/// <summary>The one naming rule from JSON fields to flags.</summary>
public static class Flags
{
    /// <summary>The flag of a JSON path: its kebab-case (<c>probe.bio_size</c> -> <c>--probe-bio-size</c>).</summary>
    public static string Of(string path) => "--" + path.Replace('_', '-').Replace('.', '-');
}

/// <summary>
/// The command-line options of an option record, one flag per field of its <see cref="OptionSchema"/> (so the verb,
/// the preset JSON and manifest.json share one vocabulary by construction), described and defaulted by the record.
/// Binding sets the given fields over the defaults through <see cref="OptionSchema.With{T}"/>.
/// </summary>
public sealed class RecordOptions<T> where T : class
{
    readonly T defaults;
    readonly string prefix;
    readonly List<(OptionField Field, Option Option)> fields = [];

    /// <param name="defaults">The values shown as defaults and used where a flag is not given.</param>
    /// <param name="prefix">The record's own path when it is a field of a request (e.g. "trace" for <c>--trace-score</c>).</param>
    public RecordOptions(T defaults, string prefix = "")
    {
        this.defaults = defaults;
        this.prefix = prefix.Length > 0 ? prefix + "." : "";
        foreach (var f in OptionSchema.Fields(defaults)) fields.Add((f, Make(f, Flags.Of(this.prefix + f.Path))));
    }

    public void AddTo(Command command)
    {
        foreach (var (_, o) in fields) command.Options.Add(o);
    }

    Option Get(string path) => fields.First(f => f.Field.Path == path).Option;

    /// <summary>Makes a field's flag required (and shows no default for it).</summary>
    public void Require(string path)
    {
        Get(path).Required = true;
        NoDefault(path);
    }

    /// <summary>Shows no default for a field whose flag, when given, switches something on (e.g. <c>--trace-score</c>).</summary>
    public void NoDefault(string path)
    {
        if (Get(path) is Option<string> o) o.DefaultValueFactory = null;
    }

    /// <summary>The record's JSON paths given on the command line (not left at their defaults).</summary>
    public IReadOnlyList<string> Given(ParseResult r) =>
        [.. fields.Where(f => r.GetResult(f.Option) is { Implicit: false }).Select(f => f.Field.Path)];

    /// <summary>The record with the given flags applied over the defaults.</summary>
    public T Bind(ParseResult r)
    {
        var given = fields.Where(f => r.GetResult(f.Option) is { Implicit: false })
            .Select(f => KeyValuePair.Create(f.Field.Path, Value(f.Field, f.Option, r)));
        try { return OptionSchema.With(defaults, given); }
        catch (OptionException e) when (prefix.Length > 0) { throw e.Within(prefix.TrimEnd('.')); }
    }

    /// <summary>Warns (one line each) about given flags in <paramref name="ignored"/>: they change nothing in this combination.</summary>
    public void WarnIgnored(ParseResult r, IEnumerable<string> ignored, string why)
    {
        var given = Given(r);
        foreach (var path in ignored)
            foreach (var g in given.Where(g => g == path || g.StartsWith(path + ".", StringComparison.Ordinal)))
                Console.Error.WriteLine($"note: {Flags.Of(prefix + g)} is ignored {why}");
    }

    static JsonNode? Value(OptionField f, Option o, ParseResult r)
    {
        if (f.IsList)
        {
            var a = new JsonArray();
            var numbers = f.ValueType.GetGenericArguments()[0] == typeof(double);
            foreach (var part in (r.GetValue((Option<string>)o) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                a.Add(!numbers ? JsonValue.Create(part) : double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? JsonValue.Create(x)
                    : throw new OptionException(f.Path, $"'{part}' is not a number"));
            return a;
        }
        return o switch
        {
            Option<string> s => JsonValue.Create(r.GetValue(s)),
            Option<bool> b => JsonValue.Create(r.GetValue(b)),
            Option<int> i => JsonValue.Create(r.GetValue(i)),
            Option<int?> i => JsonValue.Create(r.GetValue(i)),
            Option<long> l => JsonValue.Create(r.GetValue(l)),
            Option<long?> l => JsonValue.Create(r.GetValue(l)),
            Option<double> d => JsonValue.Create(r.GetValue(d)),
            Option<double?> d => JsonValue.Create(r.GetValue(d)),
            _ => throw new NotSupportedException(f.Path),
        };
    }

    static Option Make(OptionField f, string flag)
    {
        var d = f.Description;
        var t = f.ValueType;
        if (f.IsList || t.IsEnum || t == typeof(string))
        {
            var shown = f.Default switch { null => "", JsonArray a => string.Join(",", a.Select(x => x?.ToString())), var v => v.ToJsonString().Trim('"') };
            var o = new Option<string>(flag) { Description = d };
            if (shown.Length > 0) o.DefaultValueFactory = _ => shown;
            if (f.Allowed is { } allowed) o.AcceptOnlyFromAmong([.. allowed]);
            return o;
        }
        V Default<V>() where V : struct => f.Default?.GetValue<V>() ?? default;
        V? Maybe<V>() where V : struct => f.Default?.GetValue<V>();
        return (t.Name, f.IsNullable) switch
        {
            (nameof(Boolean), _) => new Option<bool>(flag) { Description = d, DefaultValueFactory = _ => Default<bool>() },
            (nameof(Int32), false) => new Option<int>(flag) { Description = d, DefaultValueFactory = _ => Default<int>() },
            (nameof(Int32), true) => new Option<int?>(flag) { Description = d, DefaultValueFactory = _ => Maybe<int>() },
            (nameof(Int64), false) => new Option<long>(flag) { Description = d, DefaultValueFactory = _ => Default<long>() },
            (nameof(Int64), true) => new Option<long?>(flag) { Description = d, DefaultValueFactory = _ => Maybe<long>() },
            (nameof(Double), false) => new Option<double>(flag) { Description = d, DefaultValueFactory = _ => Default<double>() },
            (nameof(Double), true) => new Option<double?>(flag) { Description = d, DefaultValueFactory = _ => Maybe<double>() },
            _ => throw new NotSupportedException($"{flag}: option records hold numbers, strings, enums, lists (of numbers, strings or enums) and records (got {t})"),
        };
    }
}
