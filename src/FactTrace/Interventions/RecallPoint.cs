using System.Text.Json.Serialization;
using FactTrace.Evaluation;
using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Interventions;

/// <summary>The three measures an intervention reports (the <see cref="Evaluator"/>'s, without BIO extraction).</summary>
public sealed record RecallPoint(
    [property: JsonPropertyName("qa_id")] double QaId,
    [property: JsonPropertyName("qa_ood")] double QaOod,
    [property: JsonPropertyName("bio_memorization")] double BioMemorization)
{
    public static RecallPoint Measure(Evaluator evaluator, CausalLM model, EvalSet set) => InEval(model, () =>
    {
        var qaId = Mean(evaluator.Answer(model, set.QaId));
        var qaOod = Mean(evaluator.Answer(model, set.QaOod));
        var (all, _) = evaluator.Memorization(model, set.Bio);
        return new RecallPoint(qaId, qaOod, all.Count == 0 ? 0 : all.Count(x => x.Item2) / (double)all.Count);
    });

    /// <summary>QA-OOD alone (the robustness stage's resets).</summary>
    public static double MeasureQaOod(Evaluator evaluator, CausalLM model, EvalSet set) => InEval(model, () => Mean(evaluator.Answer(model, set.QaOod)));

    static double Mean(bool[] xs) => xs.Length == 0 ? 0 : xs.Count(x => x) / (double)xs.Length;

    /// <summary>Runs <paramref name="measure"/> in eval mode without gradients, then restores the mode.</summary>
    static T InEval<T>(CausalLM model, Func<T> measure)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var result = measure();
            GC.Collect();
            return result;
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
