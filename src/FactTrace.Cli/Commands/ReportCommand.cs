using System.CommandLine;
using FactTrace.Reporting;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace report RUN_DIR`: report.md, a self-contained report.html and figures/*.png in RUN_DIR/report/.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("RUN_DIR") { Description = "A run folder (from `facttrace reproduce`, or one with two-stage/ and mixed/ results)." };
        var rho = new Option<double>("--rho") { Description = "The rho of the headline numbers and heatmaps (the nearest of the sweep).", DefaultValueFactory = _ => 0.01 };
        var cmd = new Command("report", "Write RUN_DIR/report/: report.md, a self-contained report.html and PNG figures (learning curves, shared sets, heatmaps, ablation, the paper's claims).");
        cmd.Arguments.Add(run);
        cmd.Options.Add(rho);
        cmd.SetAction(r =>
        {
            var value = r.GetValue(rho);
            if (!(value > 0 && value < 1)) throw IO.FactTraceException.Usage($"--rho must be in (0, 1) (got {value})");
            var result = ReportBuilder.Build(r.GetValue(run)!, new ReportOptions { HeadlineRho = value });
            Print(result);
            return Cli.Ok;
        });
        return cmd;
    }

    public static void Print(ReportResult result)
    {
        var table = new Table().Title("The paper's claims").AddColumns("claim", "two-stage", "mixed", "result");
        foreach (var c in result.Claims)
            table.AddRow(Markup.Escape(c.Claim), Markup.Escape(c.TwoStage), Markup.Escape(c.Mixed), ClaimResult.Text(c.Verdict));
        AnsiConsole.Write(table);
        Console.WriteLine($"report: {result.HtmlPath} ({result.Figures.Count} figures; Markdown: {result.MarkdownPath})");
    }
}
