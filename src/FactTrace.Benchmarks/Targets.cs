using System.Diagnostics;
using System.Text.Json;
using FactTrace.Models;
using FactTrace.World;

namespace FactTrace.Benchmarks;

/// <summary>
/// `facttrace bench targets`: speed targets of code paths that are not training, each measured as the unit test that
/// used to assert it did (wall-clock assertions do not belong in the test suite; the targets live here instead).
/// </summary>
public static class Targets
{
    /// <summary>One target: what was timed, the seconds it took and the limit it must stay under.</summary>
    public sealed record Target(string Name, string Measures, double Seconds, double LimitSeconds, string Note)
    {
        public bool Met => Seconds < LimitSeconds;
    }

    public sealed record TargetsResult(IReadOnlyList<Target> Targets, string Cpu, double LoadAverageStart, double LoadAverageEnd) : IBenchResult
    {
        public bool AllMet => Targets.All(t => t.Met);
        bool IBenchResult.Passed => AllMet;

        public Printout Print()
        {
            static string Time(double s) => s < 1 ? $"{s * 1000:F0} ms" : $"{s:0.##} s";
            var p = new Printout { RedirectedWidth = 160 };
            var t = p.Table("speed targets (wall clock, one measurement each)", "target", "what is timed", "measured", "limit", "met?", "note");
            foreach (var x in Targets) t.Row(x.Name, x.Measures, Time(x.Seconds), Time(x.LimitSeconds), x.Met ? "pass" : "FAIL", x.Note);
            p.Line($"targets: {Targets.Count(x => x.Met)} of {Targets.Count} met; {Cpu}; load average {LoadAverageStart:F2} -> {LoadAverageEnd:F2}" +
                   (LoadAverageStart > Environment.ProcessorCount ? " (contended: other work shared the CPU)" : ""));
            return p;
        }
    }

    /// <summary>
    /// Runs every target. <paramref name="inspectJson"/> runs `facttrace inspect PATH --json` and returns its output
    /// (the command lives in the CLI, above this library); without it that target is left out.
    /// </summary>
    public static TargetsResult Run(Func<string, string>? inspectJson = null, Action<string>? log = null)
    {
        var load = MachineInfo.LoadAverage();
        var targets = new List<Target>();
        if (inspectJson is not null)
        {
            log?.Invoke("inspect: llama-3.2-1b config.json");
            targets.Add(Inspect(inspectJson));
        }
        log?.Invoke("parameter map: llama-3.2-3b");
        targets.Add(ParameterMapOf3B());
        log?.Invoke("world: 100,000 people");
        targets.Add(World100k());
        return new TargetsResult(targets, MachineInfo.Current().Cpu, load, MachineInfo.LoadAverage());
    }

    /// <summary>
    /// `inspect --json` of llama-3.2-1b's config.json, the first inspect of the process (JIT included), under a second
    /// (was InspectCommandTests.ConfigFileAndFolderGiveTheSameCounts).
    /// </summary>
    public static Target Inspect(Func<string, string> inspectJson)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"facttrace-targets-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            if (!NamedConfigs.TryGetPublished("llama-3.2-1b", out var config)) throw new InvalidOperationException("llama-3.2-1b is not a named config");
            var file = Path.Combine(dir, "config.json");
            File.WriteAllText(file, config.ToJson());
            var sw = Stopwatch.StartNew();
            var output = inspectJson(file);
            sw.Stop();
            var parameters = JsonDocument.Parse(output).RootElement.GetProperty("parameters").GetInt64();
            Check(parameters == 1_235_814_400L, $"inspect counted {parameters:N0} parameters, not 1,235,814,400");
            return new Target("inspect of a 1B config", "facttrace inspect config.json --json (llama-3.2-1b), first call", sw.Elapsed.TotalSeconds, 1.0,
                $"{parameters:N0} parameters");
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The parameter map of llama-3.2-3b and its counts by layer and component, after a warm-up, under 500 ms (was
    /// ParameterMapTests.ThreeBillionParameterMapIsInstant).
    /// </summary>
    public static Target ParameterMapOf3B()
    {
        if (!NamedConfigs.TryGetPublished("llama-3.2-3b", out var config)) throw new InvalidOperationException("llama-3.2-3b is not a named config");
        ParameterMap.For(config); // JIT warm-up
        var sw = Stopwatch.StartNew();
        var map = ParameterMap.For(config);
        var counts = map.CountByLayerComponent();
        sw.Stop();
        Check(map.TotalParameters == counts.Values.Sum(), "the counts by layer and component do not add up to the total");
        return new Target("parameter map of a 3B config", "ParameterMap.For(llama-3.2-3b) + CountByLayerComponent, warm", sw.Elapsed.TotalSeconds, 0.5,
            $"{map.Parameters.Count:N0} tensors, {map.TotalParameters:N0} parameters");
    }

    /// <summary>
    /// A 100,000-person world, under 30 s: a guard against accidental quadratic work (was
    /// WorldGenerationTests.HundredThousandPeopleGenerateInSeconds; ~2-4 s on 2 cores in Debug then).
    /// </summary>
    public static Target World100k()
    {
        var sw = Stopwatch.StartNew();
        var w = FactWorld.Generate(new WorldOptions(People: 100_000));
        sw.Stop();
        Check(w.People.Select(p => p.FullName).Distinct().Count() == 100_000, "the 100,000 people do not have distinct names");
        Check(w.QaTrain.Count + w.QaTestOod.Count == 600_000, "the world does not hold 6 questions per person");
        return new Target("world of 100,000 people", "FactWorld.Generate(People: 100,000)", sw.Elapsed.TotalSeconds, 30,
            $"vocabulary {w.Tokenizer.VocabSize:N0}");
    }

    static void Check(bool ok, string what)
    {
        if (!ok) throw new IO.FactTraceException($"bench targets: {what}");
    }
}
