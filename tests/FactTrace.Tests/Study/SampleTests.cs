using FactTrace.Reporting;
using FactTrace.Samples;
using FactTrace.Study;
using Xunit.Abstractions;

namespace FactTrace.Tests.Study;

/// <summary>samples/RunStudy/StudySample.cs (compiled into this assembly) runs the whole study on the micro preset.</summary>
[Collection("torch-threads")]
public class SampleTests(ITestOutputHelper output)
{
    [Fact]
    public void TheCSharpSampleRunsTheStudyAndReadsTheResultsBack()
    {
        TorchSharp.torch.set_num_threads(1);
        using var tmp = new TempDir();
        var run = tmp.Sub("run");
        var lines = new List<string>();

        var summary = StudySample.Run(run, ReproduceTests.Micro(), new Log(lines, output));

        Assert.Equal(StudyPlan.Strategies, summary.Select(s => s.Strategy));
        foreach (var s in summary)
        {
            Assert.InRange(s.QaOod, 0, 1);
            Assert.True(s.Shared > 0, $"{s.Strategy}: |S| = {s.Shared}");
            Assert.InRange(s.SharedAblationDrop, -1, 1);
        }
        Assert.True(File.Exists(Path.Combine(run, ReportBuilder.FolderName, ReportBuilder.HtmlFile)));
        Assert.Contains(lines, l => l.StartsWith("mixed: QA-OOD "));
    }

    [Fact]
    public void TheReadmeShowsTheSamplesLinesVerbatim()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "FactTrace.slnx"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no FactTrace.slnx above the test folder");
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var section = readme[readme.IndexOf("### From C#", StringComparison.Ordinal)..];
        var start = section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        var snippet = section[start..section.IndexOf("```", start, StringComparison.Ordinal)].TrimEnd();
        // The sample's method body, indented 8 spaces in the file.
        var sample = string.Join("\n", File.ReadAllText(Path.Combine(root, "samples", "RunStudy", "StudySample.cs")).ReplaceLineEndings("\n")
            .Split('\n').Select(l => l.StartsWith("        ", StringComparison.Ordinal) ? l[8..] : l));
        Assert.Contains(snippet, sample);
    }

    sealed class Log(List<string> lines, ITestOutputHelper output) : IProgress<string>
    {
        public void Report(string value)
        {
            lock (lines) lines.Add(value);
            output.WriteLine(value);
        }
    }
}
