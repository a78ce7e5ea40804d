using System.Text.Json;
using System.Text.Json.Nodes;
using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Study;

/// <summary>What a study (`facttrace reproduce`) is asked for.</summary>
public sealed record StudyRequest
{
    public required Preset Preset { get; init; }
    public required string OutDir { get; init; }
    /// <summary>Seeds 0..Seeds-1. One seed: the run folder holds the stages directly; more: one <c>seed-K/</c> folder each.</summary>
    public int Seeds { get; init; } = 1;
    /// <summary>A pretrained HF folder (pretrained presets), or a model spec replacing a from-scratch preset's model.</summary>
    public string? Model { get; init; }
    /// <summary>Stages run side by side (each with the process's torch threads; the CLI divides its threads among them).</summary>
    public int Jobs { get; init; } = 1;
    /// <summary>Ctrl-C: trainings save a resumable state, no new stage starts, and the run stops (interrupted).</summary>
    public CancellationToken Cancel { get; init; }
    /// <summary>Shows the progress of trainings and analyses (progress bars in the CLI); null = none.</summary>
    public IProgressHost? Host { get; init; }
}

/// <summary>Shows the progress of a long step of a study: called from the thread that runs the step.</summary>
public interface IProgressHost
{
    T Train<T>(string title, Func<IProgress<TrainProgress>?, T> work);
    T Work<T>(string title, Func<IProgress<WorkProgress>?, T> work);
}

/// <summary>
/// The last stage of a study: the report over every other stage's outputs. It lives in Reporting, which reads the
/// study's folders (Study does not depend on Reporting; <see cref="Reproduction"/> puts the two together).
/// </summary>
public interface IReportStage
{
    string FolderName { get; }
    void Build(string runDir, double headlineRho);
    /// <summary>Null when the report folder is complete, else what is missing.</summary>
    string? Check(string dir);
}

/// <summary>
/// The stage list of the whole study (world, init, two-stage and mixed training with their evaluation, trace,
/// ablation, grafting and, given an <see cref="IReportStage"/>, the report) for one preset and N seeds, run through
/// <see cref="Pipeline"/>. Every stage calls one library entry point (<see cref="TrainRun"/>, <see cref="TraceRun"/>,
/// <see cref="AblationRun"/>, <see cref="GraftRun"/>) with the preset's option record of that stage.
/// </summary>
public static class StudyPlan
{
    public static readonly string[] Strategies = ["two-stage", "mixed"];

    /// <summary>The seed folder prefix of seed <paramref name="k"/>: "" for a one-seed run, "seed-K/" otherwise.</summary>
    public static string SeedPrefix(int k, int seeds) => seeds == 1 ? "" : $"seed-{k}/";

    public static void Validate(StudyRequest r)
    {
        if (r.Seeds < 1) throw new OptionException("seeds", $"must be a positive integer (got {r.Seeds})");
        if (r.Seeds > 100) throw new OptionException("seeds", $"{r.Seeds}: at most 100");
        if (r.Jobs < 1) throw new OptionException("jobs", $"must be a positive integer (got {r.Jobs})");
        Presets.ValidatePretrained(r.Preset, r.Model);
        r.Preset.Validate();
        if (File.Exists(r.OutDir)) throw new OptionException("out", $"'{r.OutDir}' is a file, not a folder");
        if (Directory.Exists(r.OutDir) && Manifest.Load(r.OutDir) is null && Directory.EnumerateFileSystemEntries(r.OutDir).Any())
            throw new OptionException("out", $"'{r.OutDir}' is not empty and holds no {Manifest.FileName} (not a study run); choose another folder");
    }

    /// <summary>The model the two trainings start from: the run's init/ folder, or the pretrained folder.</summary>
    static string StartingPoint(StudyRequest r, string runDir, string prefix) =>
        ExternalModel(r) ? Path.GetFullPath(r.Model!) : Path.Combine(runDir, prefix + "init");

    /// <summary>A pretrained folder given by the user (the reference stays where it is); a bundled one is copied into init/.</summary>
    static bool ExternalModel(StudyRequest r) => r.Preset.NeedsModel && !string.IsNullOrEmpty(r.Model);

    static T Work<T>(StudyRequest r, string title, Func<IProgress<WorkProgress>?, T> work) =>
        r.Host is { } h ? h.Work(title, work) : work(null);

