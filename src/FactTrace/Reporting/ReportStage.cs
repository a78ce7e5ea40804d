using FactTrace.Study;

namespace FactTrace.Reporting;

/// <summary>The report as the last stage of a study (see <see cref="Reproduction"/>).</summary>
public sealed class ReportStage : IReportStage
{
    public static readonly ReportStage Instance = new();
    public string FolderName => ReportBuilder.FolderName;
    public void Build(string runDir, double headlineRho) => ReportBuilder.Build(runDir, new ReportOptions { HeadlineRho = headlineRho });
    public string? Check(string dir) => ReportBuilder.Check(dir);
}
