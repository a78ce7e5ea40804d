using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Models;

/// <summary>What a parameter (or a block of its rows) is part of.</summary>
public enum Component { Embed, AttnQ, AttnK, AttnV, AttnO, MlpIn, MlpOut, Norm, Unembed }

public static class ComponentNames
{
    /// <summary>The snake_case name used in output: embed, attn_q, attn_k, attn_v, attn_o, mlp_in, mlp_out, norm, unembed.</summary>
    public static string ToSnakeCase(this Component c) => c switch
    {
        Component.Embed => "embed",
        Component.AttnQ => "attn_q",
        Component.AttnK => "attn_k",
        Component.AttnV => "attn_v",
        Component.AttnO => "attn_o",
        Component.MlpIn => "mlp_in",
        Component.MlpOut => "mlp_out",
        Component.Norm => "norm",
        Component.Unembed => "unembed",
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };
}

/// <summary>
/// The unit a slice belongs to: a query head (q rows, o columns), a key/value head (k and v rows; query head h reads
/// kv head h / (heads / kv_heads), so in GPT-NeoX and other MHA models kv head h is head h's own), or an MLP neuron.
/// </summary>
public enum UnitKind { Head, KvHead, Neuron }

/// <summary>Rows [Start, Start + Length) along dim 0 of a parameter that belong to one component.</summary>
public readonly record struct ComponentBlock(Component Component, long Start, long Length);

/// <summary>Indices [Start, Start + Length) along <see cref="Dim"/> of a parameter that belong to one unit.</summary>
public readonly record struct UnitSlice(UnitKind Kind, int Unit, Component Component, int Dim, long Start, long Length);

/// <summary>
/// A regular family of unit slices in one parameter: unit <c>FirstUnit + k</c> (k &lt; Count) owns indices
/// [Start + k * Stride, Start + k * Stride + Length) along Dim. GPT-NeoX's fused qkv rows (head, {q,k,v}, d_head)
/// are three families with stride 3 * d_head.
/// </summary>
public readonly record struct StridedSlices(UnitKind Kind, Component Component, int Dim, int FirstUnit, int Count, long Start, long Stride, long Length)
{
    public UnitSlice this[int k] => new(Kind, FirstUnit + k, Component, Dim, Start + k * Stride, Length);
    public IEnumerable<UnitSlice> All
    {
        get
        {
            var self = this;
            return Enumerable.Range(0, Count).Select(k => self[k]);
        }
    }
}

/// <summary>One Hugging Face parameter: name, shape, layer (null outside the blocks), components and unit slices.</summary>
public sealed class ParameterInfo
{
    internal ParameterInfo(string name, long[] shape, int? layer, IReadOnlyList<ComponentBlock> blocks,
        IReadOnlyList<StridedSlices> units, bool isEmbedding)
    {
        Name = name;
        Shape = shape;
        Layer = layer;
        Blocks = blocks;
        UnitSlices = units;
        IsEmbedding = isEmbedding;
        NumEl = shape.Aggregate(1L, (a, b) => a * b);
        Components = blocks.Select(b => b.Component).Distinct().ToArray();
    }

    public string Name { get; }
    public long[] Shape { get; }
    public int? Layer { get; }
    public long NumEl { get; }
    /// <summary>Input embedding or (untied) output embedding: excluded from the non-embedding count.</summary>
    public bool IsEmbedding { get; }
    /// <summary>Row blocks (dim 0) by component; one block covering everything except for GPT-NeoX's fused qkv.</summary>
    public IReadOnlyList<ComponentBlock> Blocks { get; }
    /// <summary>The distinct components, in row order (AttnQ, AttnK, AttnV for the fused qkv).</summary>
    public IReadOnlyList<Component> Components { get; }
    /// <summary>The first component (the only one unless fused).</summary>
    public Component Component => Components[0];
    public bool IsBias => Name.EndsWith(".bias", StringComparison.Ordinal);
    /// <summary>The module path: the name without ".weight"/".bias".</summary>
    public string Module => Name[..Name.LastIndexOf('.')];
    /// <summary>Head / kv-head / neuron slice families; empty for parameters shared by all units (norms, o bias, ...).</summary>
    public IReadOnlyList<StridedSlices> UnitSlices { get; }
    public IEnumerable<UnitSlice> Slices => UnitSlices.SelectMany(f => f.All);