    public static IReadOnlyList<Stage> Plan(StudyRequest r, IReportStage? report = null)
    {
        var runDir = r.OutDir;
        var preset = r.Preset;
        var stages = new List<Stage>();
        var bundled = preset.NeedsModel && !ExternalModel(r) ? preset.Bundled : null;
        var modelSpec = bundled is not null ? $"bundled:{bundled}" : preset.NeedsModel ? Path.GetFullPath(r.Model!) : r.Model ?? preset.Model!;
        for (int k = 0; k < r.Seeds; k++)
        {
            var seed = k;
            var p = SeedPrefix(k, r.Seeds);
            string world = p + "world", init = p + "init";
            var worldOptions = preset.World with { Seed = seed };
            stages.Add(new Stage
            {
                Name = world,
                Options = worldOptions,
                Run = c => FactWorld.Generate(worldOptions).Save(c.Dir, force: true),
                Check = StageChecks.WorldComplete,
            });

            var initOptions = new JsonObject
            {
                ["model"] = modelSpec,
                ["seed"] = seed,
                ["pretrained_files"] = bundled is not null ? StageChecks.BundledFingerprint(bundled) : preset.NeedsModel ? StageChecks.FilesFingerprint(modelSpec) : null,
            };
            stages.Add(new Stage
            {
                Name = init,
                Inputs = [world],
                Options = initOptions,
                Run = c =>
                {
                    if (bundled is not null)
                    {
                        // The bundled pretrained model is the reference: init/ holds it, as it holds a fresh model's weights.
                        BundledModels.Extract(bundled, c.Dir);
                        return;
                    }
                    if (preset.NeedsModel)
                    {
                        // The reference weights are the pretrained folder itself: not copied, recorded.
                        AtomicFile.WriteAllText(Path.Combine(c.Dir, ReferenceFile), Json.Serialize(new { model = modelSpec }) + "\n");
                        return;
                    }
                    var w = FactWorld.Load(c.Of(world));
                    var source = ModelSource.Open(modelSpec, w, seed);
                    using var model = source.Model;
                    HfCheckpoint.Save(model, c.Dir, source.Tokenizer, force: true);
                },
                Check = d => HfCheckpoint.IsCheckpointFolder(d) || File.Exists(Path.Combine(d, ReferenceFile)) ? null : "no HF checkpoint (config.json + model.safetensors)",
            });

            // The paper's own trace (lr-grad) accumulates during training: the trainings then carry the observer, and the
            // trace stages rank what they wrote (train_scores/). The trainer's checkpoints hold the sums, so such a
            // training resumes after a kill like any other.
            var duringTraining = preset.Trace.Score == ScoreKind.LrGrad
                ? new TrainingTraceOptions { Score = ScoreKind.LrGrad, Granularity = Granularity.MicroBatch } : null;
            void Training(string train, string strategy, TrainOptions options)
            {
                stages.Add(new Stage
                {
                    Name = train,
                    Inputs = [world, init],
                    Options = duringTraining is null ? options : new { train = options, trace_during_training = duringTraining },
                    Resumable = true,
                    Run = c =>
                    {
                        var latest = new StateStore(Path.Combine(c.Dir, "state")).Latest();
                        var stateFile = latest is null ? "" : Path.Combine(latest, "trainer_state.json");
                        var resume = c.Resume && latest is not null;
                        if (c.Resume)
                            c.Log?.Report(resume
                                ? $"{train}: continuing from the checkpoint at step {TrainerStateStep(stateFile)}"
                                : $"{train}: the interrupted attempt left no checkpoint; starting over");
                        EvalResult? Work(IProgress<TrainProgress>? progress) => duringTraining is null
                            ? TrainRun.Run(c.Of(world), StartingPoint(r, runDir, p), c.Dir, options, resume, force: true, progress, c.Cancel)
                            : TracedTraining.Run(c.Of(world), StartingPoint(r, runDir, p), c.Dir, options, resume, force: !resume, duringTraining, progress, c.Cancel);
                        try
                        {
                            if (r.Host is null) Work(null);
                            else r.Host.Train(train, Work);
                        }
                        catch (TrainingInterrupted e)
                        {
                            throw new FactTraceException($"{train}: interrupted after step {e.Step}, its state saved; rerun the same command to continue", ErrorKind.Interrupted);
                        }
                    },
                    Check = d => StageChecks.TrainingComplete(d) ?? (duringTraining is not null && !File.Exists(Path.Combine(d, TrainingTrace.FolderName, TraceFiles.ScoresBio))
                        ? $"{TrainingTrace.FolderName}/{TraceFiles.ScoresBio} missing" : null),
                });
            }
            TrainOptions OptionsOf(string strategy) => (strategy == "mixed" ? preset.Mixed : preset.TwoStage) with { Seed = seed };
            foreach (var strategy in Strategies) Training(p + strategy, strategy, OptionsOf(strategy));

            // The analyses of each trained model, in plan order: both traces, then both ablations, then both grafts.
            void Analysis(string kind, string file, object options, bool readsTrace, Action<StageContext, string, string, IProgress<WorkProgress>?> run)
            {
                foreach (var strategy in Strategies)
                {
                    var model = Path.Combine(runDir, p + strategy, "final");
                    var trace = $"{p}trace/{strategy}";
                    var name = $"{p}{kind}/{strategy}";
                    stages.Add(new Stage
                    {
                        Name = name,
                        Inputs = readsTrace ? [world, init, p + strategy, trace] : [world, p + strategy],
                        Options = options,
                        Run = c => Work(r, name, progress => { run(c, model, Path.Combine(runDir, trace), progress); return 0; }),
                        Check = d => StageChecks.JsonComplete(d, file),
                    });
                }
            }
            var traceOptions = preset.Trace with { Probe = preset.Trace.Probe with { Seed = seed } };
            Analysis("trace", TraceFiles.Report, traceOptions, false, (c, model, _, progress) =>
                TraceRun.Run(new TraceRequest(c.Of(world), model, c.Dir, traceOptions)
                {
                    Force = true,
                    Scores = duringTraining is null ? null : Path.Combine(Path.GetDirectoryName(model)!, TrainingTrace.FolderName),
                }, progress));
            var ablate = preset.Ablate with { Seed = seed };
            Analysis("ablate", AblationRun.ReportFile, ablate, true, (c, model, trace, progress) =>
                AblationRun.Run(new AblationRequest(c.Of(world), model, trace, ablate)
                    { Reference = StartingPoint(r, runDir, p), Out = c.Dir, Force = true }, progress));
            var graft = preset.Graft with { Seed = seed };
            Analysis("graft", GraftRun.ReportFile, graft, true, (c, model, trace, progress) =>
                GraftRun.Run(new GraftRequest(c.Of(world), model, c.Dir, graft)
                    { Reference = StartingPoint(r, runDir, p), Shared = trace, Force = true }, progress));
            // The robustness table's variants: no new training, every trace kind x scope x rho of each model, resets of S
            // on the mixed model (claim 4 is about it). Each extra precision of robustness.precisions trains both
            // strategies again at that precision (precision-P/STRATEGY) and adds their variants.
            void Robustness(string name, string trainStage, string strategy, TrainOptions trained)
            {
                var model = Path.Combine(runDir, trainStage, "final");
                var robust = preset.Robustness with
                {
                    Seed = seed, Probe = preset.Robustness.Probe with { Seed = seed }, Precisions = [],
                    ResetRhos = strategy == "mixed" ? preset.Robustness.ResetRhos : [],
                };
                stages.Add(new Stage
                {
                    Name = name,
                    Inputs = [world, init, trainStage],
                    Options = new { robustness = robust, precision = trained.Precision },
                    Run = c => Work(r, name, progress =>
                        RobustnessRun.Run(new RobustnessRequest(c.Of(world), model, c.Dir, robust)
                        {
                            Reference = StartingPoint(r, runDir, p), Precision = Precisions.Name(trained.Precision), Force = true,
                        }, progress)),
                    Check = d => StageChecks.JsonComplete(d, RobustnessReport.FileName),
                });
            }
            foreach (var strategy in Strategies) Robustness($"{p}robustness/{strategy}", p + strategy, strategy, OptionsOf(strategy));
            foreach (var precision in preset.Robustness.Precisions)
            {
                var folder = $"{p}{PrecisionFolder(precision)}/";
                if (Strategies.All(st => OptionsOf(st).Precision == precision)) continue; // the main trainings are this precision
                foreach (var strategy in Strategies) Training(folder + strategy, strategy, OptionsOf(strategy) with { Precision = precision });
                foreach (var strategy in Strategies)
                    Robustness($"{folder}robustness/{strategy}", folder + strategy, strategy, OptionsOf(strategy) with { Precision = precision });
            }
        }

        if (report is null) return stages;
        var everything = stages.Select(s => s.Name).ToList();
        stages.Add(new Stage
        {
            Name = report.FolderName,
            OptionalInputs = everything,
            Options = new { headline_rho = preset.HeadlineRho },
            // The report reads the manifest, which the pipeline writes before and after each stage.
            Run = c => report.Build(runDir, preset.HeadlineRho),
            Check = report.Check,
        });
        return stages;
    }

