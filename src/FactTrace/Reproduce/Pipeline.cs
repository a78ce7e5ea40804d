using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FactTrace.IO;

namespace FactTrace.Reproduce;

/// <summary>What a stage's action gets: the run folder, its own folder, and whether it continues a killed attempt.</summary>
public sealed record StageContext(string RunDir, string Dir, bool Resume, IProgress<string>? Log)
{
    /// <summary>The folder of another stage (by name) of the same run.</summary>
    public string Of(string stageName) => Path.Combine(RunDir, stageName);
}

/// <summary>
/// One step of a reproduction: a name (also its folder, relative to the run), the stages whose outputs it reads, the
/// options that determine its outputs (hashed), the action that makes them, and the check that they are complete.
/// </summary>
public sealed record Stage
{
    public required string Name { get; init; }
    /// <summary>Stages that must be done before this one runs.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = [];
    /// <summary>Stages this one reads when they are done and does without otherwise (the report).</summary>
    public IReadOnlyList<string> OptionalInputs { get; init; } = [];
    /// <summary>Everything that determines the outputs, serialized to JSON (snake_case) and hashed.</summary>
    public object? Options { get; init; }
    public required Action<StageContext> Run { get; init; }
    /// <summary>Null when the outputs in the stage's folder are complete, else what is missing.</summary>
    public required Func<string, string?> Check { get; init; }
    /// <summary>False: the stage is recorded as not available (with <see cref="UnavailableMessage"/>) and not run.</summary>
    public bool Available { get; init; } = true;
    public string UnavailableMessage { get; init; } = NoAnalysis.Message;
    /// <summary>True: an attempt that was killed (or failed) with the same options is continued in its folder
    /// (<see cref="StageContext.Resume"/>); otherwise the folder is emptied first.</summary>
    public bool Resumable { get; init; }
}

/// <summary>What one pipeline run did with each stage.</summary>
public sealed record PipelineResult(IReadOnlyList<string> Ran, IReadOnlyList<string> Skipped, IReadOnlyList<string> NotAvailable,
    IReadOnlyList<string> Resumed);

/// <summary>
/// Runs stages in order against <c>manifest.json</c>. A stage is skipped only when its record says done, with the same
/// options hash, and its output check passes; otherwise it is redone (continued when it is resumable and a killed or
/// failed attempt with the same hash left its folder). The hash covers the stage's options and the hash and completion
/// id of each input, so changed options redo that stage and every stage downstream of it. A stage that is not
/// available, or whose inputs are not done, is recorded as not available and the pipeline goes on; an error in a stage
/// is recorded as failed and stops the run. A lock file keeps two runs out of one folder.
/// </summary>
public static class Pipeline
{
    public const string LockFile = ".lock";

