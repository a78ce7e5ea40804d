using System.Diagnostics;
using System.Text.RegularExpressions;
using FactTrace.Reporting;
using FactTrace.Tests.World;

namespace FactTrace.Tests.Reporting;

/// <summary>
/// Opens report.html in headless Chromium (Debian's chromium, installed by build/install-deps.sh; CHROMIUM overrides the
/// path) and checks what a reader sees: every image decoded (the page's own load-time check writes
/// data-images-loaded="OK/TOTAL" on body) and the headline table present. Runs offline: file:// URL, no network.
/// </summary>
public class BrowserTests
{
    static string Chromium()
    {
        var path = Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";
        Assert.True(File.Exists(path), $"headless Chromium not found at {path}: run build/install-deps.sh (apt-get install chromium)");
        return path;
    }

    /// <summary>Runs Chromium headless with a throwaway profile; returns stdout. Killed after two minutes.</summary>
    static string RunChromium(string profile, params string[] args)
    {
        var psi = new ProcessStartInfo(Chromium())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking", "--hide-scrollbars", $"--user-data-dir={profile}" })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("chromium did not finish within two minutes");
        }
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    [Fact]
    public void ReportOpensInChromiumWithEveryImageAndTheHeadlineTable()
    {
        using var tmp = new TempDir();
        var (two, mixed) = SyntheticRun.PaperLike();
        // Two seeds, so that the headline has verdicts (one seed reads "not testable").
        foreach (var k in new[] { 0, 1 }) SyntheticRun.Write(Path.Combine(tmp.Sub("run"), $"seed-{k}"), two, mixed);
        var report = ReportBuilder.Build(tmp.Sub("run"));
        // Opened from a folder of its own: the page may not lean on figures/ beside it.
        var alone = tmp.Sub("alone.html");
        File.Copy(report.HtmlPath, alone);
        var url = new Uri(alone).AbsoluteUri;

        var dom = RunChromium(tmp.Sub("profile"), "--virtual-time-budget=10000", "--dump-dom", url);
        var loaded = Regex.Match(dom, "data-images-loaded=\"(\\d+)/(\\d+)\"");
        Assert.True(loaded.Success, "the page's image check did not run: " + dom[..Math.Min(300, dom.Length)]);
        Assert.Equal("6", loaded.Groups[2].Value);
        Assert.Equal(loaded.Groups[2].Value, loaded.Groups[1].Value);
        Assert.Contains("<table id=\"headline\">", dom);
        Assert.Matches("<td class=\"held\">held</td>", dom);

        var png = tmp.Sub("screenshot.png");
        RunChromium(tmp.Sub("profile2"), "--window-size=1280,3000", $"--screenshot={png}", url);
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 20_000, $"screenshot of {bytes.Length} bytes");
        // For a person to look at: FACTTRACE_SCREENSHOT=/path/shot.png keeps the screenshot and the page beside it.
        if (Environment.GetEnvironmentVariable("FACTTRACE_SCREENSHOT") is { Length: > 0 } keep)
        {
            File.Copy(png, keep, overwrite: true);
            File.Copy(alone, Path.ChangeExtension(keep, ".html"), overwrite: true);
        }
    }
}
