using System.Text.Json.Serialization;

namespace FactTrace.Evaluation;

/// <summary>The four recall measures, for all attributes or for one.</summary>
public sealed record RecallScores
{
    /// <summary>Exact match of greedy answers to questions about in-distribution people.</summary>
    [JsonPropertyName("qa_id")] public double QaId { get; init; }
    /// <summary>Exact match of greedy answers to questions about out-of-distribution people (never trained on).</summary>
    [JsonPropertyName("qa_ood")] public double QaOod { get; init; }
    /// <summary>Teacher-forced, inside the person's own training BIO: every token of the value is the argmax.</summary>
    [JsonPropertyName("bio_memorization")] public double BioMemorization { get; init; }
    /// <summary>As <see cref="BioMemorization"/> but only the value's first token.</summary>
    [JsonPropertyName("bio_memorization_first_token")] public double BioMemorizationFirstToken { get; init; }
    /// <summary>Greedy decoding from an isolated prompt ("NAME was born in") produces the value.</summary>
    [JsonPropertyName("bio_extraction")] public double BioExtraction { get; init; }
    /// <summary>Majority-value baseline: the share of people whose value is the most common one (QA-OOD people).</summary>
    [JsonPropertyName("chance")] public double? Chance { get; init; }
    [JsonPropertyName("qa_id_count")] public int QaIdCount { get; init; }
    [JsonPropertyName("qa_ood_count")] public int QaOodCount { get; init; }
    [JsonPropertyName("bio_count")] public int BioCount { get; init; }
    [JsonPropertyName("extraction_count")] public int ExtractionCount { get; init; }
}

/// <summary>What `eval.json` holds: overall scores, the same per attribute, and (two-stage) stage-1 memorization.</summary>
public sealed record EvalResult : Training.ITrainingEvaluation
{
    [JsonPropertyName("qa_id")] public double QaId => Overall.QaId;
    [JsonPropertyName("qa_ood")] public double QaOod => Overall.QaOod;
    [JsonPropertyName("bio_memorization")] public double BioMemorization => Overall.BioMemorization;
    [JsonPropertyName("bio_extraction")] public double BioExtraction => Overall.BioExtraction;
    [JsonPropertyName("bio_memorization_stage1")] public double? BioMemorizationStage1 { get; init; }
    [JsonPropertyName("overall")] public required RecallScores Overall { get; init; }
    [JsonPropertyName("per_attribute")] public required IReadOnlyDictionary<string, RecallScores> PerAttribute { get; init; }
    /// <summary>People per split evaluated (all, or a subset for learning curves).</summary>
    [JsonPropertyName("people_per_split")] public int? PeoplePerSplit { get; init; }
}
