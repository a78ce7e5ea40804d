using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FactTrace.Tests.Reliability;

/// <summary>Runs the real `facttrace` executable (built beside the tests) as a child process.</summary>
public static partial class CliProcess
{
    public static string Executable => Path.Combine(AppContext.BaseDirectory, "facttrace");

    /// <summary>
    /// Starts the CLI with SIGINT and SIGTERM at their default disposition, through coreutils
    /// <c>env --default-signal=INT,TERM</c> (which then execs the CLI: same process id). A child inherits ignored
    /// signals, and a test runner started as a background job (<c>nohup bash .ci/run &amp;</c>, a non-interactive
    /// shell's <c>&amp;</c>) has SIGINT ignored; the .NET runtime leaves a signal that was ignored at start-up ignored,
    /// so without the reset the Ctrl-C tests' SIGINT would do nothing.
    /// </summary>
    public static Process Start(params string[] args)
    {
        var psi = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("--default-signal=INT,TERM");
        psi.ArgumentList.Add(Executable);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        // Drain the pipes so that a chatty child never blocks on a full pipe.
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return p;
    }

    /// <summary>Runs to the end; returns the exit code and standard error.</summary>
    public static (int Code, string Error) Run(params string[] args)
    {
        using var p = Start(args);
        var err = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException(string.Join(" ", args)); }
        return (p.ExitCode, err);
    }

    /// <summary>
    /// Starts the CLI, sends SIGINT once <paramref name="ready"/> holds (within <paramref name="wait"/>), and checks the
    /// interrupted run exits 130 with one clean message containing <paramref name="expected"/>.
    /// </summary>
    public static void InterruptWhen(string[] args, Func<bool> ready, TimeSpan wait, string expected)
    {
        using var p = Start(args);
        var clock = Stopwatch.StartNew();
        while (!p.HasExited && !ready() && clock.Elapsed < wait) Thread.Sleep(5);
        Assert.False(p.HasExited, "the run ended before it could be interrupted");
        Signal(p, SigInt);
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(130, p.ExitCode);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    public const int SigInt = 2, SigKill = 9;

    public static void Signal(Process p, int signal)
    {
        if (kill(p.Id, signal) != 0) throw new InvalidOperationException($"kill({p.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }
}
