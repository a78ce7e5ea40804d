using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FactTrace.IO;

namespace FactTrace.Study;

/// <summary>What a stage's action gets: the run folder, its own folder, and whether it continues a killed attempt.</summary>
public sealed record StageContext(string RunDir, string Dir, bool Resume, IProgress<string>? Log)
{
    /// <summary>Cancelled by Ctrl-C: a long stage stops at a resumable point and throws.</summary>
    public CancellationToken Cancel { get; init; }

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
    public string UnavailableMessage { get; init; } = "not available";
    /// <summary>True: an attempt that was killed (or failed) with the same options is continued in its folder
    /// (<see cref="StageContext.Resume"/>); otherwise the folder is emptied first.</summary>
    public bool Resumable { get; init; }
}

/// <summary>Ctrl-C stopped the run between stages; rerunning continues it. Exit code 130.</summary>
public sealed class PipelineInterrupted(int left)
    : FactTraceException($"interrupted with {left} stage(s) left; rerun the same command to continue", ErrorKind.Interrupted);

/// <summary>What one pipeline run did with each stage.</summary>
public sealed record PipelineResult(IReadOnlyList<string> Ran, IReadOnlyList<string> Skipped, IReadOnlyList<string> NotAvailable,
    IReadOnlyList<string> Resumed);

/// <summary>
/// Runs stages against <c>manifest.json</c>, in plan order, up to <c>jobs</c> at a time: a stage starts once every stage
/// it reads is resolved, so the two trainings (and then each one's analyses) can run side by side. A stage is skipped only when its record says done, with the same
/// options hash, and its output check passes; otherwise it is redone (continued when it is resumable and a killed or
/// failed attempt with the same hash left its folder). The hash covers the stage's options and the hash and completion
/// id of each input, so changed options redo that stage and every stage downstream of it. A stage that is not
/// available, or whose inputs are not done, is recorded as not available and the pipeline goes on; an error in a stage
/// is recorded as failed and stops the run (stages already running finish first). Ctrl-C (the token) lets running
/// stages stop at a resumable point and starts no new one. A lock file keeps two runs out of one folder.
/// </summary>
public static class Pipeline
{
    public const string LockFile = ".lock";

