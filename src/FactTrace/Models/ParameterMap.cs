using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>
/// The one place that knows a model's anatomy (TransformerLens-style): every HF parameter name of a GPT-NeoX or Llama
/// config with its shape, layer, component(s) and the exact rows/columns of each attention head, kv head and MLP
/// neuron, built from the config alone without allocating weights (the tables are in <see cref="ParameterAnatomy"/>).
/// Scores and masks are aggregated by layer, head and neuron only through the Sum* helpers here, and element counts
/// (the totals those sums are divided by) only through the Count* helpers, which allocate nothing.
/// </summary>
public sealed class ParameterMap
{
    readonly Dictionary<string, ParameterInfo> byName;

    ParameterMap(ModelConfig config, List<ParameterInfo> parameters)
    {
        Config = config;
        Parameters = parameters;
        byName = parameters.ToDictionary(p => p.Name);
        TotalParameters = parameters.Sum(p => p.NumEl);
        EmbeddingParameters = parameters.Where(p => p.IsEmbedding).Sum(p => p.NumEl);
    }

    public ModelConfig Config { get; }
    /// <summary>In HF's named_parameters order; a tied output embedding is not listed (it is the input embedding).</summary>
    public IReadOnlyList<ParameterInfo> Parameters { get; }
    public int Layers => Config.NumHiddenLayers;
    public int Heads => Config.NumAttentionHeads;
    public int KvHeads => Config.KvHeads;
    public int HeadDim => Config.HeadDim;
    public int Hidden => Config.HiddenSize;
    public int Intermediate => Config.IntermediateSize;
    /// <summary>The kv head query head <paramref name="head"/> reads.</summary>
    public int KvHeadOf(int head) => head / (Heads / KvHeads);
    /// <summary>Grouped-query attention: fewer kv heads than query heads, so a kv head's k/v rows serve a group.</summary>
    public bool GroupedQuery => KvHeads != Heads;

    /// <summary>
    /// Whether slices of <paramref name="kind"/> belong to a single query head: its q rows and o columns always; k and
    /// v rows (kv-head slices) only without grouped-query attention, where kv head h is query head h's own.
    /// </summary>
    public bool OwnedByQueryHead(UnitKind kind) => kind == UnitKind.Head || (kind == UnitKind.KvHead && !GroupedQuery);

    /// <summary>All parameters, a tied embedding counted once.</summary>
    public long TotalParameters { get; }
    /// <summary>Input embedding plus an untied output embedding.</summary>
    public long EmbeddingParameters { get; }
    /// <summary>Total minus input embedding minus untied output embedding (Pythia's published convention).</summary>
    public long NonEmbeddingParameters => TotalParameters - EmbeddingParameters;

    public ParameterInfo this[string name] =>
        byName.TryGetValue(name, out var p) ? p : throw new KeyNotFoundException($"no parameter '{name}' in the {Config.ModelType} map");
    public bool TryGet(string name, out ParameterInfo info) => byName.TryGetValue(name, out info!);
    public bool Contains(string name) => byName.ContainsKey(name);

    /// <summary>The head and kv-head slices of one parameter (empty if it has none).</summary>
    public IEnumerable<UnitSlice> HeadSlices(string name) => this[name].Slices.Where(s => s.Kind != UnitKind.Neuron);
    /// <summary>The neuron slices of one parameter (empty if it has none).</summary>
    public IEnumerable<UnitSlice> NeuronSlices(string name) => this[name].Slices.Where(s => s.Kind == UnitKind.Neuron);

    /// <summary>Every (parameter, slice) owned by one unit, e.g. to mask or zero head 3 of layer 2.</summary>
    public IEnumerable<(ParameterInfo Parameter, UnitSlice Slice)> SlicesOf(int layer, UnitKind kind, int unit) =>
        from p in Parameters
        where p.Layer == layer
        from f in p.UnitSlices
        where f.Kind == kind && unit >= f.FirstUnit && unit < f.FirstUnit + f.Count
        select (p, f[unit - f.FirstUnit]);

    /// <summary>
    /// Every (parameter, slice) of query head <paramref name="head"/> of <paramref name="layer"/> alone (see
    /// <see cref="OwnedByQueryHead"/>): q rows and bias, o columns, and without grouped-query attention its own k and
    /// v rows. With grouped-query attention the shared k/v of its group are not included.
    /// </summary>
    public IEnumerable<(ParameterInfo Parameter, UnitSlice Slice)> QueryHeadSlices(int layer, int head) =>
        OwnedByQueryHead(UnitKind.KvHead)
            ? SlicesOf(layer, UnitKind.Head, head).Concat(SlicesOf(layer, UnitKind.KvHead, head))
            : SlicesOf(layer, UnitKind.Head, head);