    /// <summary>The header of the manifest: preset, seeds, resolved options, versions.</summary>
    public static Manifest Header(StudyRequest r) => new()
    {
        Preset = r.Preset.Name,
        Seeds = r.Seeds,
        SeedFolders = [.. Enumerable.Range(0, r.Seeds).Select(k => r.Seeds == 1 ? "." : $"seed-{k}")],
        Reference = ExternalModel(r) ? Path.GetFullPath(r.Model!) : "init",
        Versions = Manifest.CurrentVersions(),
        Options = JsonSerializer.SerializeToNode(r.Preset with { Model = r.Preset.NeedsModel ? null : r.Model ?? r.Preset.Model }, Json.Line),
    };

    /// <summary>Validates the request and runs (or resumes) the whole study; the report stage only with <paramref name="report"/>.</summary>
    public static PipelineResult Run(StudyRequest r, IProgress<string>? log = null, IReportStage? report = null)
    {
        Validate(r);
        return Pipeline.Run(r.OutDir, Plan(r, report), Header(r), log, r.Jobs, r.Cancel);
    }

    public const string ReferenceFile = "reference.json";

    /// <summary>The seed subfolder of the trainings and robustness stages at an extra precision: precision-bf16.</summary>
    public static string PrecisionFolder(Precision precision) => "precision-" + Precisions.Name(precision);

    static long TrainerStateStep(string file) => Json.ReadFile<TrainerState>(file, "trainer state").GlobalStep;
}
