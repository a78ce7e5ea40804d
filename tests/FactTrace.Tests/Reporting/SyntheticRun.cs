using System.Text.Json;
using FactTrace.Evaluation;
using FactTrace.IO;

namespace FactTrace.Tests.Reporting;

/// <summary>The numbers of one strategy in a fake run folder.</summary>
public sealed record FakeStrategy
{
    public double QaId { get; init; } = 0.99;
    public double QaOod { get; init; } = 0.5;
    public double[] SharedPerRho { get; init; } = [10, 300, 4000];
    public double GiniHeads { get; init; } = 0.3;
    public double GiniNeurons { get; init; } = 0.4;
    public double AblateNone { get; init; } = 0.5;
    public double AblateShared { get; init; } = 0.4;
    public double AblateRandom { get; init; } = 0.49;
    public double AblateRandomSd { get; init; } = 0.01;
}

/// <summary>
/// Writes a small fake run folder: eval.json and metrics.jsonl per strategy, and (optionally) trace.json, ablation.json
/// and graft.json in the schemas of the trace issue, with extra fields a reader must ignore.
/// </summary>
public static class SyntheticRun
{
    public static readonly string[] Attributes = ["birth_date", "birth_city", "university", "major", "employer", "employer_city"];
    public static readonly double[] Rhos = [0.001, 0.01, 0.05];

    public static void Write(string seedDir, FakeStrategy twoStage, FakeStrategy mixed, bool analysis = true)
    {
        foreach (var (name, s) in new[] { ("two-stage", twoStage), ("mixed", mixed) })
        {
            var dir = Path.Combine(seedDir, name);
            Directory.CreateDirectory(dir);
            WriteEval(dir, s, name == "two-stage");
            WriteMetrics(dir, s, name == "two-stage");
            if (!analysis) continue;
            WriteTrace(Path.Combine(seedDir, "trace", name), s);
            WriteAblation(Path.Combine(seedDir, "ablate", name), s);
            WriteGraft(Path.Combine(seedDir, "graft", name), s);
        }
    }

    public static void WriteTrace(string dir, FakeStrategy s) => WriteJson(Path.Combine(dir, "trace.json"), Trace(s));
    public static void WriteAblation(string dir, FakeStrategy s) => WriteJson(Path.Combine(dir, "ablation.json"), Ablation(s));
    public static void WriteGraft(string dir, FakeStrategy s) => WriteJson(Path.Combine(dir, "graft.json"), new
    {
        format_version = 1, sparsity = 0.01, mask_size = 1000, qa_id = s.QaId * 0.9, qa_ood = s.QaOod * 0.8,
        bio_memorization = 0.7, overlap_with_shared = new { rho = 0.01, precision = 0.3, recall = 0.2, enrichment = 12.5 }, steps = 100,
        extra_field = "ignored",
    });

