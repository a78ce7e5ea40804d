using System.Text.Json.Serialization;

namespace FactTrace.Training;

/// <summary>
/// Where a run stands, saved beside the weights and optimizer moments so that --resume continues exactly: the data
/// order of an epoch is a pure function of (seed, stage, epoch), so position + weights + moments are the whole state.
/// </summary>
public sealed record TrainerState
{
    public const int CurrentFormat = 1;
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = CurrentFormat;
    /// <summary>Fingerprint of the options, model and data: a resume from another configuration is refused.</summary>
    [JsonPropertyName("run_fingerprint")] public string RunFingerprint { get; init; } = "";
    [JsonPropertyName("stage")] public int Stage { get; set; }
    [JsonPropertyName("epoch")] public int Epoch { get; set; }
    [JsonPropertyName("batch")] public int Batch { get; set; }
    [JsonPropertyName("global_step")] public long GlobalStep { get; set; }
    [JsonPropertyName("stage_step")] public long StageStep { get; set; }
    [JsonPropertyName("optimizer_step")] public long OptimizerStep { get; set; }
    /// <summary>Loss accumulated since the last metrics line (so log lines after a resume are identical).</summary>
    [JsonPropertyName("loss_sum")] public double LossSum { get; set; }
    [JsonPropertyName("loss_count")] public int LossCount { get; set; }
    [JsonPropertyName("tokens_since_log")] public long TokensSinceLog { get; set; }
    /// <summary>Lines of metrics.jsonl written when this state was saved; later lines are dropped on resume.</summary>
    [JsonPropertyName("metrics_lines")] public int MetricsLines { get; set; }
    [JsonPropertyName("bio_memorization_stage1")] public double? BioMemorizationStage1 { get; set; }
    [JsonPropertyName("finished")] public bool Finished { get; set; }
}
