namespace FactTrace.IO;

/// <summary>
/// Reports on the caller's thread, at once (System.Progress posts to another thread: too late for a progress bar,
/// and out of order for log lines).
/// </summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
