using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.Study;

/// <summary>The state of one stage in <c>manifest.json</c>.</summary>
public static class StageStatus
{
    /// <summary>Started and not (yet) finished: a run in progress, or one that was killed.</summary>
    public const string Running = "running";
    /// <summary>Finished; its outputs were complete when it finished.</summary>
    public const string Done = "done";
    /// <summary>Threw an error; the message is recorded.</summary>
    public const string Failed = "failed";
    /// <summary>Not run: the build lacks it, or a stage it needs is not done.</summary>
    public const string NotAvailable = "not_available";
}

/// <summary>One stage's record in <c>manifest.json</c>.</summary>
public sealed record StageRecord
{
    /// <summary>The stage's name, which is also its folder relative to the run (e.g. <c>trace/mixed</c>, <c>seed-1/world</c>).</summary>
    public required string Name { get; init; }
    public required string Status { get; init; }
    /// <summary>SHA-256 (16 hex digits) of the stage's options and of the hash and completion id of every input.</summary>
    public string? OptionsHash { get; init; }
    /// <summary>The options that produced the outputs (for people; the hash is what is compared).</summary>
    public JsonNode? Options { get; init; }
    public IReadOnlyList<string> Inputs { get; init; } = [];
    /// <summary>A fresh id each time the stage finishes: later stages hash it, so redoing a stage redoes what used its outputs.</summary>
    public string? Completion { get; init; }
    public DateTimeOffset? Started { get; init; }
    public DateTimeOffset? Finished { get; init; }
    public double? Seconds { get; init; }
    /// <summary>Why a stage failed or is not available.</summary>
    public string? Message { get; init; }
}

/// <summary>
/// <c>runs/NAME/manifest.json</c>: what the run is (preset, seeds, the options of every stage, versions) and the state
/// of every stage. Written atomically after every change of state, so a killed run leaves the truth behind.
/// </summary>
public sealed record Manifest
{
    public const string FileName = "manifest.json";
    public const int CurrentFormat = 1;

    public int FormatVersion { get; init; } = CurrentFormat;
    public string? Preset { get; init; }
    public int Seeds { get; init; } = 1;
    /// <summary>The folders holding one seed's run each, relative to the run: <c>["."]</c> or <c>["seed-0", "seed-1", ...]</c>.</summary>
    public IReadOnlyList<string> SeedFolders { get; init; } = ["."];
    /// <summary>The reference weights for ablation and grafting: <c>init</c> (from scratch) or a pretrained folder.</summary>
    public string? Reference { get; init; }
    public Dictionary<string, string> Versions { get; init; } = [];
    /// <summary>The resolved preset (every stage's options).</summary>
    public JsonNode? Options { get; init; }
    public DateTimeOffset? Updated { get; init; }
    public List<StageRecord> Stages { get; init; } = [];

    public StageRecord? Find(string name) => Stages.FirstOrDefault(s => s.Name == name);

    public static string PathIn(string runDir) => System.IO.Path.Combine(runDir, FileName);

    /// <summary>The manifest of <paramref name="runDir"/>, or null if it has none.</summary>
    public static Manifest? Load(string runDir)
    {
        var path = PathIn(runDir);
        if (!File.Exists(path)) return null;
        var m = Json.ReadFile<Manifest>(path, "manifest");
        if (m.FormatVersion > CurrentFormat)
            throw new FactTraceException($"manifest '{path}': format_version {m.FormatVersion} is newer than this program ({CurrentFormat})");
        return m;
    }

    public void Save(string runDir) =>
        AtomicFile.WriteAllText(PathIn(runDir), JsonSerializer.Serialize(this with { Updated = DateTimeOffset.UtcNow }, Json.Indented) + "\n");

    /// <summary>The versions of the program and its main libraries, for the record.</summary>
    public static Dictionary<string, string> CurrentVersions() => new()
    {
        ["facttrace"] = typeof(Manifest).Assembly.GetName().Version?.ToString() ?? "?",
        ["torchsharp"] = typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?",
        ["dotnet"] = Environment.Version.ToString(),
    };
}
