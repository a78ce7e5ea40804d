using System.Runtime.InteropServices;

namespace FactTrace.IO;

/// <summary>
/// A token cancelled by Ctrl-C (SIGINT) or SIGTERM, which then no longer end the process at once: give it to a
/// training or a study (<c>StudyRequest.Cancel</c>), which saves a resumable state and stops with an
/// <see cref="ErrorKind.Interrupted"/> error.
/// </summary>
public sealed class Interrupt : IDisposable
{
    readonly CancellationTokenSource cts = new();
    readonly List<PosixSignalRegistration> registrations = [];

    public Interrupt()
    {
        foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            registrations.Add(PosixSignalRegistration.Create(signal, ctx =>
            {
                ctx.Cancel = true;
                cts.Cancel();
            }));
    }

    public CancellationToken Token => cts.Token;

    public void Dispose()
    {
        foreach (var r in registrations) r.Dispose();
        cts.Dispose();
    }
}
