using System.Diagnostics;
using System.Text.Json;
using FactTrace.Study;

namespace FactTrace.Tests.Reliability;

/// <summary>
/// `facttrace reproduce` killed with SIGKILL at stage boundaries and in the middle of stages (two stages running side
/// by side, --jobs 2), then rerun until it finishes, ends with the same outputs as one uninterrupted sequential run:
/// finished stages are not redone, a killed training continues from its checkpoint, and Ctrl-C exits 130 resumably.
/// </summary>
[Collection("processes")]
public sealed class ReproduceKillTests(ReproduceKillTests.Reference reference) : IClassFixture<ReproduceKillTests.Reference>, IDisposable
{
    /// <summary>A seconds-long preset (a preset file, as a researcher would write one).</summary>
    const string MicroPreset = """
        {
          "name": "micro",
          "world": { "people": 16, "bio_variants": 2, "permute": true },
          "model": "micro-neox",
          "two_stage": { "bio_epochs": 16, "qa_epochs": 6, "batch_size": 8, "eval_every": 4, "eval_people": 3, "checkpoint_every": 5, "log_every": 2 },
          "mixed": { "bio_epochs": 16, "batch_size": 8, "eval_every": 4, "eval_people": 3, "checkpoint_every": 5, "log_every": 2 },
          "trace": { "probe": { "bio_size": 8, "qa_size": 8 } },
          "ablate": { "controls": 2, "heads": 1, "eval_people": 4 },
          "graft": { "steps": 5, "eval_people": 4 }
        }
        """;

    public sealed class Reference : IDisposable
    {
        readonly TempDir tmp = new();
        public string Preset { get; }
        public string Run { get; }

        public Reference()
        {
            Preset = tmp.File("micro.json");
            File.WriteAllText(Preset, MicroPreset);
            Run = tmp.Sub("reference");
            var (code, err) = CliProcess.Run("reproduce", "--preset", Preset, "--out", Run, "--threads", "1", "--jobs", "1");
            Assert.True(code == 0, err);
        }

        public void Dispose() => tmp.Dispose();
    }

    readonly TempDir tmp = new();
    public void Dispose() => tmp.Dispose();

    string[] Args(string run) => ["reproduce", "--preset", reference.Preset, "--out", run, "--threads", "2", "--jobs", "2"];

