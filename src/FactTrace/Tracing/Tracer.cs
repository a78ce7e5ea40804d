using System.Globalization;
using FactTrace.IO;
using FactTrace.Models;

namespace FactTrace.Tracing;

/// <summary>File names of a trace folder.</summary>
public static class TraceFiles
{
    public const string ScoresBio = "scores_bio.safetensors", ScoresQa = "scores_qa.safetensors", Report = "trace.json",
        ByLayerComponent = "by_layer_component.csv", ByHead = "by_head.csv", ByKvHead = "by_kv_head.csv", ByNeuron = "by_neuron.csv";

    /// <summary>mask_{bio|qa|shared}_rho{rho}.safetensors, e.g. mask_shared_rho0.01.safetensors.</summary>
    public static string Mask(string set, double rho) => $"mask_{set}_rho{TraceNames.RhoTag(rho)}.safetensors";
}

/// <summary>
/// The trace pipeline: per-task scores (post-hoc over a probe set, or read from a training run), then per rho the
/// top-k masks, S and its statistics; everything written into one output folder.
/// </summary>
public static class Tracer
{
    /// <summary>The parameters top-k ranks (map order): all but embeddings and norms unless they are included.</summary>
    public static IReadOnlyList<ParameterInfo> Candidates(ParameterMap map, bool includeEmbeddings, bool includeNorms) =>
        map.Parameters.Where(p => (includeEmbeddings || !p.IsEmbedding) && (includeNorms || p.Component != Component.Norm)).ToList();

    /// <summary>Post-hoc scores of both tasks (BIO first, then QA).</summary>
    public static (ScoreAccumulator Bio, ScoreAccumulator Qa) Score(CausalLM model, ProbeSet probes, TraceOptions o, int padId,
        IProgress<WorkProgress>? progress = null)
    {
        var bio = GradientTrace.Run(model, probes.Bio, o.Score, o.Granularity, padId, o.MicroBatch,
            (d, t) => progress?.Report(new WorkProgress("BIO gradients", d, t)));
        try
        {
            var qa = GradientTrace.Run(model, probes.Qa, o.Score, o.Granularity, padId, o.MicroBatch,
                (d, t) => progress?.Report(new WorkProgress("QA gradients", d, t)));
            return (bio, qa);
        }
        catch
        {
            bio.Dispose();
            throw;
        }
    }

    /// <summary>Reads scores_bio / scores_qa from a folder (a trace folder or a training run's train_scores/).</summary>
    public static (ScoreAccumulator Bio, ScoreAccumulator Qa, IReadOnlyDictionary<string, string> Metadata) LoadScores(string dir)
    {
        var (bio, meta) = ReadScores(Path.Combine(dir, TraceFiles.ScoresBio));
        var (qa, _) = ReadScores(Path.Combine(dir, TraceFiles.ScoresQa));
        var kind = meta.TryGetValue("score", out var s) ? TraceNames.ParseScore(s) : ScoreKind.Grad;
        long Units(string key) => meta.TryGetValue(key, out var v) && long.TryParse(v, out var n) ? n : 0;
        return (new ScoreAccumulator(kind, bio, Units("bio_units"), Units("bio_examples")),
            new ScoreAccumulator(kind, qa, Units("qa_units"), Units("qa_examples")), meta);
    }

    static (Dictionary<string, TorchSharp.torch.Tensor>, IReadOnlyDictionary<string, string>) ReadScores(string path)
    {
        IReadOnlyDictionary<string, string> meta;
        using (var f = SafetensorsFile.Open(path)) meta = f.Metadata;
        return (Safetensors.Read(path), meta);
    }

