using System.Text.RegularExpressions;
using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Study;
using FactTrace.Tracing;

namespace FactTrace.Reporting;

/// <summary>What one seed's run left for one strategy; null where a file is missing.</summary>
public sealed record StrategyRun(string Strategy, EvalResult? Eval, List<CurvePoint>? Curve, TraceReport? Trace,
    AblationReport? Ablation, GraftReport? Graft, RobustnessReport? Robustness = null);

/// <summary>
/// One seed's folder (the run folder itself for a one-seed run) and its two strategies; <see cref="AtPrecision"/>: the
/// robustness reports of the trainings at extra precisions (precision-P/robustness/STRATEGY), by precision and strategy.
/// </summary>
public sealed record SeedRun(string Folder, IReadOnlyDictionary<string, StrategyRun> Strategies)
{
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, RobustnessReport?>> AtPrecision { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, RobustnessReport?>>();
}

/// <summary>
/// A run folder as the report sees it. Seeds: the manifest's <c>seed_folders</c>; without a manifest, the
/// <c>seed-K/</c> subfolders if there are any, else the run folder itself.
/// </summary>
public sealed record RunData(string RunDir, Manifest? Manifest, IReadOnlyList<SeedRun> Seeds)
{
    public static readonly string[] Strategies = StudyPlan.Strategies;

    public static RunData Load(string runDir)
    {
        if (!Directory.Exists(runDir)) throw FactTraceException.Usage($"run folder '{runDir}' not found");
        var manifest = Manifest.Load(runDir);
        var folders = manifest?.SeedFolders is { Count: > 0 } f && f.All(x => Directory.Exists(Path.Combine(runDir, x)))
            ? f.ToList()
            : DiscoverSeeds(runDir);
        var seeds = folders.Select(folder =>
        {
            var dir = Path.GetFullPath(Path.Combine(runDir, folder));
            var strategies = Strategies.ToDictionary(s => s, s => new StrategyRun(s,
                RunReader.Eval(Path.Combine(dir, s)), RunReader.Curve(Path.Combine(dir, s)),
                RunReader.Trace(Path.Combine(dir, "trace", s)), RunReader.Ablation(Path.Combine(dir, "ablate", s)),
                RunReader.Graft(Path.Combine(dir, "graft", s)), RunReader.Robustness(Path.Combine(dir, "robustness", s))));
            var extra = Directory.EnumerateDirectories(dir, "precision-*").Order(StringComparer.Ordinal).ToDictionary(
                d => Path.GetFileName(d)["precision-".Length..],
                d => (IReadOnlyDictionary<string, RobustnessReport?>)Strategies.ToDictionary(s => s, s => RunReader.Robustness(Path.Combine(d, "robustness", s))));
            return new SeedRun(folder, strategies) { AtPrecision = extra };
        }).ToList();
        if (manifest is null && seeds.All(s => s.Strategies.Values.All(r => r.Eval is null && r.Curve is null && r.Trace is null)))
            throw FactTraceException.Usage(
                $"'{runDir}' is not a run folder: no {Manifest.FileName}, and no two-stage/ or mixed/ results (nor seed-K/ folders holding them)");
        return new RunData(runDir, manifest, seeds);
    }

    static List<string> DiscoverSeeds(string runDir)
    {
        var seedDirs = Directory.EnumerateDirectories(runDir)
            .Select(Path.GetFileName)
            .Select(n => (Name: n!, M: Regex.Match(n!, @"^seed-(\d+)$")))
            .Where(x => x.M.Success)
            .OrderBy(x => int.Parse(x.M.Groups[1].Value))
            .Select(x => x.Name)
            .ToList();
        return seedDirs.Count > 0 ? seedDirs : ["."];
    }

    /// <summary>The values of one strategy over seeds.</summary>
    public IEnumerable<StrategyRun> Of(string strategy) => Seeds.Select(s => s.Strategies[strategy]);

    /// <summary>
    /// Why a stage's output is missing, from the manifest where it says (not available, failed, unfinished), else
    /// "FILE not found".
    /// </summary>
    public string WhyMissing(string stage, string file)
    {
        var records = Manifest?.Stages.Where(r => r.Name == stage || r.Name.EndsWith("/" + stage, StringComparison.Ordinal)).ToList() ?? [];
        foreach (var r in records)
        {
            switch (r.Status)
            {
                case StageStatus.NotAvailable: return $"stage {r.Name} is not available ({r.Message})";
                case StageStatus.Failed: return $"stage {r.Name} failed: {r.Message}";
                case StageStatus.Running: return $"stage {r.Name} did not finish";
            }
        }
        return $"{stage}/{file} not found";
    }
}
