using FactTrace.IO;
using FactTrace.Study;
using FactTrace.Tests.World;

namespace FactTrace.Tests.Study;

public class PipelineTests
{
    /// <summary>Cheap fake stages a -> b -> c (and d reading only a) that write out.txt and count their runs.</summary>
    sealed class Fakes
    {
        public Dictionary<string, int> Runs { get; } = [];
        public Dictionary<string, object> Options { get; } = new() { ["a"] = 1, ["b"] = 1, ["c"] = 1, ["d"] = 1 };
        public Action<StageContext>? During { get; set; }
        public List<(string Stage, bool Resume)> Calls { get; } = [];

        public List<Stage> Stages() =>
        [
            Make("a", []),
            Make("b", ["a"], resumable: true),
            Make("c", ["b"]),
            Make("d", ["a"]),
        ];

        Stage Make(string name, string[] inputs, bool resumable = false) => new()
        {
            Name = name,
            Inputs = inputs,
            Options = new { value = Options[name] },
            Resumable = resumable,
            Run = c =>
            {
                Runs[name] = Runs.GetValueOrDefault(name) + 1;
                Calls.Add((name, c.Resume));
                File.WriteAllText(Path.Combine(c.Dir, "partial.txt"), "x");
                if (c.Name() == name) During?.Invoke(c);
                // Reads its inputs: an input's output must exist.
                foreach (var i in inputs) Assert.True(File.Exists(Path.Combine(c.Of(i), "out.txt")), $"{name} ran before {i}");
                File.WriteAllText(Path.Combine(c.Dir, "out.txt"), $"{name} {Options[name]}");
            },
            Check = d => File.Exists(Path.Combine(d, "out.txt")) ? null : "out.txt missing",
        };
    }

    static PipelineResult Run(string dir, Fakes f) => Pipeline.Run(dir, f.Stages(), new Manifest { Preset = "fake" });

    [Fact]
    public void FinishedStagesAreSkipped()
    {
        using var tmp = new TempDir();
        var f = new Fakes();
        var first = Run(tmp.Path, f);
        Assert.Equal(["a", "b", "c", "d"], first.Ran);
        var second = Run(tmp.Path, f);
        Assert.Empty(second.Ran);
        Assert.Equal(["a", "b", "c", "d"], second.Skipped);
        Assert.All(f.Runs.Values, n => Assert.Equal(1, n));
        var m = Manifest.Load(tmp.Path)!;
        Assert.All(m.Stages, s => Assert.Equal(StageStatus.Done, s.Status));
        Assert.All(m.Stages, s => Assert.Matches("^[0-9a-f]{16}$", s.OptionsHash));
        Assert.Equal(1, (int)m.Find("b")!.Options!["value"]!);
    }

    [Fact]
    public void ChangedOptionsRedoTheStageAndTheStagesDownstream()
    {
        using var tmp = new TempDir();
        var f = new Fakes();
        Run(tmp.Path, f);
        f.Options["b"] = 2;
        var r = Run(tmp.Path, f);
        Assert.Equal(["b", "c"], r.Ran);              // c reads b; d reads only a
        Assert.Equal(["a", "d"], r.Skipped);
        Assert.Equal("b 2", File.ReadAllText(Path.Combine(tmp.Path, "b", "out.txt")));

        f.Options["a"] = 5;
        Assert.Equal(["a", "b", "c", "d"], Run(tmp.Path, f).Ran);
        Assert.Equal(["a", "b", "c", "d"], Run(tmp.Path, f).Skipped);
    }

    [Fact]
    public void AnIncompleteOutputIsRedone()
    {
        using var tmp = new TempDir();
        var f = new Fakes();
        Run(tmp.Path, f);
        File.Delete(Path.Combine(tmp.Path, "c", "out.txt"));
        var r = Run(tmp.Path, f);
        Assert.Equal(["c"], r.Ran);
        Assert.Equal(2, f.Runs["c"]);

        // Redoing a stage gives it a new completion id: what read its outputs is redone too.
        File.Delete(Path.Combine(tmp.Path, "a", "out.txt"));
        Assert.Equal(["a", "b", "c", "d"], Run(tmp.Path, f).Ran);
    }

    [Fact]
    public void AStageThatLeavesIncompleteOutputFails()
    {
        using var tmp = new TempDir();
        var stages = new List<Stage> { new() { Name = "x", Run = _ => { }, Check = _ => "nothing written" } };
        var e = Assert.ThrowsAny<FactTraceException>(() => Pipeline.Run(tmp.Path, stages, new Manifest()));
        Assert.Contains("nothing written", e.Message);
        Assert.Equal(StageStatus.Failed, Manifest.Load(tmp.Path)!.Find("x")!.Status);
    }

