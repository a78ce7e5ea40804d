using System.Text.Json;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Training;

namespace FactTrace.Evaluation;

/// <summary>The trainer's evaluations: everyone (<paramref name="full"/>) or the learning-curve subset; eval.json.</summary>
public sealed class TrainingEvaluator(Evaluator evaluator, EvalSet full, EvalSet subset) : ITrainingEvaluator
{
    public ITrainingEvaluation Evaluate(CausalLM model, bool all) => evaluator.Run(model, all ? full : subset);

    public ITrainingEvaluation Finish(ITrainingEvaluation final, double? bioMemorizationStage1, string path)
    {
        var result = (EvalResult)final with { BioMemorizationStage1 = bioMemorizationStage1 };
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(result, Json.Indented));
        return result;
    }

    public ITrainingEvaluation Read(string path) => Json.ReadFile<EvalResult>(path, "eval file");
}
