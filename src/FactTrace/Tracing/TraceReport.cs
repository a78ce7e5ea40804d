using System.Text.Json.Serialization;

namespace FactTrace.Tracing;

/// <summary>
/// trace.json (format_version 1), written by <see cref="Tracer.Write"/> and read back by the report with this same record: the JSON
/// names are the file format of existing runs.
/// </summary>
public sealed record TraceReport
{
    public const int CurrentFormat = 1;
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = CurrentFormat;
    [JsonPropertyName("model")] public required string Model { get; init; }
    [JsonPropertyName("score")] public required string Score { get; init; }
    [JsonPropertyName("granularity")] public required string Granularity { get; init; }
    /// <summary>"post-hoc" (scores of the final model over the probe set) or "during-training".</summary>
    [JsonPropertyName("when")] public required string When { get; init; }
    [JsonPropertyName("scope")] public required string Scope { get; init; }
    [JsonPropertyName("include_embeddings")] public bool IncludeEmbeddings { get; init; }
    [JsonPropertyName("include_norms")] public bool IncludeNorms { get; init; }
    [JsonPropertyName("probe")] public required ProbeInfo Probe { get; init; }
    /// <summary>Backward passes summed per task (examples, micro-batches or training-batch parts).</summary>
    [JsonPropertyName("units")] public required TaskCounts Units { get; init; }
    [JsonPropertyName("parameters_considered")] public long ParametersConsidered { get; init; }
    [JsonPropertyName("per_rho")] public required IReadOnlyList<RhoResult> PerRho { get; init; }
}

public sealed record TaskCounts([property: JsonPropertyName("bio")] long Bio, [property: JsonPropertyName("qa")] long Qa);

/// <summary>The probe sets: whose BIOs and questions, how many examples were used, the sampling seed.</summary>
public sealed record ProbeInfo(
    [property: JsonPropertyName("bio")] string Bio,
    [property: JsonPropertyName("qa")] string Qa,
    [property: JsonPropertyName("bio_size")] long BioSize,
    [property: JsonPropertyName("qa_size")] long QaSize,
    [property: JsonPropertyName("seed")] long Seed);

public sealed record RhoResult
{
    [JsonPropertyName("rho")] public double Rho { get; init; }
    /// <summary>Elements selected per task.</summary>
    [JsonPropertyName("k")] public long K { get; init; }
    /// <summary>|S| = |TopK_BIO ∩ TopK_QA|.</summary>
    [JsonPropertyName("shared")] public long Shared { get; init; }
    /// <summary>|S| / k.</summary>
    [JsonPropertyName("shared_fraction")] public double SharedFraction { get; init; }
    /// <summary>|S| / |TopK_BIO ∪ TopK_QA|.</summary>
    [JsonPropertyName("iou")] public double Iou { get; init; }
    /// <summary>|S| / (rho * k): the overlap over that of two independent random sets of k (global scope).</summary>
    [JsonPropertyName("enrichment")] public double Enrichment { get; init; }
    /// <summary>E|S| for two independent uniform random selections with the same k per tensor (global: k^2/N).</summary>
    [JsonPropertyName("expected_shared_by_chance")] public double ExpectedSharedByChance { get; init; }
    [JsonPropertyName("centralization")] public required CentralizationPair Centralization { get; init; }
    [JsonPropertyName("by_layer_component")] public required IReadOnlyList<LayerComponentRow> ByLayerComponent { get; init; }
    /// <summary>Per query head: its q rows, o columns and, when kv heads equal heads, its own k and v rows.</summary>
    [JsonPropertyName("by_head")] public required IReadOnlyList<HeadRow> ByHead { get; init; }
    /// <summary>Grouped-query attention only (kv heads &lt; heads): per kv head, its k and v rows; null otherwise.</summary>
    [JsonPropertyName("by_kv_head")] public IReadOnlyList<HeadRow>? ByKvHead { get; init; }
}

public sealed record CentralizationPair(
    [property: JsonPropertyName("heads")] Centralization Heads,
    [property: JsonPropertyName("neurons")] Centralization Neurons);

public sealed record LayerComponentRow(
    [property: JsonPropertyName("layer"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Layer,
    [property: JsonPropertyName("component")] string Component,
    [property: JsonPropertyName("shared")] long Shared,
    [property: JsonPropertyName("bio")] long Bio,
    [property: JsonPropertyName("qa")] long Qa,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("density")] double Density);

public sealed record HeadRow(
    [property: JsonPropertyName("layer")] int Layer,
    [property: JsonPropertyName("head")] int Head,
    [property: JsonPropertyName("shared")] long Shared,
    [property: JsonPropertyName("bio")] long Bio,
    [property: JsonPropertyName("qa")] long Qa,
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("density")] double Density);

/// <summary>Per MLP neuron (CSV only: too many rows for trace.json).</summary>
public sealed record NeuronRow(int Layer, int Neuron, long Shared, long Bio, long Qa, long Total, double Density);
