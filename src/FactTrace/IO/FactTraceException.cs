using System.Text.RegularExpressions;

namespace FactTrace.IO;

/// <summary>What kind of failure an error is: the caller (the CLI) maps it to an exit code.</summary>
public enum ErrorKind
{
    /// <summary>A file's content is wrong, or the work failed (CLI exit 1).</summary>
    Data,
    /// <summary>The request is wrong: a bad option value, a missing or non-empty folder (CLI exit 2).</summary>
    Usage,
    /// <summary>Cancelled (Ctrl-C) after saving a resumable state (CLI exit 130).</summary>
    Interrupted,
}

/// <summary>
/// An error the user can fix (bad path, bad option, damaged file), as one line. The library names files and option
/// fields, never command-line flags: <see cref="OptionException"/> carries the field, and the CLI turns it into its flag.
/// </summary>
public class FactTraceException : Exception
{
    public ErrorKind Kind { get; }
    public FactTraceException(string message, ErrorKind kind = ErrorKind.Data, Exception? inner = null) : base(message, inner) => Kind = kind;

    /// <summary>A request error that is not about one option field: a missing path, a refused resume, a busy folder.</summary>
    public static FactTraceException Usage(string message) => new(message, ErrorKind.Usage);
}

/// <summary>
/// A value of an option record (or of a request) that cannot be used. <see cref="Field"/> is the JSON path of the field
/// as written in presets and manifest.json (<c>bio_epochs</c>, <c>two_stage.bio_epochs</c>, <c>probe.bio_size</c>);
/// <see cref="Problem"/> says what is wrong and may name other fields in backquotes (<c>`force`</c>), which the CLI
/// renders as flags. The message reads "field: problem".
/// </summary>
public sealed class OptionException(string field, string problem) : FactTraceException($"{field}: {Plain(problem)}", ErrorKind.Usage)
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;

    /// <summary>The same error for a field nested in <paramref name="parent"/> (e.g. "two_stage" + "bio_epochs").</summary>
    public OptionException Within(string parent) => new($"{parent}.{Field}", Problem);

    /// <summary>The message with the field and the fields it mentions spelled by <paramref name="name"/> (e.g. as flags).</summary>
    public string MessageWith(Func<string, string> name) =>
        $"{name(Field)}: {Regex.Replace(Problem, "`([a-z0-9_.]+)`", m => name(m.Groups[1].Value))}";

    static string Plain(string problem) => Regex.Replace(problem, "`([a-z0-9_.]+)`", "$1");

    /// <summary>Runs <paramref name="validate"/>, re-throwing its field errors as fields of <paramref name="parent"/>.</summary>
    public static void Nested(string parent, Action validate)
    {
        try { validate(); }
        catch (OptionException e) { throw e.Within(parent); }
    }
}
