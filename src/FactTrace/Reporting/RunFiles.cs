using System.Text.Json;
using FactTrace.Evaluation;
using FactTrace.IO;

namespace FactTrace.Reporting;

/// <summary>The files of a run folder that the report reads (names relative to a stage folder).</summary>
public static class RunFiles
{
    public const string Eval = "eval.json", Metrics = "metrics.jsonl", Trace = "trace.json", Ablation = "ablation.json",
        Graft = "graft.json";
}

// The records below read the trace, ablation and graft outputs. They name only the fields the report uses; any other
// field is ignored, and a missing optional field reads as null.

public sealed record CentralizationStats
{
    public double? Entropy { get; init; }
    public double? Gini { get; init; }
    [System.Text.Json.Serialization.JsonPropertyName("top10_share")] public double? Top10Share { get; init; }
}

public sealed record Centralization
{
    public CentralizationStats? Heads { get; init; }
    public CentralizationStats? Neurons { get; init; }
}

public sealed record LayerComponentCount
{
    public int? Layer { get; init; }
    public string Component { get; init; } = "";
    public double Shared { get; init; }
    public double Bio { get; init; }
    public double Qa { get; init; }
    public double Total { get; init; }
    public double? Density { get; init; }
}

public sealed record HeadCount
{
    public int Layer { get; init; }
    public int Head { get; init; }
    public double Shared { get; init; }
    public double Total { get; init; }
    public double? Density { get; init; }
}

public sealed record TraceRho
{
    public double Rho { get; init; }
    public double K { get; init; }
    public double Shared { get; init; }
    public double? SharedFraction { get; init; }
    public double? Iou { get; init; }
    public double? Enrichment { get; init; }
    public Centralization? Centralization { get; init; }
    public List<LayerComponentCount> ByLayerComponent { get; init; } = [];
    public List<HeadCount> ByHead { get; init; } = [];
}

/// <summary>trace/STRATEGY/trace.json.</summary>
public sealed record TraceFile
{
    public int FormatVersion { get; init; }
    public string? Model { get; init; }
    public string? Score { get; init; }
    public string? Granularity { get; init; }
    public string? Scope { get; init; }
    public bool? IncludeEmbeddings { get; init; }
    public bool? IncludeNorms { get; init; }
    public double? ParametersConsidered { get; init; }
    public List<TraceRho> PerRho { get; init; } = [];
}

public sealed record AblationCondition
{
    public string Name { get; init; } = "";
    public double? MaskSize { get; init; }
    public double? Draws { get; init; }
    public double? QaId { get; init; }
    public double? QaOod { get; init; }
    public double? BioMemorization { get; init; }
    public double? QaIdSd { get; init; }
    public double? QaOodSd { get; init; }
    public double? BioMemorizationSd { get; init; }
}

/// <summary>ablate/STRATEGY/ablation.json.</summary>
public sealed record AblationFile
{
    public int FormatVersion { get; init; }
    public string? Model { get; init; }
    public string? Reference { get; init; }
    public string? ResetTo { get; init; }
    public string? Mask { get; init; }
    public double? Rho { get; init; }
    public List<AblationCondition> Conditions { get; init; } = [];
}

public sealed record GraftOverlap
{
    public double? Rho { get; init; }
    public double? Precision { get; init; }
    public double? Recall { get; init; }
    public double? Enrichment { get; init; }
}

/// <summary>graft/STRATEGY/graft.json.</summary>
public sealed record GraftFile
{
    public int FormatVersion { get; init; }
    public double? Sparsity { get; init; }
    public double? MaskSize { get; init; }
    public double? QaId { get; init; }
    public double? QaOod { get; init; }
    public double? BioMemorization { get; init; }
    public GraftOverlap? OverlapWithShared { get; init; }
    public double? Steps { get; init; }
}

/// <summary>An evaluation line of metrics.jsonl (type eval or eval_final): a point of the learning curves.</summary>
public sealed record CurvePoint(string Stage, double GlobalEpoch, double QaId, double QaOod, double BioMemorization, bool Final);

/// <summary>Reads the run files leniently: a missing file is null; a damaged one is a one-line error naming it.</summary>
public static class RunReader
{
    public static T? ReadOptional<T>(string path, string what) where T : class =>
        File.Exists(path) ? Json.ReadFile<T>(path, what) : null;

    public static EvalResult? Eval(string dir) => ReadOptional<EvalResult>(Path.Combine(dir, RunFiles.Eval), "eval file");
    public static TraceFile? Trace(string dir) => ReadOptional<TraceFile>(Path.Combine(dir, RunFiles.Trace), "trace file");
    public static AblationFile? Ablation(string dir) => ReadOptional<AblationFile>(Path.Combine(dir, RunFiles.Ablation), "ablation file");
    public static GraftFile? Graft(string dir) => ReadOptional<GraftFile>(Path.Combine(dir, RunFiles.Graft), "graft file");

    /// <summary>The eval and eval_final lines of metrics.jsonl (other lines and unknown fields are skipped); null if no file.</summary>
    public static List<CurvePoint>? Curve(string dir)
    {
        var path = Path.Combine(dir, RunFiles.Metrics);
        if (!File.Exists(path)) return null;
        var points = new List<CurvePoint>();
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var o = doc.RootElement;
                var type = o.TryGetProperty("type", out var t) ? t.GetString() : null;
                if (type is not ("eval" or "eval_final")) continue;
                double Num(string name) => o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
                var stage = o.TryGetProperty("stage", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "";
                points.Add(new CurvePoint(stage, Num("global_epoch"), Num("qa_id"), Num("qa_ood"), Num("bio_memorization"), type == "eval_final"));
            }
            catch (JsonException e)
            {
                throw new FactTraceException($"{path} line {n}: not valid JSON ({e.Message.Split('\n')[0]})");
            }
        }
        return points;
    }
}
