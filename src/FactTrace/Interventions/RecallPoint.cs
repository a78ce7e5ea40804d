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
    public static RecallPoint Measure(Evaluator evaluator, CausalLM model, EvalSet set)
    {
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            static double Mean(bool[] xs) => xs.Length == 0 ? 0 : xs.Count(x => x) / (double)xs.Length;
            var qaId = Mean(evaluator.Answer(model, set.QaId));
            var qaOod = Mean(evaluator.Answer(model, set.QaOod));
            var (all, _) = evaluator.Memorization(model, set.Bio);
            var bio = all.Count == 0 ? 0 : all.Count(x => x.Item2) / (double)all.Count;
            GC.Collect();
            return new RecallPoint(qaId, qaOod, bio);
        }
        finally
        {
            model.train(wasTraining);
        }
    }
}
