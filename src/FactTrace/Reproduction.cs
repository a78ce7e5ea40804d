using FactTrace.Reporting;
using FactTrace.Study;

namespace FactTrace;

/// <summary>
/// The whole study from C#, as `facttrace reproduce` runs it: <see cref="StudyPlan"/>'s stages (world, init, both
/// trainings, trace, ablation, grafting) and the report (<see cref="ReportBuilder"/>). This file is the one place that
/// joins Study and Reporting, so neither depends on the other's direction.
/// </summary>
public static class Reproduction
{
    /// <summary>Runs or resumes the study in <see cref="StudyRequest.OutDir"/>; <paramref name="log"/> gets a line per stage event.</summary>
    public static PipelineResult Run(StudyRequest request, IProgress<string>? log = null) =>
        StudyPlan.Run(request, log, ReportStage.Instance);
}
