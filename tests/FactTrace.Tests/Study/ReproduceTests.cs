using FactTrace.Cli;
using FactTrace.Interventions;
using FactTrace.Tracing;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Reporting;
using FactTrace.Study;
using FactTrace.Tests.Reporting;
using FactTrace.Tests.World;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Tests.Study;

[Collection("torch-threads")]
public class ReproduceTests
{
    /// <summary>The tiny preset shrunk to seconds: 16 people, micro-neox, a few epochs, small analyses.</summary>
    internal static Preset Micro() => Presets.Tiny with
    {
        Name = "micro",
        World = new WorldOptions(People: 16, BioVariants: 1),
        Model = "micro-neox",
        TwoStage = new TrainOptions { Strategy = Strategy.TwoStage, BioEpochs = 2, QaEpochs = 1, BatchSize = 8, EvalEvery = 1, EvalPeople = 3, CheckpointEvery = 2, LogEvery = 1 },
        Mixed = new TrainOptions { Strategy = Strategy.Mixed, BioEpochs = 2, BatchSize = 8, EvalEvery = 1, EvalPeople = 3, CheckpointEvery = 2, LogEvery = 1 },
        Trace = new TraceOptions { Probe = new ProbeOptions { BioSize = 8, QaSize = 8 } },
        Ablate = new AblationOptions { Controls = 2, Heads = 1, EvalPeople = 4 },
        Graft = new GraftOptions { Steps = 3, EvalPeople = 4 },
        Robustness = new RobustnessOptions { Rhos = [0.01, 0.05], ResetRhos = [0.05], Controls = 1, EvalPeople = 4, Probe = new ProbeOptions { BioSize = 8, QaSize = 8 } },
    };

    static readonly string[] All = ["world", "init", "two-stage", "mixed", "trace/two-stage", "trace/mixed", "ablate/two-stage",
        "ablate/mixed", "graft/two-stage", "graft/mixed", "robustness/two-stage", "robustness/mixed", "report"];

    [Fact]
    public void RunsEveryStageFromTheLibraryResumesAndRedoesWhatChanged()
    {
        TorchSharp.torch.set_num_threads(1);
        using var tmp = new TempDir();
        var request = new StudyRequest { Preset = Micro(), OutDir = tmp.Sub("run") };

        var first = Reproduction.Run(request);
        Assert.Equal(All, first.Ran);
        var run = request.OutDir;
        Assert.True(HfCheckpoint.IsCheckpointFolder(Path.Combine(run, "init")));
        foreach (var s in StudyPlan.Strategies)
        {
            Assert.True(File.Exists(Path.Combine(run, s, "eval.json")));
            Assert.True(HfCheckpoint.IsCheckpointFolder(Path.Combine(run, s, "final")));
            // The analyses wrote the library's own records, read back by the same types.
            var trace = Json.ReadFile<TraceReport>(Path.Combine(run, "trace", s, TraceFiles.Report));
            Assert.Equal(8, trace.Probe.BioSize);
            var ablation = Json.ReadFile<AblationReport>(Path.Combine(run, "ablate", s, AblationRun.ReportFile));
            Assert.Equal(Path.GetFullPath(Path.Combine(run, "init")), ablation.Reference);
            Assert.Contains(ablation.Conditions, c => c.Name == "shared");
            Assert.Equal(3, Json.ReadFile<GraftReport>(Path.Combine(run, "graft", s, GraftRun.ReportFile)).Steps);
        }
        // Both strategies start from the same init/ weights.
        Assert.Contains(Path.GetFullPath(Path.Combine(run, "init")), File.ReadAllText(Path.Combine(run, "mixed", "train.json")));
        Assert.Contains(Path.GetFullPath(Path.Combine(run, "init")), File.ReadAllText(Path.Combine(run, "two-stage", "train.json")));
        var md = File.ReadAllText(Path.Combine(run, "report", "report.md"));
        Assert.Contains("learning_curves.png", md);
        Assert.Contains("density_layer_head.png", md);
        Assert.Contains("Trace used: |g|: S_T[i] = sum over the probe examples of |dL/dtheta_i|; computed after training on a probe set (8 BIOs", md);
        Assert.Contains("our reconstruction, not the paper's during-training formula", md);
        var manifest = Manifest.Load(run)!;
        Assert.Equal("micro", manifest.Preset);
        // manifest.json records each stage's option record in the preset's vocabulary, the run's seed filled in.
        Assert.Equal(2, manifest.Find("ablate/mixed")!.Options!["controls"]!.GetValue<int>());
        Assert.Equal(0, manifest.Find("trace/mixed")!.Options!["probe"]!["seed"]!.GetValue<int>());

        // Rerun: nothing to do.
        var second = Reproduction.Run(request);
        Assert.Empty(second.Ran);
        Assert.Equal(All, second.Skipped);

        // A changed mixed option redoes mixed, its analyses and the report only.
        var changed = request with { Preset = request.Preset with { Mixed = request.Preset.Mixed with { Lr = 1e-3 } } };
        var third = Reproduction.Run(changed);
        Assert.Equal(["mixed", "trace/mixed", "ablate/mixed", "graft/mixed", "robustness/mixed", "report"], third.Ran);
        Assert.Equal(["world", "init", "two-stage", "trace/two-stage", "ablate/two-stage", "graft/two-stage", "robustness/two-stage"], third.Skipped);
    }

