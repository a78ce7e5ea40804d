namespace FactTrace.IO;

/// <summary>
/// An error the user can fix (bad path, bad option, damaged file). The CLI prints <see cref="Exception.Message"/> as
/// one line and exits with <see cref="ExitCode"/>: 2 for usage errors, 1 for runtime failures. Never a stack trace.
/// </summary>
public class FactTraceException : Exception
{
    public int ExitCode { get; }
    public FactTraceException(string message, int exitCode = 1, Exception? inner = null) : base(message, inner) => ExitCode = exitCode;

    /// <summary>A usage error: wrong option value, missing or non-empty folder. Exit code 2.</summary>
    public static FactTraceException Usage(string message) => new(message, 2);
}