    public static PipelineResult Run(string runDir, IReadOnlyList<Stage> stages, Manifest header, IProgress<string>? log = null,
        int jobs = 1, CancellationToken cancel = default)
    {
        Validate(stages);
        if (jobs < 1) throw new ArgumentOutOfRangeException(nameof(jobs), jobs, "at least one job");
        Directory.CreateDirectory(runDir);
        using var lockStream = AcquireLock(runDir);
        var old = Manifest.Load(runDir);
        var records = new List<StageRecord>();
        var manifest = header with { Stages = records };
        var gate = new object();
        var planOrder = stages.Select((st, k) => (st.Name, k)).ToDictionary(x => x.Name, x => x.k);
        // Records of stages that are not in this plan are dropped: their folders stay, but nothing vouches for them.
        StageRecord? Previous(string name) => old?.Find(name);
        void Set(StageRecord r)
        {
            lock (gate)
            {
                var i = records.FindIndex(x => x.Name == r.Name);
                if (i >= 0) records[i] = r; else records.Add(r);
                records.Sort((a, b) => planOrder[a.Name].CompareTo(planOrder[b.Name])); // plan order, whatever finished first
                manifest.Save(runDir);
            }
        }
        StageRecord? Current(string name) { lock (gate) return records.Find(r => r.Name == name); }

        // Stages not reached yet keep their old records (so a failure leaves the rest of the manifest as it was).
        foreach (var s in stages) if (Previous(s.Name) is { } p) records.Add(p);
        manifest.Save(runDir);

        List<string> ran = [], skipped = [], unavailable = [], resumed = [];
        var pending = stages.ToList();
        var resolved = new HashSet<string>();
        var running = new Dictionary<string, Task<bool>>();
        var failures = new List<Exception>();

        // A stage starts once every stage it reads has been resolved (done, skipped, not available or failed): its hash
        // covers their completion ids. Ready stages start in plan order, at most `jobs` at a time.
        while (pending.Count > 0 || running.Count > 0)
        {
            var stopping = failures.Count > 0 || cancel.IsCancellationRequested;
            for (int i = 0; !stopping && i < pending.Count && running.Count < jobs; i++)
            {
                var stage = pending[i];
                if (!stage.Inputs.Concat(stage.OptionalInputs).All(resolved.Contains)) continue;
                pending.RemoveAt(i--);
                var dir = Path.Combine(runDir, stage.Name);
                var optionsNode = JsonSerializer.SerializeToNode(stage.Options, Json.Line);
                var missing = stage.Inputs.Where(n => Current(n)?.Status != StageStatus.Done).ToList();
                string hash;
                lock (gate) hash = Hash(stage, optionsNode, records);
                var prev = Previous(stage.Name);
                var inputs = stage.Inputs.Concat(stage.OptionalInputs).ToList();

                if (!stage.Available || missing.Count > 0)
                {
                    var why = !stage.Available ? stage.UnavailableMessage : $"needs {string.Join(", ", missing)}, which {(missing.Count == 1 ? "is" : "are")} not done";
                    Set(new StageRecord { Name = stage.Name, Status = StageStatus.NotAvailable, OptionsHash = hash, Options = optionsNode, Inputs = inputs, Message = why });
                    log?.Report($"{stage.Name}: not available ({why})");
                    unavailable.Add(stage.Name);
                    resolved.Add(stage.Name);
                    i = -1; // a resolved stage may make an earlier one ready
                    continue;
                }
                if (prev is { Status: StageStatus.Done } && prev.OptionsHash == hash && stage.Check(dir) is null)
                {
                    log?.Report($"{stage.Name}: done already (options {hash}), skipped");
                    skipped.Add(stage.Name);
                    resolved.Add(stage.Name);
                    i = -1;
                    continue;
                }
                var resume = stage.Resumable && prev is { Status: StageStatus.Running or StageStatus.Failed } && prev.OptionsHash == hash
                             && Directory.Exists(dir);
                running[stage.Name] = Task.Factory.StartNew(() => Execute(stage, runDir, dir, resume, hash, optionsNode, inputs, Set, log, cancel),
                    CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            if (running.Count == 0)
            {
                if (pending.Count == 0 || stopping) break;
                throw new InvalidOperationException($"stage '{pending[0].Name}' can never start"); // Validate rules this out
            }
            var finished = Task.WaitAny([.. running.Values]);
            var (name, task) = running.ElementAt(finished);
            running.Remove(name);
            resolved.Add(name);
            if (task.IsFaulted) failures.Add(task.Exception!.InnerExceptions[0]);
            else (task.Result ? resumed : ran).Add(name);
        }
        if (failures.Count > 0) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failures[0]).Throw();
        if (pending.Count > 0)
            throw new PipelineInterrupted(pending.Count);
        return new PipelineResult(ran, skipped, unavailable, resumed);
    }

    /// <summary>Runs one stage and records its outcome; returns whether it continued an interrupted attempt.</summary>
    static bool Execute(Stage stage, string runDir, string dir, bool resume, string hash, JsonNode? optionsNode, List<string> inputs,
        Action<StageRecord> set, IProgress<string>? log, CancellationToken cancel)
    {
        if (!resume && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        var started = DateTimeOffset.UtcNow;
        set(new StageRecord { Name = stage.Name, Status = StageStatus.Running, OptionsHash = hash, Options = optionsNode, Inputs = inputs, Started = started });
        log?.Report(resume ? $"{stage.Name}: running again over its interrupted attempt" : $"{stage.Name}: running");
        var clock = Stopwatch.StartNew();
        StageRecord Failed(string message) => new()
        {
            Name = stage.Name, Status = StageStatus.Failed, OptionsHash = hash, Options = optionsNode, Inputs = inputs,
            Started = started, Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1), Message = message,
        };
        string? incomplete;
        try
        {
            stage.Run(new StageContext(runDir, dir, resume, log) { Cancel = cancel });
            incomplete = stage.Check(dir);
        }
        catch (Exception e)
        {
            set(Failed(e.Message.ReplaceLineEndings(" ")));
            throw;
        }
        if (incomplete is not null)
        {
            var message = $"stage {stage.Name} finished but its output is incomplete: {incomplete}";
            set(Failed(message));
            throw new FactTraceException(message);
        }
        set(new StageRecord
        {
            Name = stage.Name, Status = StageStatus.Done, OptionsHash = hash, Options = optionsNode, Inputs = inputs,
            Completion = Guid.NewGuid().ToString("N")[..12], Started = started, Finished = DateTimeOffset.UtcNow,
            Seconds = Math.Round(clock.Elapsed.TotalSeconds, 1),
        });
        log?.Report($"{stage.Name}: done in {clock.Elapsed.TotalSeconds:F1} s");
        return resume;
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
