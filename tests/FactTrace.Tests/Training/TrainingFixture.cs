using FactTrace.Evaluation;
using FactTrace.Models;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Tests.Training;

/// <summary>A few-person world and a 1-layer model: small enough that a whole run takes about a second.</summary>
public static class TrainingFixture
{
    public static FactWorld World(int people = 12, int variants = 2) =>
        FactWorld.Generate(new WorldOptions(People: people, Seed: 3, BioVariants: variants, Permute: true));

    public static CausalLM Model(FactWorld w, long seed = 0, string family = ModelConfig.GptNeoX)
    {
        var name = family == ModelConfig.GptNeoX ? "micro-neox" : "micro-llama";
        var tok = w.Tokenizer;
        var config = NamedConfigs.Get(name, tok.VocabSize) with
        {
            NumHiddenLayers = 1, BosTokenId = tok.BosId, EosTokenId = tok.EosId, PadTokenId = tok.PadId,
        };
        return ModelFactory.Create(config, seed);
    }

    public static TrainOptions Options(Strategy s) => new()
    {
        Strategy = s, BioEpochs = 3, QaEpochs = 2, BatchSize = 8, Lr = 3e-3, EvalEvery = 1, EvalPeople = 3,
        CheckpointEvery = 4, LogEvery = 2,
    };

    public static Trainer Trainer(FactWorld w, CausalLM model, TrainOptions o, string dir)
    {
        var full = EvalSetBuilder.Build(w, w.Tokenizer);
        var subset = EvalSetBuilder.Subset(full, w, o.EvalPeople);
        var evaluator = new Evaluator(w.Tokenizer);
        return new Trainer(model, w.Tokenizer, ExampleEncoder.FromWorld(w, w.Tokenizer, o.QaLossAllTokens), o, dir,
            new TrainingEvaluator(evaluator, full, subset));
    }

    static readonly List<TempDir> Folders = [];

    static TrainingFixture() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        lock (Folders) foreach (var d in Folders) d.Dispose();
    };

    /// <summary>A fresh temp folder, removed when the test process exits.</summary>
    public static string TempDir()
    {
        var d = new TempDir();
        lock (Folders) Folders.Add(d);
        return d.Path;
    }
}