    /// <summary>Elements per index along <paramref name="dim"/> (a row's or a column's element count).</summary>
    public long ElementsPerIndex(int dim) => NumEl / Shape[dim];
    public long NumElOf(UnitSlice s) => s.Length * ElementsPerIndex(s.Dim);
    public long NumElOf(ComponentBlock b) => b.Length * ElementsPerIndex(0);

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}

/// <summary>
/// The one place that knows a model's anatomy (TransformerLens-style): every HF parameter name of a GPT-NeoX or Llama
/// config with its shape, layer, component(s) and the exact rows/columns of each attention head, kv head and MLP
/// neuron, built from the config alone without allocating weights. Scores and masks are aggregated by layer, head and
/// neuron only through the Sum* helpers here.
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
    // Aggregation. values: HF name -> tensor of that parameter's shape (scores, gradients, masks; any dtype/device).
    // Names not in the map or wrong shapes throw; parameters absent from values contribute 0. Sums are in float64.

    /// <summary>
    /// Per (layer, query head): its q rows (and q bias), its o columns, and, when kv heads equal heads (GPT-NeoX, MHA
    /// Llama), its own k and v rows. With grouped-query attention k/v belong to a group: see <see cref="SumByKvHead"/>.
    /// </summary>
    public Dictionary<(int Layer, int Head), double> SumByHead(IReadOnlyDictionary<string, Tensor> values)
    {
        var d = Keys(Heads);
        var kvOwn = KvHeads == Heads;
        foreach (var (p, f, sums) in Families(values))
            if (f.Kind == UnitKind.Head || (kvOwn && f.Kind == UnitKind.KvHead))
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

    Dictionary<(int, int), double> Keys(int units)
    {
        var d = new Dictionary<(int, int), double>(Layers * units);
        for (var l = 0; l < Layers; l++)
            for (var u = 0; u < units; u++) d[(l, u)] = 0;
        return d;
    }

    Dictionary<(int, int), double> SumKind(IReadOnlyDictionary<string, Tensor> values, UnitKind kind, int units)
    {
        var d = Keys(units);
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
        return new ParameterMap(config, config.IsNeoX ? NeoX(config) : Llama(config));
    }

    static ParameterInfo Whole(string name, long[] shape, int? layer, Component c, bool embedding = false, params StridedSlices[] units) =>
        new(name, shape, layer, [new ComponentBlock(c, 0, shape[0])], units, embedding);

    static StridedSlices Rows(UnitKind kind, Component c, int count, long start, long stride, long length) =>
        new(kind, c, 0, 0, count, start, stride, length);

    static StridedSlices Cols(UnitKind kind, Component c, int count, long length) =>
        new(kind, c, 1, 0, count, 0, length, length);

    static List<ParameterInfo> NeoX(ModelConfig c)
    {
        long d = c.HiddenSize, v = c.VocabSize, inter = c.IntermediateSize, hd = c.HeadDim;
        int h = c.NumAttentionHeads, n = c.IntermediateSize;
        var bias = c.AttentionBias ?? true;
        var list = new List<ParameterInfo> { Whole("gpt_neox.embed_in.weight", [v, d], null, Component.Embed, embedding: true) };
        // Fused qkv rows are head-major: head, then {q, k, v}, then d_head.
        var qkvBlocks = Enumerable.Range(0, h).SelectMany(i => new[]
        {
            new ComponentBlock(Component.AttnQ, i * 3 * hd, hd),
            new ComponentBlock(Component.AttnK, i * 3 * hd + hd, hd),
            new ComponentBlock(Component.AttnV, i * 3 * hd + 2 * hd, hd),
        }).ToArray();
        StridedSlices[] qkvUnits =
        [
            Rows(UnitKind.Head, Component.AttnQ, h, 0, 3 * hd, hd),
            Rows(UnitKind.KvHead, Component.AttnK, h, hd, 3 * hd, hd),
            Rows(UnitKind.KvHead, Component.AttnV, h, 2 * hd, 3 * hd, hd),
        ];
        for (var l = 0; l < c.NumHiddenLayers; l++)
        {
            var p = $"gpt_neox.layers.{l}.";
            list.Add(Whole(p + "input_layernorm.weight", [d], l, Component.Norm));
            list.Add(Whole(p + "input_layernorm.bias", [d], l, Component.Norm));
            list.Add(Whole(p + "post_attention_layernorm.weight", [d], l, Component.Norm));
            list.Add(Whole(p + "post_attention_layernorm.bias", [d], l, Component.Norm));
            list.Add(new ParameterInfo(p + "attention.query_key_value.weight", [3 * h * hd, d], l, qkvBlocks, qkvUnits, false));
            if (bias) list.Add(new ParameterInfo(p + "attention.query_key_value.bias", [3 * h * hd], l, qkvBlocks, qkvUnits, false));
            list.Add(Whole(p + "attention.dense.weight", [d, h * hd], l, Component.AttnO, false, Cols(UnitKind.Head, Component.AttnO, h, hd)));
            if (bias) list.Add(Whole(p + "attention.dense.bias", [d], l, Component.AttnO));
            list.Add(Whole(p + "mlp.dense_h_to_4h.weight", [inter, d], l, Component.MlpIn, false, Rows(UnitKind.Neuron, Component.MlpIn, n, 0, 1, 1)));
            list.Add(Whole(p + "mlp.dense_h_to_4h.bias", [inter], l, Component.MlpIn, false, Rows(UnitKind.Neuron, Component.MlpIn, n, 0, 1, 1)));
            list.Add(Whole(p + "mlp.dense_4h_to_h.weight", [d, inter], l, Component.MlpOut, false, Cols(UnitKind.Neuron, Component.MlpOut, n, 1)));
            list.Add(Whole(p + "mlp.dense_4h_to_h.bias", [d], l, Component.MlpOut));
        }
        list.Add(Whole("gpt_neox.final_layer_norm.weight", [d], null, Component.Norm));
        list.Add(Whole("gpt_neox.final_layer_norm.bias", [d], null, Component.Norm));
        if (!c.TieWordEmbeddings) list.Add(Whole("embed_out.weight", [v, d], null, Component.Unembed, embedding: true));
        return list;
    }

    static List<ParameterInfo> Llama(ModelConfig c)
    {
        long d = c.HiddenSize, v = c.VocabSize, inter = c.IntermediateSize, hd = c.HeadDim;
        int h = c.NumAttentionHeads, kv = c.KvHeads, n = c.IntermediateSize;
        bool attnBias = c.AttentionBias ?? false, mlpBias = c.MlpBias ?? false;
        var list = new List<ParameterInfo> { Whole("model.embed_tokens.weight", [v, d], null, Component.Embed, embedding: true) };
        for (var l = 0; l < c.NumHiddenLayers; l++)
        {
            var p = $"model.layers.{l}.";
            void Proj(string name, long rows, long cols, Component comp, StridedSlices? weightUnits, StridedSlices? biasUnits, bool withBias)
            {
                list.Add(Whole(p + name + ".weight", [rows, cols], l, comp, false, weightUnits is { } w ? [w] : []));
                if (withBias) list.Add(Whole(p + name + ".bias", [rows], l, comp, false, biasUnits is { } b ? [b] : []));
            }
            var q = Rows(UnitKind.Head, Component.AttnQ, h, 0, hd, hd);
            var k = Rows(UnitKind.KvHead, Component.AttnK, kv, 0, hd, hd);
            var vv = Rows(UnitKind.KvHead, Component.AttnV, kv, 0, hd, hd);
            Proj("self_attn.q_proj", h * hd, d, Component.AttnQ, q, q, attnBias);
            Proj("self_attn.k_proj", kv * hd, d, Component.AttnK, k, k, attnBias);
            Proj("self_attn.v_proj", kv * hd, d, Component.AttnV, vv, vv, attnBias);
            Proj("self_attn.o_proj", d, h * hd, Component.AttnO, Cols(UnitKind.Head, Component.AttnO, h, hd), null, attnBias);
            var rowsJ = Rows(UnitKind.Neuron, Component.MlpIn, n, 0, 1, 1);
            Proj("mlp.gate_proj", inter, d, Component.MlpIn, rowsJ, rowsJ, mlpBias);
            Proj("mlp.up_proj", inter, d, Component.MlpIn, rowsJ, rowsJ, mlpBias);
            Proj("mlp.down_proj", d, inter, Component.MlpOut, Cols(UnitKind.Neuron, Component.MlpOut, n, 1), null, mlpBias);
            list.Add(Whole(p + "input_layernorm.weight", [d], l, Component.Norm));
            list.Add(Whole(p + "post_attention_layernorm.weight", [d], l, Component.Norm));
        }
        list.Add(Whole("model.norm.weight", [d], null, Component.Norm));
        if (!c.TieWordEmbeddings) list.Add(Whole("lm_head.weight", [v, d], null, Component.Unembed, embedding: true));
        return list;
    }
}
