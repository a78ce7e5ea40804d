using System.Text.Json;
using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Reporting;
using FactTrace.Tracing;

namespace FactTrace.Tests.Reporting;

/// <summary>The numbers of one strategy in a fake run folder.</summary>
public sealed record FakeStrategy
{
    public double QaId { get; init; } = 0.99;
    public double QaOod { get; init; } = 0.5;
    public long[] SharedPerRho { get; init; } = [10, 300, 4000];
    public double GiniHeads { get; init; } = 0.3;
    public double GiniNeurons { get; init; } = 0.4;
    public double AblateNone { get; init; } = 0.5;
    public double AblateShared { get; init; } = 0.4;
    public double AblateRandom { get; init; } = 0.49;
    public double AblateRandomSd { get; init; } = 0.01;
}

/// <summary>
/// Writes a small fake run folder: eval.json and metrics.jsonl per strategy, and (optionally) trace.json, ablation.json
/// and graft.json. The JSON files are the library's own records (<see cref="EvalResult"/>, <see cref="TraceReport"/>,
/// <see cref="AblationReport"/>, <see cref="GraftReport"/>) serialized as their writers do, so the report reads what
/// the pipeline writes.
/// </summary>
public static class SyntheticRun
{
    public static readonly string[] Attributes = ["birth_date", "birth_city", "university", "major", "employer", "employer_city"];
    public static readonly double[] Rhos = [0.001, 0.01, 0.05];
    /// <summary>Parameters considered by the fake trace: k = rho * N.</summary>
    public const long Parameters = 1_000_000;

    public static void Write(string seedDir, FakeStrategy twoStage, FakeStrategy mixed, bool analysis = true)
    {
        foreach (var (name, s) in new[] { ("two-stage", twoStage), ("mixed", mixed) })
        {
            var dir = Path.Combine(seedDir, name);
            Directory.CreateDirectory(dir);
            WriteJson(Path.Combine(dir, RunFiles.Eval), Eval(s, name == "two-stage"), newline: false);
            WriteMetrics(dir, s, name == "two-stage");
            if (!analysis) continue;
            WriteTrace(Path.Combine(seedDir, "trace", name), s);
            WriteAblation(Path.Combine(seedDir, "ablate", name), s);
            WriteGraft(Path.Combine(seedDir, "graft", name), s);
        }
    }

    public static void WriteTrace(string dir, FakeStrategy s) => WriteJson(Path.Combine(dir, RunFiles.Trace), Trace(s));
    public static void WriteAblation(string dir, FakeStrategy s) => WriteJson(Path.Combine(dir, RunFiles.Ablation), Ablation(s));
    public static void WriteGraft(string dir, FakeStrategy s) => WriteJson(Path.Combine(dir, RunFiles.Graft), Graft(s));