    [Fact]
    public void AKilledStageIsRedoneAndAResumableOneContinues()
    {
        using var tmp = new TempDir();
        var f = new Fakes();
        Run(tmp.Path, f);
        f.Options["b"] = 2;
        // Kill the process in the middle of b: what is on disk at that moment is the manifest saying "running" and
        // b's partial output. Simulated by snapshotting the manifest there and restoring it after the exception.
        string? snapshot = null;
        f.During = c => { snapshot = File.ReadAllText(Manifest.PathIn(tmp.Path)); throw new InvalidOperationException("killed"); };
        Assert.Throws<InvalidOperationException>(() => Run(tmp.Path, f));
        File.WriteAllText(Manifest.PathIn(tmp.Path), snapshot!);
        var killed = Manifest.Load(tmp.Path)!;
        Assert.Equal(StageStatus.Running, killed.Find("b")!.Status);
        Assert.True(File.Exists(Path.Combine(tmp.Path, "b", "partial.txt")));

        f.During = null;
        var r = Run(tmp.Path, f);
        Assert.Equal(["b"], r.Resumed);                 // same options: continued in its folder
        Assert.Equal(["c"], r.Ran);                     // downstream of a redone stage
        Assert.Equal(["a", "d"], r.Skipped);
        Assert.Equal(("b", true), f.Calls[^2]);
        Assert.All(Manifest.Load(tmp.Path)!.Stages, s => Assert.Equal(StageStatus.Done, s.Status));
    }

    [Fact]
    public void AKilledStageThatCannotResumeStartsFromAnEmptyFolder()
    {
        using var tmp = new TempDir();
        var f = new Fakes();
        string? snapshot = null;
        f.During = c =>
        {
            if (!c.Dir.EndsWith("c")) return;
            snapshot = File.ReadAllText(Manifest.PathIn(tmp.Path));
            throw new InvalidOperationException("killed");
        };
        Assert.Throws<InvalidOperationException>(() => Run(tmp.Path, f));
        File.WriteAllText(Manifest.PathIn(tmp.Path), snapshot!);
        File.WriteAllText(Path.Combine(tmp.Path, "c", "stale.txt"), "left by the killed attempt");
        f.During = null;
        var r = Run(tmp.Path, f);
        Assert.Equal(["c", "d"], r.Ran);
        Assert.Equal(["a", "b"], r.Skipped);
        Assert.Contains(("c", false), f.Calls);
        Assert.False(File.Exists(Path.Combine(tmp.Path, "c", "stale.txt")));
    }

    [Fact]
    public void AFailedStageIsRecordedAndStopsTheRun()
    {
        using var tmp = new TempDir();
        var f = new Fakes { During = c => throw new FactTraceException("disk full") };
        Assert.ThrowsAny<FactTraceException>(() => Run(tmp.Path, f));
        var m = Manifest.Load(tmp.Path)!;
        Assert.Equal(StageStatus.Failed, m.Find("a")!.Status);
        Assert.Equal("disk full", m.Find("a")!.Message);
        Assert.Null(m.Find("b"));
    }

    [Fact]
    public void UnavailableStagesAreRecordedAndTheirDependentsToo()
    {
        using var tmp = new TempDir();
        var stages = new List<Stage>
        {
            new() { Name = "train", Run = c => File.WriteAllText(Path.Combine(c.Dir, "x"), ""), Check = _ => null },
            new() { Name = "trace/mixed", Inputs = ["train"], Available = false, Run = _ => throw new InvalidOperationException(), Check = _ => null },
            new() { Name = "ablate/mixed", Inputs = ["trace/mixed"], Run = _ => throw new InvalidOperationException(), Check = _ => null },
            new() { Name = "report", OptionalInputs = ["train", "trace/mixed", "ablate/mixed"], Run = _ => { }, Check = _ => null },
        };
        var r = Pipeline.Run(tmp.Path, stages, new Manifest());
        Assert.Equal(["trace/mixed", "ablate/mixed"], r.NotAvailable);
        Assert.Equal(["train", "report"], r.Ran);
        var m = Manifest.Load(tmp.Path)!;
        Assert.Equal("not available", m.Find("trace/mixed")!.Message);
        Assert.Equal("needs trace/mixed, which is not done", m.Find("ablate/mixed")!.Message);
        Assert.Equal(["report"], Pipeline.Run(tmp.Path, stages, new Manifest()).Skipped.Where(s => s == "report"));

        // Once the analysis exists, it runs and the report that read its absence is redone.
        stages[1] = stages[1] with { Available = true, Run = c => { } };
        stages[2] = stages[2] with { Run = c => { } };
        var after = Pipeline.Run(tmp.Path, stages, new Manifest());
        Assert.Equal(["trace/mixed", "ablate/mixed", "report"], after.Ran);
    }

    [Fact]
    public void TwoRunsCannotShareAFolder()
    {
        using var tmp = new TempDir();
        var inner = new List<Stage>
        {
            new()
            {
                Name = "a",
                Run = c => Assert.Equal(FactTrace.IO.ErrorKind.Usage, Assert.ThrowsAny<FactTraceException>(() =>
                    Pipeline.Run(tmp.Path, [new Stage { Name = "z", Run = _ => { }, Check = _ => null }], new Manifest())).Kind),
                Check = _ => null,
            },
        };
        Pipeline.Run(tmp.Path, inner, new Manifest());
    }

