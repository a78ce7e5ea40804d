using System.Text.Json;
using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Tracing;

namespace FactTrace.Reporting;

/// <summary>The files of a run folder that the report reads (names relative to a stage folder).</summary>
public static class RunFiles
{
    public const string Eval = "eval.json", Metrics = "metrics.jsonl", Trace = TraceFiles.Report, Ablation = AblationRun.ReportFile,
        Graft = GraftRun.ReportFile, Robustness = RobustnessReport.FileName;
}

/// <summary>An evaluation line of metrics.jsonl (type eval or eval_final): a point of the learning curves.</summary>
public sealed record CurvePoint(string Stage, double GlobalEpoch, double QaId, double QaOod, double BioMemorization, bool Final);

/// <summary>
/// Reads the run files with the records that write them (and the writers' <see cref="Json"/> options): a missing file
/// is null; a damaged one (not JSON, a wrong type, a required field missing) is a one-line error naming it. Fields the
/// record does not know are ignored.
/// </summary>
public static class RunReader
{
    public static T? ReadOptional<T>(string path, string what) where T : class =>
        File.Exists(path) ? Json.ReadFile<T>(path, what) : null;

    public static EvalResult? Eval(string dir) => ReadOptional<EvalResult>(Path.Combine(dir, RunFiles.Eval), "eval file");
    public static TraceReport? Trace(string dir) => ReadOptional<TraceReport>(Path.Combine(dir, RunFiles.Trace), "trace file");
    public static AblationReport? Ablation(string dir) => ReadOptional<AblationReport>(Path.Combine(dir, RunFiles.Ablation), "ablation file");
    public static GraftReport? Graft(string dir) => ReadOptional<GraftReport>(Path.Combine(dir, RunFiles.Graft), "graft file");
    public static RobustnessReport? Robustness(string dir) => ReadOptional<RobustnessReport>(Path.Combine(dir, RunFiles.Robustness), "robustness file");

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
