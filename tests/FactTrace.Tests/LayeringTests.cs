using System.Text.RegularExpressions;

namespace FactTrace.Tests;

/// <summary>
/// The architecture as tests: the library's folders depend one way along the data flow, no type name is declared twice
/// in src/, and no source file grows past ~300 lines without saying why at its top.
/// </summary>
public class LayeringTests
{
    /// <summary>The folders of src/FactTrace in dependency order: each may use only the ones before it.</summary>
    static readonly string[] Layers = ["IO", "Text", "World", "Models", "Training", "Evaluation", "Tracing", "Interventions", "Study", "Reporting"];

    static string Src()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "FactTrace.slnx"))) dir = Path.GetDirectoryName(dir) ?? throw new InvalidOperationException("no FactTrace.slnx above the tests");
        return Path.Combine(dir, "src");
    }

    static IEnumerable<string> Sources(string dir) =>
        Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));

    [Fact]
    public void LibraryFoldersDependOneWayAlongTheDataFlow()
    {
        var lib = Path.Combine(Src(), "FactTrace");
        var rank = Layers.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        var folders = Directory.EnumerateDirectories(lib).Select(Path.GetFileName).Where(n => n is not ("bin" or "obj")).ToList();
        Assert.Equal(Layers.Order(), folders.Order()!); // a new folder takes its place in Layers
        var wrong = new List<string>();
        foreach (var layer in Layers)
            foreach (var file in Sources(Path.Combine(lib, layer)))
            {
                var text = File.ReadAllText(file);
                foreach (var used in Regex.Matches(text, @"\bFactTrace\.(\w+)").Select(m => m.Groups[1].Value).Distinct())
                    if (rank.TryGetValue(used, out var r) && r > rank[layer])
                        wrong.Add($"{Path.GetRelativePath(lib, file)} uses {used}");
            }
        Assert.Empty(wrong);
    }

    [Fact]
    public void NoTypeNameIsDeclaredTwiceInSrc()
    {
        var declared = Sources(Src())
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"^\s*(?:(?:public|internal|private|protected|file|sealed|static|abstract|readonly|partial)\s+)*(?:class|record|struct|enum|interface)\s+([A-Z]\w*)", RegexOptions.Multiline)
                .Select(m => (Name: m.Groups[1].Value, File: Path.GetRelativePath(Src(), f))))
            .GroupBy(x => x.Name)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(x => x.File))}");
        Assert.Empty(declared);
    }

    [Fact]
    public void LongFilesSayWhyAtTheirTop()
    {
        var unexplained = Sources(Src())
            .Where(f => File.ReadLines(f).Count() > 320)
            .Where(f => !File.ReadLines(f).Take(15).Any(l => l.Contains("longer than", StringComparison.OrdinalIgnoreCase)))
            .Select(f => Path.GetRelativePath(Src(), f));
        Assert.Empty(unexplained);
    }
}
