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
    /// <summary>The input embedding (embed_in / embed_tokens; with tied embeddings also the output projection).</summary>
    public bool IsInputEmbedding => Component == Component.Embed;
    /// <summary>A LayerNorm / RMSNorm weight or bias.</summary>
    public bool IsNorm => Component == Component.Norm;
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
