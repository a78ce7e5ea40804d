using System.Reflection;
using FactTrace.IO;

namespace FactTrace.Models;

/// <summary>
/// Pretrained models that ship inside the library (embedded resources from models/NAME/ of the repository, with their
/// licence): stories260K (Karpathy's llama2.c, MIT, 1 MB), so the stories260k preset runs with no download.
/// </summary>
public static class BundledModels
{
    const string Prefix = "FactTrace.Pretrained.";

    static Assembly Assembly => typeof(BundledModels).Assembly;

    /// <summary>The resource names of <paramref name="name"/>'s files (config.json, model.safetensors, ...), or empty.</summary>
    static List<(string Resource, string File)> Files(string name) =>
        Assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix + name + ".", StringComparison.Ordinal))
            .Select(n => (n, n[(Prefix.Length + name.Length + 1)..])).OrderBy(x => x.Item2, StringComparer.Ordinal).ToList();

    public static bool Has(string name) => Files(name).Any(f => f.File == HfCheckpoint.ConfigFile);

    /// <summary>Names, sizes of the bundled files: what a study's init stage fingerprints.</summary>
    public static IReadOnlyList<(string File, long Bytes)> Manifest(string name) =>
        Files(name).Select(f => { using var s = Assembly.GetManifestResourceStream(f.Resource)!; return (f.File, s.Length); }).ToList();

    /// <summary>Writes the model's HF folder (and its LICENSE) into <paramref name="dir"/>, each file atomically.</summary>
    public static void Extract(string name, string dir)
    {
        var files = Files(name);
        if (files.Count == 0) throw new FactTraceException($"no bundled model '{name}' in this build");
        Directory.CreateDirectory(dir);
        foreach (var (resource, file) in files)
        {
            using var s = Assembly.GetManifestResourceStream(resource)!;
            using var m = new MemoryStream();
            s.CopyTo(m);
            AtomicFile.WriteAllBytes(Path.Combine(dir, file), m.ToArray());
        }
    }
}