    /// <summary>Stage name -> status in the run's manifest (empty while there is none or it is being replaced).</summary>
    static Dictionary<string, string> Statuses(string run)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, Manifest.FileName)));
            return doc.RootElement.GetProperty("stages").EnumerateArray()
                .ToDictionary(s => s.GetProperty("name").GetString()!, s => s.GetProperty("status").GetString()!);
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException) { return []; }
    }

    static bool Is(string run, string stage, string status) => Statuses(run).GetValueOrDefault(stage) == status;

    static int MetricsLines(string run, string stage)
    {
        try { return File.ReadAllLines(Path.Combine(run, stage, "metrics.jsonl")).Length; }
        catch (IOException) { return 0; }
    }

    /// <summary>The outputs that must not depend on kills: weights, evaluations, traces, masks, ablations, grafts.</summary>
    static IEnumerable<string> Outputs(string run)
    {
        foreach (var s in StudyPlan.Strategies)
        {
            yield return $"{s}/final/model.safetensors";
            yield return $"{s}/eval.json";
            yield return $"trace/{s}/scores_bio.safetensors";
            yield return $"trace/{s}/scores_qa.safetensors";
            yield return $"trace/{s}/trace.json";
            yield return $"trace/{s}/mask_shared_rho0.01.safetensors";
            yield return $"ablate/{s}/ablation.json";
            yield return $"graft/{s}/graft.json";
            yield return $"graft/{s}/graft_mask.safetensors";
        }
        yield return "two-stage/stage1/model.safetensors";
        yield return "init/model.safetensors";
        yield return "world/bio.jsonl";
    }

    /// <summary>
    /// What must be equal of a file: JSON with the run's absolute path replaced by "RUN" (files name paths in their run);
    /// for safetensors every tensor's name, dtype, shape and bytes (the metadata names the model's path).
    /// </summary>
    static string Read(string run, string file)
    {
        var path = Path.Combine(run, file);
        if (!file.EndsWith(".safetensors"))
            return File.ReadAllText(path).Replace(Path.GetFullPath(run), "RUN", StringComparison.Ordinal);
        var sb = new System.Text.StringBuilder();
        foreach (var (name, t) in FactTrace.IO.Safetensors.Read(path).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            using (t)
            using (var c = t.contiguous())
                sb.Append(name).Append(' ').Append(t.dtype).Append(' ').Append(string.Join(",", t.shape)).Append(' ')
                  .Append(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(c.bytes.ToArray()))).Append('\n');
        }
        return sb.ToString();
    }

    void AssertSameOutputs(string run)
    {
        foreach (var f in Outputs(run)) Assert.True(Read(reference.Run, f) == Read(run, f), $"{f} differs");
        Assert.True(File.Exists(Path.Combine(run, "report", "report.html")));
        Assert.All(Statuses(run).Values, s => Assert.Equal(StageStatus.Done, s));
    }

    /// <summary>Starts the run, waits for <paramref name="when"/>, kills it; false if it finished first.</summary>
    bool KillWhen(string run, Func<bool> when, int signal = CliProcess.SigKill)
    {
        using var p = CliProcess.Start(Args(run));
        var clock = Stopwatch.StartNew();
        while (!p.HasExited && !when() && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(2);
        if (p.HasExited) { Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd()); return false; }
        CliProcess.Signal(p, signal);
        p.WaitForExit();
        return true;
    }

    [Fact]
    public void KilledAtBoundariesAndMidStageThenRerunEqualsAnUninterruptedRun()
    {
        var run = tmp.Sub("killed");
        var kills = new List<string>();
        // Boundaries (a stage just recorded done) and mid-stage points (trainings with a few metrics lines, analyses running).
        var points = new (string Name, Func<bool> When)[]
        {
            ("after init", () => Is(run, "init", StageStatus.Done)),
            ("mid training", () => MetricsLines(run, "two-stage") >= 8 && MetricsLines(run, "mixed") >= 8),
            ("later in training", () => MetricsLines(run, "two-stage") >= 30 || Is(run, "two-stage", StageStatus.Done)),
            ("after a training", () => Is(run, "two-stage", StageStatus.Done) || Is(run, "mixed", StageStatus.Done)),
            ("in the analyses", () => Statuses(run).Any(s => s.Key.StartsWith("ablate/") || s.Key.StartsWith("graft/"))),
        };
        foreach (var (name, when) in points)
            if (KillWhen(run, when)) kills.Add(name);
        Assert.True(kills.Count >= 3, $"only {kills.Count} kills landed: {string.Join(", ", kills)}");

        var (code, err) = CliProcess.Run(Args(run));
        Assert.True(code == 0, err);
        AssertSameOutputs(run);

        // Finished: a rerun redoes nothing (every stage keeps its completion id).
        static List<string> Completions(string run) => [.. Manifest.Load(run)!.Stages.Select(s => $"{s.Name} {s.Completion}").Order()];
        var before = Completions(run);
        (code, err) = CliProcess.Run(Args(run));
        Assert.True(code == 0, err);
        Assert.Equal(before, Completions(run));
    }

    [Fact]
    public void CtrlCExits130AndTheRerunFinishesTheSameRun()
    {
        var run = tmp.Sub("interrupted");
        CliProcess.InterruptWhen(Args(run), () => MetricsLines(run, "mixed") >= 6, TimeSpan.FromMinutes(2), "rerun the same command");
        Assert.Equal(StageStatus.Failed, Statuses(run)["mixed"]);
        var (code, err) = CliProcess.Run(Args(run));
        Assert.True(code == 0, err);
        AssertSameOutputs(run);
    }
}
