using System.Text.Json.Serialization;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;

namespace FactTrace.Interventions;

/// <summary>
/// ablation.json (format_version 1), written by the ablate command and read back by the report with this same record: the JSON
/// names are the file format of existing runs.
/// </summary>
public sealed record AblationReport
{
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = 1;
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("reference")] public required string Reference { get; init; }
    [JsonPropertyName("reset_to")] public required string ResetTo { get; init; }
    [JsonPropertyName("mask")] public required string Mask { get; init; }
    [JsonPropertyName("rho"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? Rho { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
    /// <summary>People per split evaluated (null = all).</summary>
    [JsonPropertyName("eval_people")] public int? EvalPeople { get; init; }
    /// <summary>The heads of the top_heads condition, by shared density (descending).</summary>
    [JsonPropertyName("top_heads")] public IReadOnlyList<TopHead>? TopHeads { get; init; }
    [JsonPropertyName("conditions")] public required IReadOnlyList<AblationCondition> Conditions { get; init; }
}

public sealed record TopHead(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("shared")] long Shared,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("density")] double Density);

public sealed record AblationCondition
{
    /// <summary>none | shared | random | bio_only | qa_only | top_heads | random_heads.</summary>
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("mask_size")] public long MaskSize { get; init; }
    [JsonPropertyName("draws")] public int Draws { get; init; }
    [JsonPropertyName("qa_id")] public double QaId { get; init; }
    [JsonPropertyName("qa_ood")] public double QaOod { get; init; }
    [JsonPropertyName("bio_memorization")] public double BioMemorization { get; init; }
    [JsonPropertyName("qa_id_sd"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? QaIdSd { get; init; }
    [JsonPropertyName("qa_ood_sd"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? QaOodSd { get; init; }
    [JsonPropertyName("bio_memorization_sd"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public double? BioMemorizationSd { get; init; }

    /// <summary>Mean and sample sd (n - 1) over draws; sd null for one draw.</summary>
    public static AblationCondition Of(string name, long maskSize, IReadOnlyList<RecallPoint> draws)
    {
        static double M(IEnumerable<double> xs) => xs.Average();
        static double? Sd(IReadOnlyList<double> xs)
        {
            if (xs.Count < 2) return null;
            var m = xs.Average();
            return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1));
        }
        return new AblationCondition
        {
            Name = name, MaskSize = maskSize, Draws = draws.Count,
            QaId = M(draws.Select(d => d.QaId)), QaOod = M(draws.Select(d => d.QaOod)),
            BioMemorization = M(draws.Select(d => d.BioMemorization)),
            QaIdSd = Sd(draws.Select(d => d.QaId).ToList()), QaOodSd = Sd(draws.Select(d => d.QaOod).ToList()),
            BioMemorizationSd = Sd(draws.Select(d => d.BioMemorization).ToList()),
        };
    }
}

/// <summary>
/// Resets a mask S (and controls) to the reference weights or zero and measures QA-ID, QA-OOD and BIO memorization.
/// Conditions, in order: none; shared (S); random (same count per matrix as S, n draws); bio_only and qa_only
/// (TopK_BIO \ S and TopK_QA \ S, each a uniform subset of |S| elements, n draws when it has more, else all of it
/// once; skipped without the task masks); top_heads (the m heads of highest shared density, whole heads) and
/// random_heads (m uniform heads, n draws).
/// </summary>
public static class Ablation
{
    public static AblationReport Run(CausalLM model, WeightEditor editor, Evaluator evaluator, EvalSet set, ParameterMask shared,
        ParameterMask? bio, ParameterMask? qa, AblationOptions o, string modelPath, string referencePath, string maskPath,
        double? rho, int? evalPeople, IProgress<WorkProgress>? progress = null)
    {
        o.Validate();
        var map = ParameterMap.For(model.Config);
        var m = o.HeadsFor(map);
        var n = o.Controls;
        var total = 2 + n + (bio is null ? 0 : n) + (qa is null ? 0 : n) + 1 + n;
        var done = 0;
        var conditions = new List<AblationCondition>();

        RecallPoint Eval(string what, ParameterMask? mask)
        {
            progress?.Report(new WorkProgress(what, done, total));
            if (mask is null) editor.Restore();
            else editor.Ablate(mask, o.ResetTo);
            try { return RecallPoint.Measure(evaluator, model, set); }
            finally { editor.Restore(); done++; }
        }

        conditions.Add(AblationCondition.Of("none", 0, [Eval("none", null)]));
        conditions.Add(AblationCondition.Of("shared", shared.Count, [Eval("shared", shared)]));

        var random = new List<RecallPoint>();
        for (var d = 0; d < n; d++)
        {
            using var r = ControlMasks.RandomLike(shared, map, o.Seed, d);
            random.Add(Eval($"random {d + 1}/{n}", r));
        }
        conditions.Add(AblationCondition.Of("random", shared.Count, random));

        foreach (var (name, task) in new[] { ("bio_only", bio), ("qa_only", qa) })
        {
            if (task is null) continue;
            using var only = task.Except(shared);
            var draws = only.Count > shared.Count ? n : 1;
            var points = new List<RecallPoint>();
            long size = 0;
            for (var d = 0; d < draws; d++)
            {
                using var sub = ControlMasks.Subsample(only, map, shared.Count, new Rng(o.Seed, $"ablate-{name}", d));
                size = sub.Count;
                points.Add(Eval($"{name} {d + 1}/{draws}", sub));
            }
            done += n - draws;
            conditions.Add(AblationCondition.Of(name, size, points));
        }

        // Heads by shared density: shared elements of the head over all its elements, both through the map.
        var totals = map.CountByHead().ToDictionary(kv => kv.Key, kv => (double)kv.Value);
        var inS = map.SumByHead(shared.Tensors.Where(kv => map.Contains(kv.Key)).ToDictionary());
        var ranked = totals.Select(kv => (kv.Key.Layer, kv.Key.Head, Shared: inS[kv.Key], Total: kv.Value, Density: kv.Value > 0 ? inS[kv.Key] / kv.Value : 0))
            .OrderByDescending(h => h.Density).ThenBy(h => h.Layer).ThenBy(h => h.Head).ToList();
        var top = ranked.Take(m).ToList();
        using (var heads = ControlMasks.Heads(map, top.Select(h => (h.Layer, h.Head))))
            conditions.Add(AblationCondition.Of("top_heads", heads.Count, [Eval("top heads", heads)]));

        var all = totals.Keys.OrderBy(k => k.Layer).ThenBy(k => k.Head).ToList();
        var randomHeads = new List<RecallPoint>();
        long headSize = 0;
        for (var d = 0; d < n; d++)
        {
            var pick = new Rng(o.Seed, "ablate-random-heads", d).Permutation(all.Count).Take(m).Select(i => all[i]);
            using var heads = ControlMasks.Heads(map, pick);
            headSize = heads.Count;
            randomHeads.Add(Eval($"random heads {d + 1}/{n}", heads));
        }
        conditions.Add(AblationCondition.Of("random_heads", headSize, randomHeads));
        progress?.Report(new WorkProgress("done", total, total));

        return new AblationReport
        {
            Model = modelPath, Reference = referencePath,
            ResetTo = o.ResetTo == ResetTo.Zero ? "zero" : "reference", Mask = maskPath, Rho = rho, Seed = o.Seed,
            EvalPeople = evalPeople,
            TopHeads = top.Select(h => new TopHead(h.Layer, h.Head, (long)Math.Round(h.Shared), (long)Math.Round(h.Total), h.Density)).ToList(),
            Conditions = conditions,
        };
    }
}
