using FactTrace.Models;
using FactTrace.World;

namespace FactTrace.Evaluation;

/// <summary>`facttrace eval`: a model folder on a world, with the folder's tokenizer (else the world's).</summary>
public static class EvalRun
{
    public static EvalResult Run(string worldDir, string modelDir)
    {
        var world = FactWorld.Load(worldDir);
        var (model, tok) = ModelFolder.Open(modelDir).Load(world.Tokenizer);
        using var _ = model;
        return new Evaluator(tok).Run(model, EvalSetBuilder.Build(world, tok));
    }
}
