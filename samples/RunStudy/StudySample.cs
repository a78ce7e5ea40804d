using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Study;
using FactTrace.Tracing;

namespace FactTrace.Samples;

/// <summary>One strategy's headline numbers: QA-OOD, |S| at the headline rho, and how much resetting S costs QA-OOD.</summary>
public sealed record StrategySummary(string Strategy, double QaOod, long Shared, double SharedAblationDrop);

/// <summary>
/// The whole study from C#: what `facttrace reproduce` does, then the headline numbers read back from the run's files
/// with the library's own record types. Compiled and run on a micro preset by tests/FactTrace.Tests (SampleTests).
/// </summary>
public static class StudySample
{
    public static IReadOnlyList<StrategySummary> Run(string outDir, Preset? preset = null, IProgress<string>? log = null)
    {
        // The embedded default. To change one option, copy the preset with a new value, e.g.
        //   preset = Presets.Tiny with { Mixed = Presets.Tiny.Mixed with { BioEpochs = 20 } };
        preset ??= Presets.Tiny;

        // Runs (or resumes: finished stages with unchanged options are skipped) every stage and the report.
        Reproduction.Run(new StudyRequest { Preset = preset, OutDir = outDir }, log);

        var summary = new List<StrategySummary>();
        foreach (var strategy in StudyPlan.Strategies) // "two-stage", "mixed"
        {
            // Each stage wrote its results as JSON; the same records read them back.
            var eval = Json.ReadFile<EvalResult>(Path.Combine(outDir, strategy, "eval.json"));
            var trace = Json.ReadFile<TraceReport>(Path.Combine(outDir, "trace", strategy, TraceFiles.Report));
            var ablation = Json.ReadFile<AblationReport>(Path.Combine(outDir, "ablate", strategy, AblationRun.ReportFile));

            // |S| = |TopK_BIO ∩ TopK_QA| at the headline rho (0.01 in the tiny preset).
            var shared = trace.PerRho.Single(r => r.Rho == preset.HeadlineRho).Shared;
            // The QA-OOD lost when S is reset to the initial weights ("none" resets nothing).
            var none = ablation.Conditions.Single(c => c.Name == "none");
            var resetS = ablation.Conditions.Single(c => c.Name == "shared");
            summary.Add(new StrategySummary(strategy, eval.QaOod, shared, none.QaOod - resetS.QaOod));
        }

        foreach (var s in summary)
            log?.Report($"{s.Strategy}: QA-OOD {100 * s.QaOod:F1}%, |S| {s.Shared:N0} at rho {preset.HeadlineRho}, " +
                $"resetting S costs {100 * s.SharedAblationDrop:F1} points of QA-OOD");
        return summary;
    }
}