    public static PipelineResult Run(string runDir, IReadOnlyList<Stage> stages, Manifest header, IProgress<string>? log = null)
    {
        Validate(stages);
        Directory.CreateDirectory(runDir);
        using var lockStream = AcquireLock(runDir);
        var old = Manifest.Load(runDir);
        var records = new List<StageRecord>();
        var manifest = header with { Stages = records };
        // Records of stages that are not in this plan are dropped: their folders stay, but nothing vouches for them.
        StageRecord? Previous(string name) => old?.Find(name);
        void Save() => manifest.Save(runDir);
        void Set(StageRecord r)
        {
            var i = records.FindIndex(x => x.Name == r.Name);
            if (i >= 0) records[i] = r; else records.Add(r);
            Save();
        }

        // Stages not reached yet keep their old records (so a failure leaves the rest of the manifest as it was).
        foreach (var s in stages) if (Previous(s.Name) is { } p) records.Add(p);
        Save();

        List<string> ran = [], skipped = [], unavailable = [], resumed = [];
        foreach (var stage in stages)
        {
            var dir = Path.Combine(runDir, stage.Name);
            var optionsNode = JsonSerializer.SerializeToNode(stage.Options, Json.Line);
            var missing = stage.Inputs.Where(i => records.Find(r => r.Name == i)?.Status != StageStatus.Done).ToList();
            var hash = Hash(stage, optionsNode, records);
            var prev = Previous(stage.Name);
            var inputs = stage.Inputs.Concat(stage.OptionalInputs).ToList();

            if (!stage.Available || missing.Count > 0)
            {
                var why = !stage.Available ? stage.UnavailableMessage : $"needs {string.Join(", ", missing)}, which {(missing.Count == 1 ? "is" : "are")} not done";
                Set(new StageRecord { Name = stage.Name, Status = StageStatus.NotAvailable, OptionsHash = hash, Options = optionsNode, Inputs = inputs, Message = why });
                log?.Report($"{stage.Name}: not available ({why})");
                unavailable.Add(stage.Name);
                continue;
            }

            if (prev is { Status: StageStatus.Done } && prev.OptionsHash == hash && stage.Check(dir) is null)
            {
                log?.Report($"{stage.Name}: done already (options {hash}), skipped");
                skipped.Add(stage.Name);
                continue;
            }

            var resume = stage.Resumable && prev is { Status: StageStatus.Running or StageStatus.Failed } && prev.OptionsHash == hash
                         && Directory.Exists(dir);
            if (!resume && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            var started = DateTimeOffset.UtcNow;
            Set(new StageRecord { Name = stage.Name, Status = StageStatus.Running, OptionsHash = hash, Options = optionsNode, Inputs = inputs, Started = started });
            log?.Report(resume ? $"{stage.Name}: running again over its interrupted attempt" : $"{stage.Name}: running");
            var clock = Stopwatch.StartNew();
            string? incomplete;
            try
            {
                stage.Run(new StageContext(runDir, dir, resume, log));
                incomplete = stage.Check(dir);
            }
            catch (Exception e)
            {
                Set(new StageRecord
                {
                    Name = stage.Name, Status = StageStatus.Failed, OptionsHash = hash, Options = optionsNode, Inputs = inputs,
                    Started = started, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), Message = e.Message.ReplaceLineEndings(" "),
                });
                throw;
            }
            if (incomplete is not null)
            {
                var message = $"stage {stage.Name} finished but its output is incomplete: {incomplete}";
                Set(new StageRecord
                {
                    Name = stage.Name, Status = StageStatus.Failed, OptionsHash = hash, Options = optionsNode, Inputs = inputs,
                    Started = started, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), Message = message,
                });
                throw new FactTraceException(message);
            }
            Set(new StageRecord
            {
                Name = stage.Name, Status = StageStatus.Done, OptionsHash = hash, Options = optionsNode, Inputs = inputs,
                Completion = Guid.NewGuid().ToString("N")[..12], Started = started, Finished = DateTimeOffset.UtcNow,
                Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
            });
            log?.Report($"{stage.Name}: done in {clock.Elapsed.TotalSeconds:F1} s");
            (resume ? resumed : ran).Add(stage.Name);
        }
        return new PipelineResult(ran, skipped, unavailable, resumed);
    }

    /// <summary>SHA-256 over the stage's name and options and, per input, its status, hash and completion id.</summary>
    static string Hash(Stage stage, JsonNode? options, List<StageRecord> records)
    {
        var sb = new StringBuilder();
        sb.Append(stage.Name).Append('\n').Append(options?.ToJsonString(Json.Line) ?? "null").Append('\n');
        foreach (var input in stage.Inputs.Concat(stage.OptionalInputs))
        {
            var r = records.Find(x => x.Name == input);
            sb.Append(input).Append(':').Append(r?.Status).Append(':').Append(r?.OptionsHash).Append(':').Append(r?.Completion).Append('\n');
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString()))).ToLowerInvariant()[..16];
    }

    static void Validate(IReadOnlyList<Stage> stages)
    {
        var seen = new HashSet<string>();
        foreach (var s in stages)
        {
            foreach (var i in s.Inputs.Concat(s.OptionalInputs))
                if (!seen.Contains(i)) throw new ArgumentException($"stage '{s.Name}' reads '{i}', which is not an earlier stage");
            if (!seen.Add(s.Name)) throw new ArgumentException($"stage '{s.Name}' appears twice");
            if (s.Name.Length == 0 || Path.IsPathRooted(s.Name) || s.Name.Split('/').Any(p => p is "" or "." or ".."))
                throw new ArgumentException($"stage name '{s.Name}' is not a relative folder");
        }
    }

    static FileStream AcquireLock(string runDir)
    {
        var path = Path.Combine(runDir, LockFile);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw FactTraceException.Usage($"'{runDir}' is in use by another `facttrace reproduce` (lock file {LockFile})");
        }
    }
}
