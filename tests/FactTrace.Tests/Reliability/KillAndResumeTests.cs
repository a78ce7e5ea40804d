using System.Diagnostics;
using System.Text.RegularExpressions;
using FactTrace.IO;
using FactTrace.Training;

namespace FactTrace.Tests.Reliability;

/// <summary>
/// A training run killed with SIGKILL at random moments (checkpoint writes included: it checkpoints every few
/// steps) and resumed each time ends exactly where an uninterrupted run ends: same weights, metrics and evaluation.
/// </summary>
[Collection("processes")]
public sealed class KillAndResumeTests(KillAndResumeTests.Reference reference) : IClassFixture<KillAndResumeTests.Reference>, IDisposable
{
    /// <summary>One world and one uninterrupted run, shared by the tests of this class.</summary>
    public sealed class Reference : IDisposable
    {
        readonly TempDir tmp = new();
        public string World { get; }
        public string Run { get; }
        public TimeSpan Duration { get; }

        public Reference()
        {
            World = tmp.Sub("world");
            var (code, err) = CliProcess.Run("world", "--out", World, "--people", "16", "--bio-variants", "2", "--permute");
            Assert.True(code == 0, err);
            Run = tmp.Sub("reference");
            var clock = Stopwatch.StartNew();
            (code, err) = CliProcess.Run(TrainArgs(World, Run));
            Assert.True(code == 0, err);
            Duration = clock.Elapsed;
        }

        public void Dispose() => tmp.Dispose();
    }

    readonly TempDir tmp = new();
    public void Dispose() => tmp.Dispose();

    static string[] TrainArgs(string world, string output) =>
    [
        "train", "--world", world, "--model", "micro-neox", "--strategy", "two-stage", "--bio-epochs", "24", "--qa-epochs", "8",
        "--batch-size", "8", "--checkpoint-every", "7", "--eval-every", "10", "--eval-people", "4", "--threads", "1",
        "--out", output,
    ];

    /// <summary>The last step in metrics.jsonl (-1 before the first line).</summary>
    static long LastStep(string run)
    {
        var file = Path.Combine(run, "metrics.jsonl");
        if (!File.Exists(file)) return -1;
        try
        {
            var m = Regex.Matches(File.ReadAllText(file), "\"step\":(\\d+)");
            return m.Count == 0 ? -1 : long.Parse(m[^1].Groups[1].Value);
        }
        catch (IOException) { return -1; }
    }

    static string Metrics(string run) => Regex.Replace(File.ReadAllText(Path.Combine(run, "metrics.jsonl")), "\"tokens_per_s\":[^,}]*", "");

    static void AssertSameRun(string expected, string actual)
    {
        Assert.Equal(File.ReadAllBytes(Path.Combine(expected, "final", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(actual, "final", "model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(expected, "stage1", "model.safetensors")),
            File.ReadAllBytes(Path.Combine(actual, "stage1", "model.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(expected, "eval.json")), File.ReadAllText(Path.Combine(actual, "eval.json")));
        Assert.Equal(Metrics(expected), Metrics(actual));
    }

    [Fact]
    public void SigkillAtRandomPointsThenResumeEqualsAnUninterruptedRun()
    {
        var world = reference.World;
        var run = tmp.Sub("killed");
        var rng = new Rng(7);
        int kills = 0;
        // Kill after progress, not after time (machines differ in speed): past a target step (metrics lines come every
        // 10 steps, checkpoints every 7) plus a random few milliseconds, so kills land in steps, evaluations and writes.
        foreach (var target in new[] { 0, 25, 60, 97, 130 })
        {
            using var p = CliProcess.Start(kills == 0 && target == 0 ? TrainArgs(world, run) : [.. TrainArgs(world, run), "--resume"]);
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && LastStep(run) < target && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(2);
            Thread.Sleep(rng.NextInt(40));
            if (p.HasExited) { Assert.True(p.ExitCode == 0, p.StandardError.ReadToEnd()); continue; }
            CliProcess.Signal(p, CliProcess.SigKill);
            p.WaitForExit();
            kills++;
        }
        Assert.True(kills >= 3, $"only {kills} kills landed");
        var (code, err) = CliProcess.Run([.. TrainArgs(world, run), "--resume"]);
        Assert.True(code == 0, err);
        AssertSameRun(reference.Run, run);
    }

    [Fact]
    public void CtrlCSavesAResumableStateAndExitsCleanly()
    {
        var world = reference.World;
        var run = tmp.Sub("interrupted");
        // Interrupt after the first checkpoint.
        var pointer = Path.Combine(run, "state", "latest");
        CliProcess.InterruptWhen(TrainArgs(world, run), () => File.Exists(pointer), TimeSpan.FromSeconds(60), "--resume");
        Assert.NotNull(new StateStore(Path.Combine(run, "state")).Latest());
        var (code, err) = CliProcess.Run([.. TrainArgs(world, run), "--resume"]);
        Assert.True(code == 0, err);
        AssertSameRun(reference.Run, run);
    }
}
