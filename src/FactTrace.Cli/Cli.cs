using System.CommandLine;
using FactTrace.IO;

namespace FactTrace.Cli;

/// <summary>Shared CLI plumbing: exit codes, one-line errors, the global --verbose flag.</summary>
public static class Cli
{
    public const int Ok = 0, RuntimeError = 1, UsageError = 2, Interrupted = 130;

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Print stack traces on errors.",
        Recursive = true,
    };

    /// <summary>Parses and runs; parse errors exit 2, <see cref="FactTraceException"/> exits with its code, anything else 1.</summary>
    public static int Run(RootCommand root, string[] args, TextWriter? stderr = null)
    {
        stderr ??= Console.Error;
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // Prefer the error that names the offending token over "required command was not provided".
            var first = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized")) ?? parsed.Errors[0];
            stderr.WriteLine($"error: {OptionOf(first)}{OneLine(first.Message)} (see 'facttrace --help')");
            return UsageError;
        }
        var verbose = parsed.GetValue(Verbose);
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (FactTraceException e)
        {
            stderr.WriteLine($"error: {OneLine(MessageOf(e, parsed.CommandResult.Command))}");
            if (verbose) stderr.WriteLine(e);
            return ExitCode(e.Kind);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"error: {OneLine(e.Message)}");
            if (verbose) stderr.WriteLine(e);
            return RuntimeError;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"error: {e.GetType().Name}: {OneLine(e.Message)} (run with --verbose for details)");
            if (verbose) stderr.WriteLine(e);
            return RuntimeError;
        }
    }

    /// <summary>The exit code of a library error: usage 2, data or runtime 1, interrupted 130.</summary>
    public static int ExitCode(ErrorKind kind) => kind switch
    {
        ErrorKind.Usage => UsageError,
        ErrorKind.Interrupted => Interrupted,
        _ => RuntimeError,
    };

    /// <summary>
    /// The one-line message of a library error. An option field (<see cref="OptionException"/>) that the command has as a
    /// flag is named by the flag (<c>bio_epochs</c> -> <c>--bio-epochs</c>); other fields keep their JSON path (a preset
    /// file's <c>two_stage.bio_epochs</c>).
    /// </summary>
    public static string MessageOf(FactTraceException e, Command command)
    {
        if (e is not OptionException o) return e.Message;
        var flags = command.Options.Select(x => x.Name).ToHashSet();
        return o.MessageWith(field => flags.Contains(Flags.Of(field)) ? Flags.Of(field) : field);
    }

    /// <summary>"--name: " when the error belongs to an option's value, so the line names the option.</summary>
    static string OptionOf(System.CommandLine.Parsing.ParseError e) => e.SymbolResult switch
    {
        System.CommandLine.Parsing.OptionResult o => $"{o.Option.Name}: ",
        System.CommandLine.Parsing.ArgumentResult { Parent: System.CommandLine.Parsing.OptionResult o } => $"{o.Option.Name}: ",
        _ => "",
    };

    static string OneLine(string s) => System.Text.RegularExpressions.Regex.Replace(s, @"\s*[\r\n]+\s*", " ").Trim();

    /// <summary>Checks a numeric option is positive; a usage error naming the option otherwise.</summary>
    public static int Positive(ParseResult r, Option<int> o)
    {
        var v = r.GetValue(o);
        if (v <= 0) throw new OptionException(o.Name.TrimStart('-').Replace('-', '_'), $"must be a positive integer (got {v})");
        return v;
    }
}