    [Fact]
    public void AnInterruptedTrainingStageContinuesFromItsCheckpoint()
    {
        TorchSharp.torch.set_num_threads(1);
        using var tmp = new TempDir();
        var preset = Micro();
        // StopAfterStep abandons the run mid-way without saving (a crash); it is not part of the options hash.
        var crashing = new StudyRequest { Preset = preset with { Mixed = preset.Mixed with { StopAfterStep = 3 } }, OutDir = tmp.Sub("run") };
        Assert.Throws<TrainingStopped>(() => Reproduction.Run(crashing));
        var m = Manifest.Load(crashing.OutDir)!;
        Assert.Equal(StageStatus.Failed, m.Find("mixed")!.Status);
        Assert.NotNull(new StateStore(Path.Combine(crashing.OutDir, "mixed", "state")).Latest());

        var r = Reproduction.Run(crashing with { Preset = preset });
        Assert.Equal(["mixed"], r.Resumed);
        Assert.Contains("world", r.Skipped);
        Assert.Contains("two-stage", r.Skipped);
        Assert.Contains("report", r.Ran);
        Assert.Equal(StageStatus.Done, Manifest.Load(crashing.OutDir)!.Find("mixed")!.Status);
    }

    [Fact]
    public void ThePapersTraceAccumulatesDuringTheTrainingsAndTheTraceStagesRankIt()
    {
        TorchSharp.torch.set_num_threads(1);
        using var tmp = new TempDir();
        var preset = Micro() with { Trace = Micro().Trace with { Score = ScoreKind.LrGrad } };
        var request = new StudyRequest { Preset = preset, OutDir = tmp.Sub("run") };
        Assert.Equal(All, Reproduction.Run(request).Ran);
        foreach (var s in StudyPlan.Strategies)
        {
            Assert.True(File.Exists(Path.Combine(request.OutDir, s, TrainingTrace.FolderName, TraceFiles.ScoresBio)));
            var trace = Json.ReadFile<TraceReport>(Path.Combine(request.OutDir, "trace", s, TraceFiles.Report));
            Assert.Equal(("lr-grad", "during-training"), (trace.Score, trace.When));
            Assert.True(trace.Units.Bio > 0 && trace.Units.Qa > 0);
        }
        var md = File.ReadAllText(Path.Combine(request.OutDir, "report", "report.md"));
        Assert.Contains("Trace used: the paper's trace: Delta_T[i] = sum over the training examples n of task T of lr", md);
        // A traced training is continued after a kill (its checkpoints hold the sums).
        Assert.True(StudyPlan.Plan(request).Single(st => st.Name == "mixed").Resumable);
    }

    [Fact]
    public void AnExtraPrecisionTrainsBothStrategiesAgainAndTheRobustnessTableComparesThem()
    {
        TorchSharp.torch.set_num_threads(1);
        using var tmp = new TempDir();
        var m = Micro();
        var preset = m with
        {
            TwoStage = m.TwoStage with { Precision = Precision.Fp32 }, Mixed = m.Mixed with { Precision = Precision.Fp32 },
            Trace = m.Trace with { Score = ScoreKind.LrGrad },
            Robustness = m.Robustness with { Precisions = [Precision.Bf16], Scores = [ScoreKind.LrGrad, ScoreKind.Grad] },
        };
        var request = new StudyRequest { Preset = preset, OutDir = tmp.Sub("run") };
        var ran = Reproduction.Run(request).Ran;
        Assert.Equal(["precision-bf16/two-stage", "precision-bf16/mixed", "precision-bf16/robustness/two-stage", "precision-bf16/robustness/mixed"],
            ran.Where(n => n.StartsWith("precision-")));
        var bf16 = Json.ReadFile<RobustnessReport>(Path.Combine(request.OutDir, "precision-bf16", "robustness", "mixed", RobustnessReport.FileName));
        Assert.Equal("bf16", bf16.Precision);
        Assert.Contains(bf16.Variants, v => v.Score == "lr-grad");
        Assert.Contains("\"precision\": \"bf16\"", File.ReadAllText(Path.Combine(request.OutDir, "precision-bf16", "mixed", "train.json")));
        var md = File.ReadAllText(Path.Combine(request.OutDir, "report", "report.md"));
        Assert.Contains("| lr-grad (during training, micro-batch) | global | 1% | bf16 |", md);
        Assert.Contains("| lr-grad (during training, micro-batch) | global | 1% | fp32 |", md);
        // The main trainings at that precision already: nothing extra.
        Assert.DoesNotContain(StudyPlan.Plan(request with { Preset = preset with { Robustness = preset.Robustness with { Precisions = [Precision.Fp32] } } }),
            st => st.Name.StartsWith("precision-"));
    }

