using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Study;
using FactTrace.Tests.Models;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Tests.Study;

/// <summary>
/// The real-pretrained path end to end on a micro version of the stories260k preset: both strategies fine-tune the
/// pretrained stories260K on a world tokenized with its SentencePiece tokenizer, and ablation and grafting reset to
/// the pretrained weights.
/// </summary>
[Collection("torch-threads")]
public class Stories260KStudyTests
{
    [Fact]
    public void AMicroStories260kStudyRunsEveryStageWithThePretrainedWeightsAsReference()
    {
        TorchSharp.torch.set_num_threads(1);
        var model = Path.Combine(Path.GetDirectoryName(ModelTestKit.GoldenRoot()!)!, "pretrained", "stories260K");
        using var tmp = new TempDir();
        var p = Presets.Stories260K;
        var preset = p with
        {
            World = new WorldOptions(People: 8, BioVariants: 1),
            TwoStage = p.TwoStage with { BioEpochs = 1, QaEpochs = 1, BatchSize = 8, EvalEvery = 0, EvalPeople = 2, Precision = Precision.Fp32 },
            Mixed = p.Mixed with { BioEpochs = 1, BatchSize = 8, EvalEvery = 0, EvalPeople = 2, Precision = Precision.Fp32 },
            Trace = p.Trace with { Rhos = [0.01, 0.05] },
            Ablate = new AblationOptions { Controls = 1, Heads = 1, EvalPeople = 2 },
            Graft = new GraftOptions { Steps = 2, EvalPeople = 2 },
            Robustness = new RobustnessOptions { Scores = [ScoreKind.LrGrad, ScoreKind.Grad], Scopes = [TopKScope.Global], Rhos = [0.05], ResetRhos = [0.05],
                Controls = 1, EvalPeople = 2, Probe = new ProbeOptions { BioSize = 4, QaSize = 4 } },
        };
        // No --model: the library's bundled copy is extracted into init/, the reference of ablation and grafting.
        var request = new StudyRequest { Preset = preset, OutDir = tmp.Sub("run") };
        var result = Reproduction.Run(request);
        Assert.Contains("report", result.Ran);
        var run = request.OutDir;
        Assert.Equal(File.ReadAllBytes(Path.Combine(model, "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "init", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(run, "init", "LICENSE")));
        var trace = Json.ReadFile<TraceReport>(Path.Combine(run, "trace", "mixed", TraceFiles.Report));
        Assert.Equal(("lr-grad", "during-training"), (trace.Score, trace.When));
        var ablation = Json.ReadFile<AblationReport>(Path.Combine(run, "ablate", "mixed", AblationRun.ReportFile));
        Assert.Equal(Path.GetFullPath(Path.Combine(run, "init")), ablation.Reference);
        // With --model the folder itself is the reference (not copied).
        Assert.Equal(Path.GetFullPath(model), StudyPlan.Header(request with { Model = model }).Reference);
        // The fine-tuned model keeps the pretrained tokenizer (SentencePiece, 512 pieces) and shape.
        var folder = FactTrace.Models.ModelFolder.Open(Path.Combine(run, "mixed", "final"));
        Assert.IsType<FactTrace.Text.SentencePieceBpeTokenizer>(folder.Tokenizer(null));
        Assert.Equal(512, folder.Config.VocabSize);
        // A folder of another shape is refused, naming the preset's model.
        var e = Assert.Throws<OptionException>(() => StudyPlan.Validate(request with { Model = tmp.Path }));
        Assert.Contains("stories260K", e.Message);
    }
}
