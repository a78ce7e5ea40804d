using System.Text.Json.Serialization;
using FactTrace.Evaluation;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Interventions;

/// <summary>
/// graft.json (format_version 1), written by the graft command and read back by the report with this same record: the JSON
/// names are the file format of existing runs.
/// </summary>
public sealed record GraftReport
{
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = 1;
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("reference")] public required string Reference { get; init; }
    /// <summary>Grafted elements over considered elements.</summary>
    [JsonPropertyName("sparsity")] public double Sparsity { get; init; }
    [JsonPropertyName("mask_size")] public long MaskSize { get; init; }
    [JsonPropertyName("parameters_considered")] public long ParametersConsidered { get; init; }
    [JsonPropertyName("include_embeddings")] public bool IncludeEmbeddings { get; init; }
    [JsonPropertyName("include_norms")] public bool IncludeNorms { get; init; }
    [JsonPropertyName("qa_id")] public double QaId { get; init; }
    [JsonPropertyName("qa_ood")] public double QaOod { get; init; }
    [JsonPropertyName("bio_memorization")] public double BioMemorization { get; init; }
    /// <summary>The trained model itself (the graft's ceiling).</summary>
    [JsonPropertyName("trained")] public required RecallPoint Trained { get; init; }
    /// <summary>The initial mask: the same budget of largest |trained - reference| parameters, before any learning.</summary>
    [JsonPropertyName("movement_init")] public required RecallPoint MovementInit { get; init; }
    /// <summary>Mean QA-ID training loss of the relaxed graft: first and last step.</summary>
    [JsonPropertyName("loss_first")] public double? LossFirst { get; init; }
    [JsonPropertyName("loss_last")] public double? LossLast { get; init; }
    [JsonPropertyName("overlap_with_shared"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public GraftOverlap? OverlapWithShared { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; }
    [JsonPropertyName("lr")] public double Lr { get; init; }
    [JsonPropertyName("seed")] public long Seed { get; init; }
}

/// <summary>Overlap of the graft G with a shared set S: |G∩S|/|G|, |G∩S|/|S| and |G∩S| / (|G||S|/N).</summary>
public sealed record GraftOverlap(
    [property: JsonPropertyName("rho"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Rho,
    [property: JsonPropertyName("shared")] long Shared,
    [property: JsonPropertyName("intersection")] long Intersection,
    [property: JsonPropertyName("precision")] double Precision,
    [property: JsonPropertyName("recall")] double Recall,
    [property: JsonPropertyName("enrichment")] double Enrichment)
{
    public static GraftOverlap Of(ParameterMask graft, ParameterMask shared, long n, double? rho)
    {
        var both = graft.IntersectCount(shared);
        return new GraftOverlap(rho, shared.Count, both,
            graft.Count == 0 ? 0 : (double)both / graft.Count,
            shared.Count == 0 ? 0 : (double)both / shared.Count,
            graft.Count == 0 || shared.Count == 0 ? 0 : both * (double)n / ((double)graft.Count * shared.Count));
    }
}

/// <summary>
/// Model grafting after Panigrahi et al. 2023 ("Task-Specific Skill Localization in Fine-tuned Language Models"):
/// find a sparse mask gamma over the considered parameters such that reference + gamma * (trained - reference) keeps
/// the QA performance on in-distribution people; parameters outside the considered set keep their trained values.
/// <para>
/// gamma = sigmoid(S). S starts at +InitLogit on the k = round(sparsity * N) parameters of largest |trained -
/// reference| (exact top-k, the trace's tie rule) and -InitLogit elsewhere. Each step takes a batch of the ID
/// questions (answer-span loss, seeded order), computes dL/dtheta at the relaxed graft and, by the chain rule,
/// dL/dS = dL/dtheta * (trained - reference) * gamma * (1 - gamma); S moves by -Lr * dL/dS / rms(dL/dS) (a
/// normalized gradient step: the scale-free version of the original's plain SGD with a very large rate). Only S is
/// trained. The final mask is binary: the top k of sigmoid(S), so the budget is exact.
/// </para>
/// </summary>
public static class Graft
{
    public sealed record GraftResult(ParameterMask Mask, ParameterMask MovementMask, GraftReport Report) : IDisposable
    {
        public void Dispose()
        {
            Mask.Dispose();
            MovementMask.Dispose();
        }
    }

    public static GraftResult Run(CausalLM model, WeightEditor editor, IReadOnlyList<EncodedExample> qaTrain, int padId,
        Evaluator evaluator, EvalSet set, GraftOptions o, string modelPath, string referencePath, ParameterMask? shared = null,
        double? sharedRho = null, IProgress<WorkProgress>? progress = null)
    {
        o.Validate();
        if (editor.Reference is null) throw new InvalidOperationException("grafting needs reference weights");
        if (qaTrain.Count == 0) throw FactTraceException.Usage("grafting needs questions of in-distribution people");
        var map = ParameterMap.For(model.Config);
        var candidates = Tracer.Candidates(map, o.IncludeEmbeddings, o.IncludeNorms);
        var names = candidates.Select(p => p.Name).ToList();
        var n = candidates.Sum(p => p.NumEl);
        var k = TopK.K(o.Sparsity, n, atLeastOne: true);
        var total = o.Steps + 3;

        progress?.Report(new WorkProgress("trained model", 0, total));
        editor.Restore();
        var trained = RecallPoint.Measure(evaluator, model, set);

        // Movement and the initial mask.
        var delta = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var logits = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        ParameterMask? movementMask = null, final = null;
        try
        {
            using (var noGrad = no_grad())
                foreach (var name in names)
                    delta[name] = (editor.Trained[name].to(ScalarType.Float32) - editor.Reference[name].to(ScalarType.Float32)).DetachFromDisposeScope();
            using (var scope = NewDisposeScope())
            {
                var movement = delta.ToDictionary(kv => kv.Key, kv => kv.Value.abs(), StringComparer.Ordinal);
                movementMask = TopK.SelectK(movement, names, k);
            }
            foreach (var name in names)
                logits[name] = where(movementMask.Tensors[name], (float)o.InitLogit, (float)-o.InitLogit).to(ScalarType.Float32).DetachFromDisposeScope();

            progress?.Report(new WorkProgress("movement graft", 1, total));
            editor.Graft(movementMask);
            var movementPoint = RecallPoint.Measure(evaluator, model, set);

            // Learn the logits.
            double? first = null, last = null;
            var order = new List<EncodedExample>();
            var epoch = 0;
            var wasTraining = model.training;
            model.eval();
            try
            {
                for (var step = 0; step < o.Steps; step++)
                {
                    if (order.Count < o.BatchSize)
                    {
                        var next = qaTrain.ToList();
                        new Rng(o.Seed, "graft-order", epoch++).Shuffle(next);
                        order.AddRange(next);
                    }
                    var batchExamples = order.Take(o.BatchSize).ToList();
                    order.RemoveRange(0, batchExamples.Count);
                    using (var scope = NewDisposeScope())
                    {
                        var gamma = logits.ToDictionary(kv => kv.Key, kv => kv.Value.sigmoid(), StringComparer.Ordinal);
                        editor.GraftRelaxed(gamma);
                        model.zero_grad();
                        using var batch = Batch.Collate(batchExamples, padId);
                        var loss = Loss.NextToken(model, batch);
                        var value = loss.item<float>();
                        if (!float.IsFinite(value)) throw new FactTraceException($"graft loss is {value} at step {step + 1}");
                        first ??= value;
                        last = value;
                        loss.backward();
                        using var noGrad = no_grad();
                        var grads = LogitGradients(model, names, delta, gamma);
                        double sq = 0;
                        foreach (var name in names)
                            if (grads.TryGetValue(name, out var ds)) sq += ds.square().sum(ScalarType.Float64).item<double>();
                        var rms = Math.Sqrt(sq / n);
                        if (rms > 0)
                            foreach (var (name, ds) in grads) logits[name].add_(ds, alpha: -o.Lr / rms);
                    }
                    model.zero_grad();
                    if ((step + 1) % GradientTrace.CollectEvery == 0) GC.Collect();
                    progress?.Report(new WorkProgress($"graft step {step + 1}/{o.Steps} loss {last:F4}", 2 + step, total));
                }
            }
            finally
            {
                model.train(wasTraining);
                editor.Restore();
            }

            using (var scope = NewDisposeScope())
            {
                var scores = logits.ToDictionary(kv => kv.Key, kv => kv.Value.sigmoid(), StringComparer.Ordinal);
                final = TopK.SelectK(scores, names, k);
            }
            progress?.Report(new WorkProgress("grafted model", total - 1, total));
            editor.Graft(final);
            var point = RecallPoint.Measure(evaluator, model, set);
            editor.Restore();
            progress?.Report(new WorkProgress("done", total, total));

            var report = new GraftReport
            {
                Model = modelPath, Reference = referencePath,
                Sparsity = (double)final.Count / n, MaskSize = final.Count, ParametersConsidered = n,
                IncludeEmbeddings = o.IncludeEmbeddings, IncludeNorms = o.IncludeNorms,
                QaId = point.QaId, QaOod = point.QaOod, BioMemorization = point.BioMemorization,
                Trained = trained, MovementInit = movementPoint, LossFirst = first, LossLast = last,
                OverlapWithShared = shared is null ? null : GraftOverlap.Of(final, shared, n, sharedRho),
                Steps = o.Steps, Lr = o.Lr, Seed = o.Seed,
            };
            var result = new GraftResult(final, movementMask, report);
            final = null;
            movementMask = null;
            return result;
        }
        finally
        {
            foreach (var t in delta.Values.Concat(logits.Values)) t.Dispose();
            movementMask?.Dispose();
            final?.Dispose();
        }
    }

    /// <summary>
    /// dL/dS by the chain rule, from the gradients dL/dtheta that <paramref name="model"/> holds after a backward pass
    /// at the relaxed graft theta = reference + gamma * delta: dL/dtheta * delta * gamma * (1 - gamma), fp32, for each
    /// of <paramref name="names"/> whose parameter has a gradient (in the order of <paramref name="names"/>). Note
    /// that the product is formed in place in the gradient tensor when it is already fp32 (the caller clears the
    /// gradients afterwards).
    /// </summary>
    internal static Dictionary<string, Tensor> LogitGradients(CausalLM model, IEnumerable<string> names,
        IReadOnlyDictionary<string, Tensor> delta, IReadOnlyDictionary<string, Tensor> gamma)
    {
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var grads = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var g = parameters[name].grad;
            if (g is null) continue;
            var gm = gamma[name];
            grads[name] = g.to(ScalarType.Float32).mul_(delta[name]).mul_(gm).mul_(1 - gm);
        }
        return grads;
    }
}