    [Fact]
    public void WithoutAReportStageThePlanEndsWithTheAnalyses()
    {
        var plan = StudyPlan.Plan(new StudyRequest { Preset = Micro(), OutDir = "unused" });
        Assert.Equal(All[..^1], plan.Select(s => s.Name));
        var withReport = StudyPlan.Plan(new StudyRequest { Preset = Micro(), OutDir = "unused" }, FactTrace.Reporting.ReportStage.Instance);
        Assert.Equal(All, withReport.Select(s => s.Name));
    }

    [Fact]
    public void SeveralSeedsGetOneFolderEachAndOneReport()
    {
        TorchSharp.torch.set_num_threads(1);
        using var tmp = new TempDir();
        var preset = Micro() with
        {
            TwoStage = Micro().TwoStage with { BioEpochs = 1 },
            Mixed = Micro().Mixed with { BioEpochs = 1 },
        };
        var r = Reproduction.Run(new StudyRequest { Preset = preset, OutDir = tmp.Sub("run"), Seeds = 2 });
        Assert.Contains("seed-1/mixed", r.Ran);
        Assert.Equal("report", r.Ran[^1]);
        var m = Manifest.Load(tmp.Sub("run"))!;
        Assert.Equal(["seed-0", "seed-1"], m.SeedFolders);
        var worlds = new[] { 0, 1 }.Select(k => FactWorld.Load(Path.Combine(tmp.Sub("run"), $"seed-{k}", "world"))).ToList();
        Assert.Equal([0L, 1L], worlds.Select(w => w.Options.Seed));
        Assert.Contains("over the 2 seeds", File.ReadAllText(Path.Combine(tmp.Sub("run"), "report", "report.md")));
    }

    [Fact]
    public void RefusesAFolderThatIsNotARun()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.Sub("notes.txt"), "mine");
        var e = Assert.ThrowsAny<FactTraceException>(() => Reproduction.Run(new StudyRequest { Preset = Micro(), OutDir = tmp.Path }));
        Assert.Equal(ErrorKind.Usage, e.Kind);
        Assert.Contains("manifest.json", e.Message);
    }
}

[Collection("torch-threads")]
public class PresetTests
{
    static (int Code, string Error) Cli(params string[] args) => InProcessCli.Run(args);

    [Fact]
    public void APresetFileOverridesTheTinyPresetFieldByField()
    {
        using var tmp = new TempDir();
        var f = tmp.File("mine.json");
        File.WriteAllText(f, """{"mixed": {"bio_epochs": 7}, "world": {"people": 40}, "trace": {"rho": [0.02]}}""");
        var p = Presets.Load(f);
        Assert.Equal("mine", p.Name);
        Assert.Equal(7, p.Mixed.BioEpochs);
        Assert.Equal(Presets.Tiny.Mixed with { BioEpochs = 7 }, p.Mixed);
        Assert.Equal(Presets.Tiny.TwoStage, p.TwoStage);
        Assert.Equal(Presets.Tiny.World with { People = 40 }, p.World);
        Assert.Equal([0.02], p.Trace.Rhos);
        Assert.Equal(Presets.Tiny.Model, p.Model);
        // An empty file is the tiny preset under the file's name.
        File.WriteAllText(f, "{}");
        Assert.Equal(Presets.Tiny.Mixed, Presets.Load(f).Mixed);
    }

