using FactTrace.IO;

namespace FactTrace.Training;

/// <summary>
/// The resumable checkpoints of a run, crash-safe at every instant: each save is a new complete folder
/// (<c>state/step-N-ID/</c>, written as a temp folder and renamed into place), then the one-line pointer file
/// <c>state/latest</c> is replaced atomically, then older folders are removed. A kill at any point leaves
/// <c>latest</c> naming a complete checkpoint (or no pointer yet: the run starts from the beginning).
/// </summary>
public sealed class StateStore(string dir)
{
    public string Dir { get; } = dir;
    string Pointer => Path.Combine(Dir, "latest");

    /// <summary>The folder of the latest complete checkpoint, or null if there is none.</summary>
    public string? Latest()
    {
        if (!File.Exists(Pointer)) return null;
        var name = File.ReadAllText(Pointer).Trim();
        if (name.Length == 0 || name.Contains('/') || name.Contains(".."))
            throw new FactTraceException($"trainer state pointer '{Pointer}' is damaged (\"{name}\")");
        var folder = Path.Combine(Dir, name);
        if (!Directory.Exists(folder))
            throw new FactTraceException($"trainer state pointer '{Pointer}' names '{name}', which does not exist");
        return folder;
    }

    /// <summary>Writes a new checkpoint with <paramref name="fill"/> and makes it the latest.</summary>
    public void Save(long step, Action<string> fill)
    {
        Directory.CreateDirectory(Dir);
        var name = $"step-{step:D9}-{Guid.NewGuid():N}"[..24];
        OutputFolder.Create(Path.Combine(Dir, name), force: false, fill, "trainer state folder");
        AtomicFile.WriteAllText(Pointer, name + "\n");
        foreach (var old in Directory.EnumerateDirectories(Dir).Where(d => Path.GetFileName(d) != name).ToList())
            try { Directory.Delete(old, recursive: true); } catch (IOException) { }
        foreach (var tmp in Directory.EnumerateFiles(Dir, ".*.tmp").ToList())
            try { File.Delete(tmp); } catch (IOException) { }
    }
}
