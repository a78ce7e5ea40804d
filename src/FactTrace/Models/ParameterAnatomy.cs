namespace FactTrace.Models;

/// <summary>
/// The per-architecture anatomy tables behind <see cref="ParameterMap"/>: every HF parameter of a GPT-NeoX or Llama
/// config, in HF's named_parameters order, with its shape, layer, component row blocks and unit slice families.
/// Adding an architecture means adding a table here; the query API in ParameterMap stays as it is.
/// </summary>
internal static class ParameterAnatomy
{
    static ParameterInfo Whole(string name, long[] shape, int? layer, Component c, bool embedding = false, params StridedSlices[] units) =>
        new(name, shape, layer, [new ComponentBlock(c, 0, shape[0])], units, embedding);

    static StridedSlices Rows(UnitKind kind, Component c, int count, long start, long stride, long length) =>
        new(kind, c, 0, 0, count, start, stride, length);

    static StridedSlices Cols(UnitKind kind, Component c, int count, long length) =>
        new(kind, c, 1, 0, count, 0, length, length);

    internal static List<ParameterInfo> NeoX(ModelConfig c)
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

    internal static List<ParameterInfo> Llama(ModelConfig c)
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