    /// <summary>
    /// Writes the trace folder: scores_bio/qa.safetensors (fp32, every parameter; metadata: score, granularity, when,
    /// units), per rho mask_bio / mask_qa / mask_shared (BOOL, considered parameters only; metadata: rho, k, scope,
    /// set), trace.json, and the CSV tables by_layer_component.csv, by_head.csv, by_neuron.csv (and by_kv_head.csv with
    /// grouped-query attention), each with a rho column. Returns the report. A signed kind (lr-grad) is written as it
    /// is and ranked by its magnitude (<see cref="Ranked"/>).
    /// </summary>
    public static TraceReport Write(string outDir, bool force, ParameterMap map, ScoreAccumulator bio, ScoreAccumulator qa,
        TraceOptions o, string modelPath, string when, ProbeInfo probe, IProgress<WorkProgress>? progress = null)
    {
        o.Validate();
        var candidates = Candidates(map, o.IncludeEmbeddings, o.IncludeNorms);
        TraceReport? report = null;
        OutputFolder.Create(outDir, force, tmp =>
        {
            var meta = new Dictionary<string, string>
            {
                ["score"] = bio.Kind.Name(), ["granularity"] = o.Granularity.Name(), ["when"] = when,
                ["bio_units"] = bio.Units.ToString(CultureInfo.InvariantCulture), ["qa_units"] = qa.Units.ToString(CultureInfo.InvariantCulture),
                ["bio_examples"] = bio.Examples.ToString(CultureInfo.InvariantCulture), ["qa_examples"] = qa.Examples.ToString(CultureInfo.InvariantCulture),
            };
            Safetensors.Write(Path.Combine(tmp, TraceFiles.ScoresBio), bio.Scores, meta);
            Safetensors.Write(Path.Combine(tmp, TraceFiles.ScoresQa), qa.Scores, meta);

            using var rankBio = Ranked(bio);
            using var rankQa = Ranked(qa);
            var perRho = new List<RhoResult>();
            var lc = new List<string> { "rho,layer,component,shared,bio,qa,total,density" };
            var hd = new List<string> { "rho,layer,head,shared,bio,qa,total,density" };
            var kvh = new List<string> { "rho,layer,kv_head,shared,bio,qa,total,density" };
            var nr = new List<string> { "rho,layer,neuron,shared,bio,qa,total,density" };
            var done = 0;
            foreach (var rho in o.Rhos)
            {
                progress?.Report(new WorkProgress($"top-k rho={TraceNames.RhoTag(rho)}", done, o.Rhos.Count));
                using var mb = TopK.Select(rankBio.Scores, candidates, rho, o.Scope);
                using var mq = TopK.Select(rankQa.Scores, candidates, rho, o.Scope);
                using var shared = mb.Intersect(mq);
                var k = TopK.KFor(candidates, rho, o.Scope);
                foreach (var (set, mask) in new[] { ("bio", mb), ("qa", mq), ("shared", shared) })
                    mask.Save(Path.Combine(tmp, TraceFiles.Mask(set, rho)), new Dictionary<string, string>
                    {
                        ["set"] = set, ["rho"] = R(rho), ["k"] = k.ToString(CultureInfo.InvariantCulture), ["scope"] = o.Scope.Name(),
                        ["score"] = bio.Kind.Name(), ["include_embeddings"] = o.IncludeEmbeddings ? "true" : "false",
                        ["include_norms"] = o.IncludeNorms ? "true" : "false", ["model"] = modelPath,
                    });
                var r = SharedSet.Statistics(map, candidates, rho, o.Scope, mb, mq, shared, out var neurons);
                perRho.Add(r);
                foreach (var x in r.ByLayerComponent)
                    lc.Add($"{R(rho)},{x.Layer?.ToString(CultureInfo.InvariantCulture) ?? ""},{x.Component},{x.Shared},{x.Bio},{x.Qa},{x.Total},{R(x.Density)}");
                foreach (var x in r.ByHead) hd.Add($"{R(rho)},{x.Layer},{x.Head},{x.Shared},{x.Bio},{x.Qa},{x.Total},{R(x.Density)}");
                foreach (var x in r.ByKvHead ?? []) kvh.Add($"{R(rho)},{x.Layer},{x.Head},{x.Shared},{x.Bio},{x.Qa},{x.Total},{R(x.Density)}");
                foreach (var x in neurons) nr.Add($"{R(rho)},{x.Layer},{x.Neuron},{x.Shared},{x.Bio},{x.Qa},{x.Total},{R(x.Density)}");
                NativeHeap.Collect();
                done++;
            }
            AtomicFile.WriteLines(Path.Combine(tmp, TraceFiles.ByLayerComponent), lc);
            AtomicFile.WriteLines(Path.Combine(tmp, TraceFiles.ByHead), hd);
            if (map.KvHeads != map.Heads) AtomicFile.WriteLines(Path.Combine(tmp, TraceFiles.ByKvHead), kvh);
            AtomicFile.WriteLines(Path.Combine(tmp, TraceFiles.ByNeuron), nr);

            report = new TraceReport
            {
                Model = modelPath,
                Score = bio.Kind.Name(),
                Granularity = o.Granularity.Name(),
                When = when,
                Scope = o.Scope.Name(),
                IncludeEmbeddings = o.IncludeEmbeddings,
                IncludeNorms = o.IncludeNorms,
                Probe = probe,
                Units = new TaskCounts(bio.Units, qa.Units),
                ParametersConsidered = candidates.Sum(p => p.NumEl),
                PerRho = perRho,
            };
            AtomicFile.WriteAllText(Path.Combine(tmp, TraceFiles.Report), Json.Serialize(report) + "\n");
        }, "trace folder");
        return report!;
    }

    static string R(double x) => x.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// What top-k ranks: the scores themselves for the non-negative kinds (no copy; disposing the result frees
    /// nothing), |score| for a signed kind (lr-grad: a parameter matters by how far training moved it, either way; an
    /// fp32 copy per task for the duration of the trace, disposed with the result).
    /// </summary>
    public static RankingScores Ranked(ScoreAccumulator acc)
    {
        if (!acc.Kind.IsSigned()) return new RankingScores(acc.Scores, owned: false);
        var abs = new Dictionary<string, TorchSharp.torch.Tensor>(StringComparer.Ordinal);
        foreach (var (name, t) in acc.Scores) abs[name] = t.abs().DetachFromDisposeScope();
        return new RankingScores(abs, owned: true);
    }

    /// <summary>The score tensors top-k ranks; owns them only when they are a copy.</summary>
    public sealed class RankingScores(IReadOnlyDictionary<string, TorchSharp.torch.Tensor> scores, bool owned) : IDisposable
    {
        public IReadOnlyDictionary<string, TorchSharp.torch.Tensor> Scores { get; } = scores;

        public void Dispose()
        {
            if (owned) foreach (var t in Scores.Values) t.Dispose();
        }
    }
}