    [Fact]
    public void StagesMustReadEarlierStages()
    {
        using var tmp = new TempDir();
        var bad = new List<Stage> { new() { Name = "a", Inputs = ["b"], Run = _ => { }, Check = _ => null } };
        Assert.Throws<ArgumentException>(() => Pipeline.Run(tmp.Path, bad, new Manifest()));
    }
    /// <summary>Stages x and y (independent) then z reading both; x and y each wait for the other to have started.</summary>
    static List<Stage> Pair(Barrier? meet, List<string> order, Action<string>? during = null) =>
    [
        .. new[] { "x", "y" }.Select(n => new Stage
        {
            Name = n,
            Options = new { n },
            Run = c =>
            {
                lock (order) order.Add(n + "+");
                // Both must be running at once: with one job this would time out.
                if (meet is not null) Assert.True(meet.SignalAndWait(TimeSpan.FromSeconds(20)), $"{n}: the other stage never started");
                during?.Invoke(n);
                File.WriteAllText(Path.Combine(c.Dir, "out.txt"), n);
                lock (order) order.Add(n + "-");
            },
            Check = d => File.Exists(Path.Combine(d, "out.txt")) ? null : "out.txt missing",
        }),
        new Stage
        {
            Name = "z",
            Inputs = ["x", "y"],
            Run = c =>
            {
                lock (order) order.Add("z+");
                foreach (var i in new[] { "x", "y" }) Assert.True(File.Exists(Path.Combine(c.Of(i), "out.txt")));
                File.WriteAllText(Path.Combine(c.Dir, "out.txt"), "z");
            },
            Check = d => File.Exists(Path.Combine(d, "out.txt")) ? null : "out.txt missing",
        },
    ];

    [Fact]
    public void IndependentStagesRunSideBySideAndDependentsWait()
    {
        using var tmp = new TempDir();
        var order = new List<string>();
        using var meet = new Barrier(2);
        var r = Pipeline.Run(tmp.Path, Pair(meet, order), new Manifest { Preset = "fake" }, jobs: 2);
        Assert.Equal(["x", "y", "z"], r.Ran.Order());
        Assert.Equal("z+", order[^1]);
        Assert.True(order.IndexOf("x-") < order.IndexOf("z+") && order.IndexOf("y-") < order.IndexOf("z+"));
        // The manifest keeps plan order and says done for all; a rerun skips everything, with one job as with two.
        Assert.Equal(["x", "y", "z"], Manifest.Load(tmp.Path)!.Stages.Select(s => s.Name));
        Assert.Equal(["x", "y", "z"], Pipeline.Run(tmp.Path, Pair(null, []), new Manifest { Preset = "fake" }).Skipped);
    }

    [Fact]
    public void AFailureLetsTheOtherRunningStageFinishThenStops()
    {
        using var tmp = new TempDir();
        var order = new List<string>();
        using var meet = new Barrier(2);
        var e = Assert.Throws<InvalidOperationException>(() => Pipeline.Run(tmp.Path,
            Pair(meet, order, n => { if (n == "x") throw new InvalidOperationException("x broke"); Thread.Sleep(200); }),
            new Manifest { Preset = "fake" }, jobs: 2));
        Assert.Equal("x broke", e.Message);
        var m = Manifest.Load(tmp.Path)!;
        Assert.Equal(StageStatus.Failed, m.Find("x")!.Status);
        Assert.Equal(StageStatus.Done, m.Find("y")!.Status);
        Assert.Null(m.Find("z"));
        Assert.DoesNotContain("z+", order);
        // The rerun does x again, keeps y, then z.
        var r = Pipeline.Run(tmp.Path, Pair(null, []), new Manifest { Preset = "fake" }, jobs: 2);
        Assert.Equal(["x", "z"], r.Ran);
        Assert.Equal(["y"], r.Skipped);
    }

    [Fact]
    public void CancellationStartsNoNewStageAndExits130()
    {
        using var tmp = new TempDir();
        using var cts = new CancellationTokenSource();
        var order = new List<string>();
        var e = Assert.Throws<PipelineInterrupted>(() => Pipeline.Run(tmp.Path, Pair(null, order, n => cts.Cancel()),
            new Manifest { Preset = "fake" }, jobs: 1, cancel: cts.Token));
        Assert.Equal(FactTrace.IO.ErrorKind.Interrupted, e.Kind);
        Assert.Equal(["x+", "x-"], order); // x finished; y and z never started
        var r = Pipeline.Run(tmp.Path, Pair(null, []), new Manifest { Preset = "fake" });
        Assert.Equal(["x"], r.Skipped);
        Assert.Equal(["y", "z"], r.Ran);
    }
}

static class StageContextName
{
    /// <summary>The stage's own name, from its folder.</summary>
    public static string Name(this StageContext c) => Path.GetFileName(c.Dir);
}