    /// <summary>
    /// As the writers write: <see cref="Json.Serialize{T}"/> and a newline for trace, ablation and graft (Tracer.Write,
    /// the ablate and graft commands); the same options without the newline for eval.json (Trainer).
    /// </summary>
    public static void WriteJson<T>(string path, T value, bool newline = true)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, Json.Serialize(value) + (newline ? "\n" : ""));
    }

    public static EvalResult Eval(FakeStrategy s, bool twoStage)
    {
        RecallScores Scores(double f) => new()
        {
            QaId = s.QaId, QaOod = Math.Clamp(s.QaOod * f, 0, 1), BioMemorization = 0.95, BioMemorizationFirstToken = 0.97,
            BioExtraction = 0.6, Chance = 0.05 * f, QaIdCount = 500, QaOodCount = 500, BioCount = 2500, ExtractionCount = 500,
        };
        var per = Attributes.Select((a, i) => (a, Scores(0.8 + 0.08 * i))).ToDictionary(x => x.a, x => x.Item2);
        return new EvalResult
        {
            Overall = Scores(1.0) with { Chance = 0.1 }, PerAttribute = per, BioMemorizationStage1 = twoStage ? 0.97 : null,
            PeoplePerSplit = 500,
        };
    }

    static void WriteMetrics(string dir, FakeStrategy s, bool twoStage)
    {
        var lines = new List<string>();
        int epochs = twoStage ? 35 : 25;
        for (int e = 5; e <= epochs; e += 5)
        {
            var stage = twoStage ? (e <= 25 ? "stage1" : "stage2") : "mixed";
            var f = twoStage ? (e <= 25 ? 0 : (e - 25) / 10.0) : e / 25.0;
            lines.Add(JsonSerializer.Serialize(new { type = "train", step = e * 10, stage, epoch = e - 1, loss = 1.0 / e, lr = 1e-3, tokens_per_s = 1000 }));
            lines.Add(JsonSerializer.Serialize(new
            {
                type = e == epochs ? "eval_final" : "eval", step = e * 10, stage, epoch = e, global_epoch = e,
                qa_id = s.QaId * f, qa_ood = s.QaOod * f, bio_memorization = 0.9, bio_extraction = 0.5, people_per_split = 100,
            }));
        }
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), string.Join("\n", lines) + "\n");
    }

    public static TraceReport Trace(FakeStrategy s) => new()
    {
        Model = "final", Score = "grad", Granularity = "example", When = "post-hoc", Scope = "global",
        IncludeEmbeddings = false, IncludeNorms = false, Probe = new ProbeInfo("all", "id", 64, 64, 0), Units = new TaskCounts(64, 64),
        ParametersConsidered = Parameters,
        PerRho = Rhos.Select((rho, i) =>
        {
            var k = (long)Math.Round(rho * Parameters);
            var shared = s.SharedPerRho[i];
            return new RhoResult
            {
                Rho = rho, K = k, Shared = shared, SharedFraction = (double)shared / k, Iou = shared / (2.0 * k - shared),
                Enrichment = shared / (rho * k), ExpectedSharedByChance = rho * k,
                Centralization = new CentralizationPair(
                    new Centralization(1 - s.GiniHeads, s.GiniHeads, s.GiniHeads + 0.1),
                    new Centralization(1 - s.GiniNeurons, s.GiniNeurons, s.GiniNeurons / 2)),
                ByLayerComponent = Enumerable.Range(0, 4).SelectMany(layer =>
                        new[] { "attn_q", "attn_k", "attn_v", "attn_o", "mlp_in", "mlp_out", "norm" }.Select((comp, j) =>
                            Row(layer, comp, (long)Math.Round(shared / 28.0 * (1 + 0.1 * layer + 0.05 * j)), 100, 100, 40_000)))
                    .Append(Row(null, "embed", 3, 10, 10, 50_000))
                    .ToList(),
                ByHead = Enumerable.Range(0, 4).SelectMany(layer => Enumerable.Range(0, 4).Select(h =>
                {
                    var inS = (long)Math.Round(shared / 16.0 * (h == 0 ? 3 : 1));
                    return new HeadRow(layer, h, inS, 2 * inS, 2 * inS, 16_384, inS / 16_384.0);
                })).ToList(),
            };
        }).ToList(),
    };

    static LayerComponentRow Row(int? layer, string component, long shared, long bio, long qa, long total) =>
        new(layer, component, shared, bio, qa, total, (double)shared / total);

    public static AblationReport Ablation(FakeStrategy s) => new()
    {
        Model = "final", Reference = "init", ResetTo = "reference", Mask = "shared", Rho = 0.01,
        Conditions =
        [
            Condition("none", 0, 1, s.QaId, s.AblateNone, 0.95),
            Condition("shared", 300, 1, s.QaId / 2, s.AblateShared, 0.6),
            Condition("random", 300, 5, s.QaId, s.AblateRandom, 0.94) with { QaIdSd = 0.01, QaOodSd = s.AblateRandomSd, BioMemorizationSd = 0.01 },
            Condition("bio_only", 300, 1, s.QaId, s.AblateNone - 0.05, 0.8),
            Condition("qa_only", 300, 1, s.QaId * 0.8, s.AblateNone - 0.03, 0.9),
            Condition("top_heads", 4096, 1, 0.5, s.AblateShared, 0.8),
            Condition("random_heads", 4096, 5, 0.9, s.AblateRandom, 0.9) with { QaIdSd = 0.02, QaOodSd = 0.02, BioMemorizationSd = 0.01 },
        ],
    };

    static AblationCondition Condition(string name, long maskSize, int draws, double qaId, double qaOod, double bio) =>
        new() { Name = name, MaskSize = maskSize, Draws = draws, QaId = qaId, QaOod = qaOod, BioMemorization = bio };

    public static GraftReport Graft(FakeStrategy s) => new()
    {
        Model = "final", Reference = "init", Sparsity = 0.01, MaskSize = 1000, ParametersConsidered = 100_000,
        QaId = s.QaId * 0.9, QaOod = s.QaOod * 0.8, BioMemorization = 0.7,
        Trained = new RecallPoint(s.QaId, s.QaOod, 0.95), MovementInit = new RecallPoint(s.QaId / 2, s.QaOod / 2, 0.5),
        LossFirst = 2.5, LossLast = 0.5, OverlapWithShared = new GraftOverlap(0.01, 1500, 300, 0.3, 0.2, 12.5), Steps = 100, Lr = 0.1,
    };

    /// <summary>Numbers that agree with the paper: mixed generalizes, has the larger and more central S, and needs it.</summary>
    public static (FakeStrategy TwoStage, FakeStrategy Mixed) PaperLike() => (
        new FakeStrategy { QaOod = 0.08, SharedPerRho = [5, 150, 3000], GiniHeads = 0.2, GiniNeurons = 0.3, AblateNone = 0.08, AblateShared = 0.06, AblateRandom = 0.08 },
        new FakeStrategy { QaOod = 0.85, SharedPerRho = [20, 600, 9000], GiniHeads = 0.5, GiniNeurons = 0.6, AblateNone = 0.85, AblateShared = 0.20, AblateRandom = 0.83 });
}