    [Fact]
    public void TinyIsTheDocumentedDefault()
    {
        var p = Presets.Get("tiny");
        Assert.Same(Presets.Tiny, p);
        Assert.Equal(new WorldOptions(500, 0, 0.5, 5, true, true), p.World);
        Assert.Equal("tiny-neox", p.Model);
        Assert.Equal((Strategy.Mixed, 16, 3e-3), (p.Mixed.Strategy, p.Mixed.BioEpochs, p.Mixed.Lr));
        Assert.Equal((Strategy.TwoStage, 16, 6, 3e-3), (p.TwoStage.Strategy, p.TwoStage.BioEpochs, p.TwoStage.QaEpochs, p.TwoStage.Lr));
        Assert.False(p.NeedsModel);
        Assert.Equal(Precisions.Fastest, p.Mixed.Precision);
        Assert.Equal(Precisions.Fastest, p.TwoStage.Precision);
        Assert.Equal(["tiny", "single-bio", "stories260k", "pythia-2.8b", "llama-3.2-1b", "llama-3.2-3b"], Presets.Names);
        // The hard case differs only in its world (one fixed-order BIO per person) and epochs.
        Assert.Equal(new WorldOptions(500, 0, 0.5, 1, false, true), Presets.SingleBio.World);
        Assert.Equal(p.Model, Presets.SingleBio.Model);
    }

    static string FakeHfFolder(TempDir tmp, string shape, Func<ModelConfig, ModelConfig>? edit = null, bool weights = true, string? tokenizer = "tokenizer.json")
    {
        var dir = tmp.Sub(shape + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dir);
        var config = NamedConfigs.GetPublished(shape);
        File.WriteAllText(Path.Combine(dir, "config.json"), (edit?.Invoke(config) ?? config).ToJson());
        if (weights) File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), "{}");
        if (tokenizer is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(dir, tokenizer))!);
            File.WriteAllText(Path.Combine(dir, tokenizer), "{}");
        }
        return dir;
    }

    [Fact]
    public void PretrainedPresetsValidateTheirFolder()
    {
        using var tmp = new TempDir();
        var pythia = Presets.Get("pythia-2.8b");
        Presets.ValidatePretrained(pythia, FakeHfFolder(tmp, "pythia-2.8b"));
        Presets.ValidatePretrained(Presets.Get("llama-3.2-1b"), FakeHfFolder(tmp, "llama-3.2-1b", tokenizer: Path.Combine("original", "tokenizer.model")));

        string Error(Preset p, string? path) => Assert.ThrowsAny<FactTraceException>(() => Presets.ValidatePretrained(p, path)).Message;
        Assert.Contains("huggingface-cli download EleutherAI/pythia-2.8b", Error(pythia, null));
        Assert.Contains("is not a folder", Error(pythia, tmp.Sub("nowhere")));
        Assert.Contains("needs gpt_neox", Error(pythia, FakeHfFolder(tmp, "llama-3.2-1b")));
        Assert.Contains("hidden_size 512 (expected 2560)", Error(pythia, FakeHfFolder(tmp, "pythia-70m")));
        Assert.Contains("no safetensors weights", Error(pythia, FakeHfFolder(tmp, "pythia-2.8b", weights: false)));
        Assert.Contains("no tokenizer", Error(pythia, FakeHfFolder(tmp, "pythia-2.8b", tokenizer: null)));
        Assert.Contains("num_key_value_heads", Error(Presets.Get("llama-3.2-3b"),
            FakeHfFolder(tmp, "llama-3.2-3b", c => c with { NumKeyValueHeads = 4 })));
        var noConfig = tmp.Sub("empty");
        Directory.CreateDirectory(noConfig);
        Assert.Contains("has no config.json", Error(pythia, noConfig));
    }

    [Theory]
    [InlineData("--preset", "pythia-2.8b")]
    [InlineData("--preset", "llama-3.2-3b")]
    [InlineData("--preset", "gpt-5")]
    [InlineData("--seeds", "0")]
    public void BadReproduceInputExitsTwoWithOneLine(string option, string value)
    {
        using var tmp = new TempDir();
        var (code, error) = Cli("reproduce", "--out", tmp.Sub("run"), option, value);
        Assert.Equal(2, code);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: ", error);
        Assert.False(Directory.Exists(tmp.Sub("run")));
    }

    [Fact]
    public void ReportVerbWritesTheReportAndRefusesNonRuns()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        SyntheticRun.Write(tmp.Sub("run"), two, mixed);
        Assert.Equal((0, ""), Cli("report", tmp.Sub("run")));
        Assert.True(File.Exists(Path.Combine(tmp.Sub("run"), "report", "report.html")));
        Directory.CreateDirectory(tmp.Sub("empty"));
        Assert.Equal(2, Cli("report", tmp.Sub("empty")).Code);
        Assert.Equal(2, Cli("report", tmp.Sub("run"), "--rho", "0").Code);
    }
}
