using FactTrace.Reporting;
using FactTrace.Samples;

// Usage: dotnet run --project samples/RunStudy -c Release -- OUT_DIR
if (args is not [var outDir] || outDir is "-h" or "--help")
{
    var help = args is ["-h" or "--help"];
    (help ? Console.Out : Console.Error).WriteLine(
        "usage: RunStudy OUT_DIR\n  runs the whole study on the tiny preset into OUT_DIR (minutes on a CPU; rerun to resume)");
    return help ? 0 : 2;
}

StudySample.Run(outDir, log: new ConsoleLog());
Console.WriteLine($"report: {Path.Combine(outDir, ReportBuilder.FolderName, ReportBuilder.HtmlFile)}");
return 0;

/// <summary>Writes each progress line at once, on the calling thread (Progress&lt;T&gt; would post it to the thread pool).</summary>
sealed class ConsoleLog : IProgress<string>
{
    public void Report(string value) => Console.WriteLine(value);
}
