using System.Text.Json;
using System.Text.Json.Nodes;
using FactTrace.Models;
using FactTrace.World;

namespace FactTrace.Study;

/// <summary>What <see cref="StudyPlan"/>'s stages check their folders with, and the fingerprints of pretrained inputs.</summary>
static class StageChecks
{
    public static string? WorldComplete(string dir)
    {
        foreach (var f in new[] { FactWorld.InfoFile, FactWorld.PeopleFile, FactWorld.BioFile, FactWorld.QaTrainFile,
                     FactWorld.QaTestIdFile, FactWorld.QaTestOodFile, "tokenizer.json" })
            if (!File.Exists(Path.Combine(dir, f))) return $"{f} missing";
        return null;
    }

    public static string? TrainingComplete(string dir)
    {
        if (!HfCheckpoint.IsCheckpointFolder(Path.Combine(dir, "final"))) return "final/ checkpoint missing";
        if (!File.Exists(Path.Combine(dir, "metrics.jsonl"))) return "metrics.jsonl missing";
        return JsonComplete(dir, "eval.json");
    }

    /// <summary>Null if <paramref name="file"/> in <paramref name="dir"/> exists and parses as JSON.</summary>
    public static string? JsonComplete(string dir, string file)
    {
        var path = Path.Combine(dir, file);
        if (!File.Exists(path)) return $"{file} missing";
        try { using var _ = JsonDocument.Parse(File.ReadAllText(path)); return null; }
        catch (JsonException) { return $"{file} is not valid JSON"; }
    }

    public static JsonArray BundledFingerprint(string name)
    {
        var a = new JsonArray();
        foreach (var (file, bytes) in BundledModels.Manifest(name)) a.Add(new JsonObject { ["name"] = file, ["bytes"] = bytes });
        return a;
    }

    /// <summary>Names, sizes and modification times of a pretrained folder's files: a changed download redoes the run.</summary>
    public static JsonArray FilesFingerprint(string folder)
    {
        var a = new JsonArray();
        foreach (var f in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
        {
            var i = new FileInfo(f);
            a.Add(new JsonObject { ["name"] = i.Name, ["bytes"] = i.Length, ["modified"] = i.LastWriteTimeUtc.ToString("O") });
        }
        return a;
    }
}
