using FactTrace.Models;

namespace FactTrace.Tracing;

/// <summary>
/// S = TopK_BIO ∩ TopK_QA and its statistics. Every count by layer, component, head and neuron goes through the
/// <see cref="ParameterMap"/>: the masks' through SumByLayerComponent, SumByHead, SumByKvHead and SumByNeuron, the
/// totals of the considered parameters through the matching Count* helpers (from shapes; no all-ones mask).
/// </summary>
public static class SharedSet
{
    /// <summary>Statistics of one rho; <paramref name="neurons"/> receives the per-neuron rows (for the CSV).</summary>
    public static RhoResult Statistics(ParameterMap map, IReadOnlyList<ParameterInfo> candidates, double rho, TopKScope scope,
        ParameterMask bio, ParameterMask qa, ParameterMask shared, out List<NeuronRow> neurons)
    {
        var k = TopK.KFor(candidates, rho, scope);
        if (bio.Count != k || qa.Count != k) throw new InvalidOperationException($"masks hold {bio.Count} / {qa.Count} elements, k is {k}");
        var s = shared.Count;
        var union = 2 * k - s;
        var n = candidates.Sum(p => p.NumEl);
        var chance = scope == TopKScope.Global
            ? (n == 0 ? 0 : (double)k * k / n)
            : candidates.Sum(p => { var kp = (double)TopK.K(rho, p.NumEl, false); return kp * kp / p.NumEl; });

        var lcTotal = map.CountByLayerComponent(candidates);
        var lcShared = map.SumByLayerComponent(shared.Tensors);
        var lcBio = map.SumByLayerComponent(bio.Tensors);
        var lcQa = map.SumByLayerComponent(qa.Tensors);
        var layerComponents = lcTotal.Where(kv => kv.Value > 0)
            .OrderBy(kv => kv.Key.Layer is null ? (kv.Key.Component == Component.Embed ? -1 : int.MaxValue) : kv.Key.Layer)
            .ThenBy(kv => kv.Key.Component)
            .Select(kv => new LayerComponentRow(kv.Key.Layer, kv.Key.Component.ToSnakeCase(), L(lcShared[kv.Key]), L(lcBio[kv.Key]),
                L(lcQa[kv.Key]), L(kv.Value), lcShared[kv.Key] / kv.Value))
            .ToList();

        static List<HeadRow> Rows(Dictionary<(int, int), long> total, Dictionary<(int, int), double> sh,
            Dictionary<(int, int), double> b, Dictionary<(int, int), double> q) =>
            total.OrderBy(kv => kv.Key.Item1).ThenBy(kv => kv.Key.Item2)
                .Select(kv => new HeadRow(kv.Key.Item1, kv.Key.Item2, L(sh[kv.Key]), L(b[kv.Key]), L(q[kv.Key]), L(kv.Value),
                    kv.Value > 0 ? sh[kv.Key] / kv.Value : 0))
                .ToList();

        var headShared = map.SumByHead(shared.Tensors);
        var heads = Rows(map.CountByHead(candidates), headShared, map.SumByHead(bio.Tensors), map.SumByHead(qa.Tensors));
        List<HeadRow>? kvHeads = !map.GroupedQuery ? null
            : Rows(map.CountByKvHead(candidates), map.SumByKvHead(shared.Tensors), map.SumByKvHead(bio.Tensors), map.SumByKvHead(qa.Tensors));

        var neuronShared = map.SumByNeuron(shared.Tensors);
        var nb = map.SumByNeuron(bio.Tensors);
        var nq = map.SumByNeuron(qa.Tensors);
        neurons = map.CountByNeuron(candidates).OrderBy(kv => kv.Key.Layer).ThenBy(kv => kv.Key.Neuron)
            .Select(kv => new NeuronRow(kv.Key.Layer, kv.Key.Neuron, L(neuronShared[kv.Key]), L(nb[kv.Key]), L(nq[kv.Key]), L(kv.Value),
                kv.Value > 0 ? neuronShared[kv.Key] / kv.Value : 0))
            .ToList();

        return new RhoResult
        {
            Rho = rho,
            K = k,
            Shared = s,
            SharedFraction = k == 0 ? 0 : (double)s / k,
            Iou = union == 0 ? 0 : (double)s / union,
            Enrichment = k == 0 ? 0 : s / (rho * k),
            ExpectedSharedByChance = chance,
            Centralization = new CentralizationPair(
                Centralization.Of(headShared.Values.ToList()),
                Centralization.Of(neuronShared.Values.ToList())),
            ByLayerComponent = layerComponents,
            ByHead = heads,
            ByKvHead = kvHeads,
        };
    }

    static long L(double x) => (long)Math.Round(x);
}