    public Dictionary<Component, long> CountByComponent()
    {
        var d = Enum.GetValues<Component>().ToDictionary(c => c, _ => 0L);
        foreach (var p in Parameters)
            foreach (var b in p.Blocks) d[b.Component] += p.NumElOf(b);
        return d;
    }

    public Dictionary<(int? Layer, Component Component), long> CountByLayerComponent()
    {
        var d = new Dictionary<(int?, Component), long>();
        foreach (var p in Parameters)
            foreach (var b in p.Blocks) d[(p.Layer, b.Component)] = d.GetValueOrDefault((p.Layer, b.Component)) + p.NumElOf(b);
        return d;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Element counts of a subset of the parameters (e.g. those a trace considers), from shapes alone: equal to the
    // Sum* helpers below over all-ones tensors of those parameters, without allocating them. Every key of the Sum*
    // counterpart is present (0 where no given parameter contributes). A parameter not in this map throws.

    /// <summary>Per (layer or null, component) as <see cref="SumByLayerComponent"/>.</summary>
    public Dictionary<(int? Layer, Component Component), long> CountByLayerComponent(IEnumerable<ParameterInfo> subset)
    {
        var d = CountByLayerComponent().ToDictionary(kv => kv.Key, _ => 0L);
        foreach (var p in Own(subset))
            foreach (var b in p.Blocks) d[(p.Layer, b.Component)] += p.NumElOf(b);
        return d;
    }

    /// <summary>Per (layer, query head) as <see cref="SumByHead"/>; all parameters when <paramref name="subset"/> is null.</summary>
    public Dictionary<(int Layer, int Head), long> CountByHead(IEnumerable<ParameterInfo>? subset = null) =>
        CountKind(subset, OwnedByQueryHead, Heads);

    /// <summary>Per (layer, kv head) as <see cref="SumByKvHead"/>; all parameters when <paramref name="subset"/> is null.</summary>
    public Dictionary<(int Layer, int KvHead), long> CountByKvHead(IEnumerable<ParameterInfo>? subset = null) =>
        CountKind(subset, k => k == UnitKind.KvHead, KvHeads);

    /// <summary>Per (layer, neuron) as <see cref="SumByNeuron"/>; all parameters when <paramref name="subset"/> is null.</summary>
    public Dictionary<(int Layer, int Neuron), long> CountByNeuron(IEnumerable<ParameterInfo>? subset = null) =>
        CountKind(subset, k => k == UnitKind.Neuron, Intermediate);

    Dictionary<(int, int), long> CountKind(IEnumerable<ParameterInfo>? subset, Func<UnitKind, bool> kinds, int units)
    {
        var d = Keys<long>(units);
        foreach (var p in subset is null ? Parameters : Own(subset))
            foreach (var f in p.UnitSlices)
                if (kinds(f.Kind))
                    for (var k = 0; k < f.Count; k++) d[(p.Layer!.Value, f.FirstUnit + k)] += p.NumElOf(f[k]);
        return d;
    }

    /// <summary>This map's entries for the given parameters (a parameter of another model's map throws).</summary>
    IEnumerable<ParameterInfo> Own(IEnumerable<ParameterInfo> subset) =>
        subset.Select(p => byName.TryGetValue(p.Name, out var own) && own.Shape.SequenceEqual(p.Shape)
            ? own
            : throw new ArgumentException($"'{p.Name}' [{string.Join(", ", p.Shape)}] is not a parameter of this {Config.ModelType} model"));

    // ---------------------------------------------------------------------------------------------------------------
    // Aggregation. values: HF name -> tensor of that parameter's shape (scores, gradients, masks; any dtype/device).
    // Names not in the map or wrong shapes throw; parameters absent from values contribute 0. Sums are in float64.

    /// <summary>
    /// Per (layer, query head): its q rows (and q bias), its o columns, and, when kv heads equal heads (GPT-NeoX, MHA
    /// Llama), its own k and v rows. With grouped-query attention k/v belong to a group: see <see cref="SumByKvHead"/>.
    /// </summary>
    public Dictionary<(int Layer, int Head), double> SumByHead(IReadOnlyDictionary<string, Tensor> values)
    {
        var d = Keys<double>(Heads);
        foreach (var (p, f, sums) in Families(values))
            if (OwnedByQueryHead(f.Kind))
                for (var k = 0; k < f.Count; k++) d[(p.Layer!.Value, f.FirstUnit + k)] += sums[k];
        return d;
    }

    /// <summary>Per (layer, kv head): its k and v rows (and biases).</summary>
    public Dictionary<(int Layer, int KvHead), double> SumByKvHead(IReadOnlyDictionary<string, Tensor> values) =>
        SumKind(values, UnitKind.KvHead, KvHeads);

    /// <summary>Per (layer, neuron j): row j of h_to_4h / gate / up (and their bias entry j), column j of 4h_to_h / down.</summary>
    public Dictionary<(int Layer, int Neuron), double> SumByNeuron(IReadOnlyDictionary<string, Tensor> values) =>
        SumKind(values, UnitKind.Neuron, Intermediate);

    /// <summary>Per unit and component, e.g. (layer 0, Head, 3, AttnQ): the finest split of the unit slices.</summary>
    public Dictionary<(int Layer, UnitKind Kind, int Unit, Component Component), double> SumByUnit(IReadOnlyDictionary<string, Tensor> values)
    {
        var d = new Dictionary<(int, UnitKind, int, Component), double>();
        foreach (var p in Parameters)
            foreach (var f in p.UnitSlices)
                for (var k = 0; k < f.Count; k++) d[(p.Layer!.Value, f.Kind, f.FirstUnit + k, f.Component)] = 0;
        foreach (var (p, f, sums) in Families(values))
            for (var k = 0; k < f.Count; k++) d[(p.Layer!.Value, f.Kind, f.FirstUnit + k, f.Component)] += sums[k];
        return d;
    }

    /// <summary>Per (layer or null outside the blocks, component); the fused qkv split into q, k and v.</summary>
    public Dictionary<(int? Layer, Component Component), double> SumByLayerComponent(IReadOnlyDictionary<string, Tensor> values)
    {
        var d = CountByLayerComponent().ToDictionary(kv => kv.Key, _ => 0.0);
        foreach (var (name, t) in values)
        {
            var p = Checked(name, t);
            if (p.Blocks.Count == 1) { d[(p.Layer, p.Component)] += Total(t); continue; }
            var rows = Marginal(t, 0);
            foreach (var b in p.Blocks) d[(p.Layer, b.Component)] += RangeSum(rows, b.Start, b.Length);
        }
        return d;
    }

    /// <summary>Every (layer, unit) with 0, in layer-then-unit order.</summary>
    Dictionary<(int, int), T> Keys<T>(int units) where T : struct
    {
        var d = new Dictionary<(int, int), T>(Layers * units);
        for (var l = 0; l < Layers; l++)
            for (var u = 0; u < units; u++) d[(l, u)] = default;
        return d;
    }

    Dictionary<(int, int), double> SumKind(IReadOnlyDictionary<string, Tensor> values, UnitKind kind, int units)
    {
        var d = Keys<double>(units);
        foreach (var (p, f, sums) in Families(values))
            if (f.Kind == kind)
                for (var k = 0; k < f.Count; k++) d[(p.Layer!.Value, f.FirstUnit + k)] += sums[k];
        return d;
    }

    /// <summary>For every slice family of every given parameter: the per-unit sums.</summary>
    IEnumerable<(ParameterInfo P, StridedSlices F, double[] Sums)> Families(IReadOnlyDictionary<string, Tensor> values)
    {
        foreach (var (name, t) in values)
        {
            var p = Checked(name, t);
            var marginals = new Dictionary<int, double[]>();
            foreach (var f in p.UnitSlices)
            {
                if (!marginals.TryGetValue(f.Dim, out var m)) marginals[f.Dim] = m = Marginal(t, f.Dim);
                var sums = new double[f.Count];
                for (var k = 0; k < f.Count; k++) sums[k] = RangeSum(m, f.Start + k * f.Stride, f.Length);
                yield return (p, f, sums);
            }
        }
    }

    ParameterInfo Checked(string name, Tensor t)
    {
        if (!byName.TryGetValue(name, out var p))
            throw new ArgumentException($"'{name}' is not a parameter of this {Config.ModelType} model");
        if (!t.shape.SequenceEqual(p.Shape))
            throw new ArgumentException($"'{name}' has shape [{string.Join(", ", t.shape)}], the parameter is [{string.Join(", ", p.Shape)}]");
        return p;
    }

    static double Total(Tensor t)
    {
        using var noGrad = no_grad();
        using var s = t.sum(ScalarType.Float64);
        return s.item<double>();
    }

    /// <summary>Sums over every dim but <paramref name="dim"/>: one float64 per index along it.</summary>
    static double[] Marginal(Tensor t, int dim)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var others = Enumerable.Range(0, (int)t.dim()).Where(i => i != dim).Select(i => (long)i).ToArray();
        var s = others.Length == 0 ? t.to_type(ScalarType.Float64) : t.sum(others, false, ScalarType.Float64);
        return s.contiguous().cpu().data<double>().ToArray();
    }

    static double RangeSum(double[] m, long start, long length)
    {
        var s = 0.0;
        for (var i = start; i < start + length; i++) s += m[i];
        return s;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Building the map.

    /// <summary>The map of a (validated) config; no tensor is allocated.</summary>
    public static ParameterMap For(ModelConfig config)
    {
        config.Validate();
        return new ParameterMap(config, config.IsNeoX ? ParameterAnatomy.NeoX(config) : ParameterAnatomy.Llama(config));
    }
}
