namespace FactTrace.IO;

/// <summary>
/// Writes a whole output folder atomically: content goes into a hidden temp folder beside the target, which is
/// renamed into place only when complete. An existing non-empty target is refused unless <c>force</c> is set, and
/// is then replaced only after the new content is complete.
/// </summary>
public static class OutputFolder
{
    /// <summary>
    /// Throws an <see cref="OptionException"/> for <paramref name="field"/> (the request field holding the folder) if
    /// <paramref name="dir"/> is a file, or exists, is not empty and <paramref name="force"/> is off.
    /// </summary>
    public static void CheckWritable(string dir, bool force, string field = "out")
    {
        if (File.Exists(dir)) throw new OptionException(field, $"'{dir}' is a file, not a folder");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any() && !force)
            throw new OptionException(field, $"'{dir}' is not empty (use `force` to replace it)");
        var parent = Path.GetDirectoryName(Path.GetFullPath(dir));
        if (parent is null) throw new OptionException(field, $"'{dir}' has no parent folder");
        try { Directory.CreateDirectory(parent); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new OptionException(field, $"'{dir}': cannot create parent folder ({e.Message})");
        }
    }

    /// <summary>Runs <paramref name="fill"/> on a temp folder, then moves it to <paramref name="dir"/>.</summary>
    public static void Create(string dir, bool force, Action<string> fill, string what = "output folder")
    {
        CheckWritable(dir, force);
        var full = Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        var tmp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(tmp);
            fill(tmp);
            if (Directory.Exists(full))
            {
                // Replace: move the old folder aside first so that a crash never leaves neither.
                var old = tmp + ".old";
                Directory.Move(full, old);
                Directory.Move(tmp, full);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp, full);
        }
        catch (UnauthorizedAccessException e)
        {
            TryDelete(tmp);
            throw new FactTraceException($"{what} '{dir}' is not writable ({e.Message})", ErrorKind.Usage);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    static void TryDelete(string d)
    {
        try { if (Directory.Exists(d)) Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
