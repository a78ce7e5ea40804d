using System.Globalization;

namespace FactTrace.Reporting;

/// <summary>
/// One kind of stage output the report reads: the stage folder's prefix ("" for the training folders, else
/// <c>trace</c>, <c>ablate</c>, <c>graft</c>), the file, and whether a strategy's run has it.
/// </summary>
sealed record RunInput(string StageKind, string File, Func<StrategyRun, bool> Has)
{
    public static readonly RunInput Eval = new("", RunFiles.Eval, r => r.Eval is not null);
    public static readonly RunInput Curve = new("", RunFiles.Metrics, r => r.Curve is { Count: > 0 });
    public static readonly RunInput Trace = new("trace", RunFiles.Trace, r => r.Trace is not null);
    public static readonly RunInput Ablation = new("ablate", RunFiles.Ablation, r => r.Ablation is not null);
    public static readonly RunInput Graft = new("graft", RunFiles.Graft, r => r.Graft is not null);

    public string Stage(string strategy) => StageKind is "" ? strategy : $"{StageKind}/{strategy}";

    /// <summary>The same stage output, present only where <paramref name="has"/> also holds (e.g. a trace with the headline rho).</summary>
    public RunInput And(Func<StrategyRun, bool> has) => this with { Has = r => Has(r) && has(r) };
}

/// <summary>What every section of the report reads: the run, the options, the headline rho, and the figures written so far.</summary>
sealed class ReportContext(RunData data, ReportOptions options, string figuresDir)
{
    public static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    public static readonly string[] Strategies = RunData.Strategies;
    static readonly Dictionary<string, string> StrategyTitles = new() { ["two-stage"] = "two-stage", ["mixed"] = "mixed" };

    public static string Title(string strategy) => StrategyTitles[strategy];
    public static int ColorOf(string strategy) => strategy == "mixed" ? 0 : 1;
    public static string RhoText(double rho) => (100 * rho).ToString("0.###", Inv) + "%";

    /// <summary>A bar of a grouped bar chart: the mean in % (NaN = no bar) and its sd in % (0 = no error bar).</summary>
    public static void SetBar(double[,] values, double[,] errors, int i, int j, Stat? s)
    {
        values[i, j] = s is { } v ? 100 * v.Mean : double.NaN;
        errors[i, j] = s is { } e ? 100 * e.Sd : 0;
    }

    public RunData Data => data;
    public ReportOptions Options => options;
    public bool MultiSeed => data.Seeds.Count > 1;
    /// <summary>The rho of the sweep nearest to the requested headline rho (the most common one over runs).</summary>
    public double HeadlineRho { get; } = TraceSections.HeadlineRho(data, options.HeadlineRho);

    public List<string> Figures { get; } = [];

    /// <summary>Records a figure of the report and returns the path to write it to.</summary>
    public string Figure(string name)
    {
        Figures.Add(name);
        return Path.Combine(figuresDir, name);
    }

    /// <summary>Every strategy's run of every seed.</summary>
    public IEnumerable<StrategyRun> Runs => data.Seeds.SelectMany(s => s.Strategies.Values);

    /// <summary>Mean and sd over seeds of one strategy's value.</summary>
    public Stat? Over(string strategy, Func<StrategyRun, double?> pick) => Stat.Of(data.Of(strategy).Select(pick));

    public bool AnyHas(RunInput input) => Strategies.Any(s => data.Of(s).Any(input.Has));

    /// <summary>Why neither strategy has <paramref name="input"/> (each distinct reason once).</summary>
    public string WhyMissingBoth(RunInput input) => string.Join("; ",
        Strategies.Where(s => !data.Of(s).Any(input.Has)).Select(s => data.WhyMissing(input.Stage(s), input.File)).Distinct());

    /// <summary>A note per strategy that has <paramref name="input"/> in no seed, saying why.</summary>
    public IEnumerable<Note> MissingNotes(RunInput input) =>
        Strategies.Where(s => !data.Of(s).Any(input.Has)).Select(s => new Note($"{Title(s)}: {data.WhyMissing(input.Stage(s), input.File)}."));
}
