using System.Text.Json;
using FactTrace.Cli;
using FactTrace.Models;
using FactTrace.Tests.Tracing;
using FactTrace.Tests.Training;
using FactTrace.Tracing;

namespace FactTrace.Tests.Cli;

[Collection("torch-threads")]
public class TraceCommandTests
{
    static (int Code, string Error) Run(params string[] args) => InProcessCli.Run(args);

    /// <summary>A world folder and a run folder with init/ and final/ (final = init + noise).</summary>
    static (string World, string Run) Setup()
    {
        var root = TrainingFixture.TempDir();
        var w = TraceFixture.World();
        var worldDir = Path.Combine(root, "world");
        w.Save(worldDir);
        var run = Path.Combine(root, "run");
        using (var init = TrainingFixture.Model(w)) HfCheckpoint.Save(init, Path.Combine(run, "init"), w.Tokenizer);
        using (var final = TraceFixture.Model(w)) HfCheckpoint.Save(final, Path.Combine(run, "final"), w.Tokenizer);
        return (worldDir, run);
    }

    static JsonElement Read(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    [Fact]
    public void TraceAblateAndGraftWriteTheirFiles()
    {
        var (world, run) = Setup();
        var trace = Path.Combine(run, "trace");
        var (code, err) = Run("trace", "--world", world, "--model", Path.Combine(run, "final"), "--out", trace,
            "--probe-bio-size", "4", "--probe-qa-size", "4", "--rho", "0.01,0.05", "--score", "fisher", "--threads", "1");
        Assert.True(code == 0, err);
        foreach (var f in new[] { "scores_bio.safetensors", "scores_qa.safetensors", "trace.json", "by_layer_component.csv", "by_head.csv", "by_neuron.csv",
                     "mask_bio_rho0.01.safetensors", "mask_qa_rho0.05.safetensors", "mask_shared_rho0.05.safetensors" })
            Assert.True(File.Exists(Path.Combine(trace, f)), f);
        var t = Read(Path.Combine(trace, "trace.json"));
        Assert.Equal("fisher", t.GetProperty("score").GetString());
        Assert.Equal(4, t.GetProperty("probe").GetProperty("bio_size").GetInt32());
        Assert.Equal(2, t.GetProperty("per_rho").GetArrayLength());
        // A non-empty --out is refused without --force.
        Assert.Equal(2, Run("trace", "--world", world, "--model", Path.Combine(run, "final"), "--out", trace, "--probe-bio-size", "2", "--probe-qa-size", "2").Code);

        var abl = Path.Combine(run, "ablate");
        (code, err) = Run("ablate", "--world", world, "--model", Path.Combine(run, "final"), "--mask", trace, "--rho", "0.05",
            "--controls", "2", "--eval-people", "3", "--out", abl, "--threads", "1");
        Assert.True(code == 0, err);
        var a = Read(Path.Combine(abl, "ablation.json"));
        Assert.Equal("reference", a.GetProperty("reset_to").GetString());
        Assert.Equal(0.05, a.GetProperty("rho").GetDouble());
        Assert.Equal(Path.GetFullPath(Path.Combine(run, "init")), a.GetProperty("reference").GetString());
        var names = a.GetProperty("conditions").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Equal(["none", "shared", "random", "bio_only", "qa_only", "top_heads", "random_heads"], names);
        foreach (var c in a.GetProperty("conditions").EnumerateArray())
            foreach (var key in new[] { "mask_size", "draws", "qa_id", "qa_ood", "bio_memorization", "qa_id_sd", "qa_ood_sd", "bio_memorization_sd" })
                Assert.True(c.TryGetProperty(key, out _), key);

        var graft = Path.Combine(run, "graft");
        (code, err) = Run("graft", "--world", world, "--model", Path.Combine(run, "final"), "--out", graft, "--steps", "2",
            "--sparsity", "0.05", "--shared", Path.Combine(trace, "mask_shared_rho0.05.safetensors"), "--eval-people", "3", "--threads", "1");
        Assert.True(code == 0, err);
        var g = Read(Path.Combine(graft, "graft.json"));
        foreach (var key in new[] { "format_version", "sparsity", "mask_size", "qa_id", "qa_ood", "bio_memorization", "overlap_with_shared", "steps" })
            Assert.True(g.TryGetProperty(key, out _), key);
        foreach (var key in new[] { "rho", "precision", "recall", "enrichment" })
            Assert.True(g.GetProperty("overlap_with_shared").TryGetProperty(key, out _), key);
        Assert.Equal(0.05, g.GetProperty("overlap_with_shared").GetProperty("rho").GetDouble());
        Assert.True(File.Exists(Path.Combine(graft, "graft_mask.safetensors")));
    }

    [Fact]
    public void TraceDuringTrainingReadsTheRunsScores()
    {
        var root = TrainingFixture.TempDir();
        var w = TraceFixture.World();
        var worldDir = Path.Combine(root, "world");
        w.Save(worldDir);
        var run = Path.Combine(root, "run");
        var (code, err) = Run("train", "--world", worldDir, "--model", "micro-neox", "--strategy", "mixed", "--out", run, "--bio-epochs", "1",
            "--batch-size", "8", "--eval-every", "0", "--trace-score", "grad", "--threads", "1");
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(run, TrainingTrace.FolderName, TraceFiles.ScoresQa)));
        (code, err) = Run("trace", "--world", worldDir, "--model", Path.Combine(run, "final"), "--out", Path.Combine(run, "trace"),
            "--during-training", "--rho", "0.01");
        Assert.True(code == 0, err);
        var t = Read(Path.Combine(run, "trace", "trace.json"));
        Assert.Equal("during-training", t.GetProperty("when").GetString());
        Assert.Equal("micro-batch", t.GetProperty("granularity").GetString());
        // One epoch: every BIO and every ID question once.
        Assert.Equal(w.Bios.Count, t.GetProperty("probe").GetProperty("bio_size").GetInt32());
        Assert.Equal(w.QaTrain.Count, t.GetProperty("probe").GetProperty("qa_size").GetInt32());
        // Resuming a traced run is refused.
        Assert.Equal(2, Run("train", "--world", worldDir, "--strategy", "mixed", "--out", run, "--resume", "--trace-score", "grad").Code);
    }

    [Theory]
    [InlineData("--rho", "0")]
    [InlineData("--rho", "1.5")]
    [InlineData("--rho", "abc")]
    [InlineData("--rho", "0.01,0.01")]
    [InlineData("--scope", "local")]
    [InlineData("--score", "hessian")]
    [InlineData("--probe-bio-size", "0")]
    [InlineData("--micro-batch", "0")]
    public void BadTraceOptionsAreUsageErrors(string option, string value)
    {
        var (world, run) = Setup();
        var (code, err) = Run("trace", "--world", world, "--model", Path.Combine(run, "final"), "--out", Path.Combine(run, "t"), option, value);
        Assert.True(code == 2, $"{option} {value}: exit {code}, {err}");
        Assert.StartsWith("error:", err);
    }

    [Fact]
    public void AblateAndGraftUsageErrors()
    {
        var (world, run) = Setup();
        var final = Path.Combine(run, "final");
        Assert.Equal(2, Run("ablate", "--world", world, "--model", final, "--mask", Path.Combine(run, "nope.safetensors")).Code);
        Assert.Equal(2, Run("ablate", "--world", world, "--model", final, "--mask", run, "--rho", "0.01").Code); // no mask file in the folder
        Assert.Equal(2, Run("graft", "--world", world, "--model", final, "--out", Path.Combine(run, "g"), "--sparsity", "0").Code);
        Assert.Equal(2, Run("graft", "--world", world, "--model", final, "--out", Path.Combine(run, "g"), "--reference", Path.Combine(run, "none")).Code);
    }
}
