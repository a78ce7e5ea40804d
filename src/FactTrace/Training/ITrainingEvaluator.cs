using FactTrace.Models;

namespace FactTrace.Training;

/// <summary>The scores of an evaluation that the trainer logs (metrics.jsonl) and keeps (stage-1 memorization).</summary>
public interface ITrainingEvaluation
{
    double QaId { get; }
    double QaOod { get; }
    double BioMemorization { get; }
    double BioExtraction { get; }
    /// <summary>People per split evaluated (all, or a subset for learning curves).</summary>
    int? PeoplePerSplit { get; }
}

/// <summary>
/// How the trainer evaluates as it goes, given by the caller (Evaluation's <c>TrainingEvaluator</c>): Training comes
/// before Evaluation in the data flow, so the trainer knows evaluations only through this interface.
/// </summary>
public interface ITrainingEvaluator
{
    /// <summary><paramref name="full"/> = every person (final, end of stage 1), else a fixed subset (learning curves).</summary>
    ITrainingEvaluation Evaluate(CausalLM model, bool full);
    /// <summary>Records the stage-1 memorization in the final evaluation and writes it to <paramref name="path"/> (eval.json).</summary>
    ITrainingEvaluation Finish(ITrainingEvaluation final, double? bioMemorizationStage1, string path);
    /// <summary>The eval.json of a finished run.</summary>
    ITrainingEvaluation Read(string path);
}