    static void WriteJson(string path, object value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true }));
    }

    static void WriteEval(string dir, FakeStrategy s, bool twoStage)
    {
        RecallScores Scores(double f) => new()
        {
            QaId = s.QaId, QaOod = Math.Clamp(s.QaOod * f, 0, 1), BioMemorization = 0.95, BioMemorizationFirstToken = 0.97,
            BioExtraction = 0.6, Chance = 0.05 * f, QaIdCount = 500, QaOodCount = 500, BioCount = 2500, ExtractionCount = 500,
        };
        var per = Attributes.Select((a, i) => (a, Scores(0.8 + 0.08 * i))).ToDictionary(x => x.a, x => x.Item2);
        var result = new EvalResult
        {
            Overall = Scores(1.0) with { Chance = 0.1 }, PerAttribute = per, BioMemorizationStage1 = twoStage ? 0.97 : null,
            PeoplePerSplit = 500,
        };
        File.WriteAllText(Path.Combine(dir, "eval.json"), JsonSerializer.Serialize(result, Json.Indented));
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

    static object Trace(FakeStrategy s) => new
    {
        format_version = 1, model = "final", score = "grad", granularity = "example", scope = "global",
        include_embeddings = false, include_norms = false, probe = new { bio = 64, qa = 64, extra = "ignored" },
        parameters_considered = 1_000_000 * 1.0,
        per_rho = Rhos.Select((rho, i) => new
        {
            rho, k = rho * 1e6, shared = s.SharedPerRho[i], shared_fraction = s.SharedPerRho[i] / (rho * 1e6),
            iou = s.SharedPerRho[i] / (2 * rho * 1e6 - s.SharedPerRho[i]), enrichment = s.SharedPerRho[i] / (rho * rho * 1e6),
            centralization = new
            {
                heads = new { entropy = 1 - s.GiniHeads, gini = s.GiniHeads, top10_share = s.GiniHeads + 0.1 },
                neurons = new { entropy = 1 - s.GiniNeurons, gini = s.GiniNeurons, top10_share = s.GiniNeurons / 2 },
            },
            by_layer_component = Enumerable.Range(0, 4).SelectMany(layer =>
                    new[] { "attn_q", "attn_k", "attn_v", "attn_o", "mlp_in", "mlp_out", "norm" }.Select((comp, j) => (object)new
                    {
                        layer = (int?)layer, component = comp, shared = s.SharedPerRho[i] / 28 * (1 + 0.1 * layer + 0.05 * j),
                        bio = 100.0, qa = 100.0, total = 40_000.0, density = 0.0,
                    }))
                .Append(new { layer = (int?)null, component = "embed", shared = 3.0, bio = 10.0, qa = 10.0, total = 50_000.0, density = 0.0 })
                .ToList(),
            by_head = Enumerable.Range(0, 4).SelectMany(layer => Enumerable.Range(0, 4).Select(h => new
            {
                layer, head = h, shared = s.SharedPerRho[i] / 16 * (h == 0 ? 3 : 1), total = 16_384.0, density = 0.0,
            })).ToList(),
        }).ToList(),
        unexpected_top_level = new[] { 1, 2, 3 },
    };

    static object Ablation(FakeStrategy s) => new
    {
        format_version = 1, model = "final", reference = "init", reset_to = "reference", mask = "shared", rho = 0.01,
        conditions = new object[]
        {
            new { name = "none", mask_size = 0, draws = 1, qa_id = s.QaId, qa_ood = s.AblateNone, bio_memorization = 0.95 },
            new { name = "shared", mask_size = 300, draws = 1, qa_id = s.QaId / 2, qa_ood = s.AblateShared, bio_memorization = 0.6 },
            new { name = "random", mask_size = 300, draws = 5, qa_id = s.QaId, qa_ood = s.AblateRandom, bio_memorization = 0.94,
                  qa_id_sd = 0.01, qa_ood_sd = s.AblateRandomSd, bio_memorization_sd = 0.01 },
            new { name = "bio_only", mask_size = 300, draws = 1, qa_id = s.QaId, qa_ood = s.AblateNone - 0.05, bio_memorization = 0.8 },
            new { name = "qa_only", mask_size = 300, draws = 1, qa_id = s.QaId * 0.8, qa_ood = s.AblateNone - 0.03, bio_memorization = 0.9 },
            new { name = "top_heads", mask_size = 4096, draws = 1, qa_id = 0.5, qa_ood = s.AblateShared, bio_memorization = 0.8 },
            new { name = "random_heads", mask_size = 4096, draws = 5, qa_id = 0.9, qa_ood = s.AblateRandom, bio_memorization = 0.9,
                  qa_id_sd = 0.02, qa_ood_sd = 0.02, bio_memorization_sd = 0.01 },
        },
    };

    /// <summary>Numbers that agree with the paper: mixed generalizes, has the larger and more central S, and needs it.</summary>
    public static (FakeStrategy TwoStage, FakeStrategy Mixed) PaperLike() => (
        new FakeStrategy { QaOod = 0.08, SharedPerRho = [5, 150, 3000], GiniHeads = 0.2, GiniNeurons = 0.3, AblateNone = 0.08, AblateShared = 0.06, AblateRandom = 0.08 },
        new FakeStrategy { QaOod = 0.85, SharedPerRho = [20, 600, 9000], GiniHeads = 0.5, GiniNeurons = 0.6, AblateNone = 0.85, AblateShared = 0.20, AblateRandom = 0.83 });
}
