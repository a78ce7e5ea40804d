using FactTrace.Models;
using FactTrace.Text;
using FactTrace.World;

namespace FactTrace.Training;

/// <summary>
/// Where a run's initial model comes from: a named or config.json shape initialised fresh from the seed on the world's
/// vocabulary, or a pretrained Hugging Face folder with its own tokenizer.
/// </summary>
public sealed record ModelSource(CausalLM Model, ITokenizer Tokenizer, bool Fresh, string Spec)
{
    public static ModelSource Open(string spec, FactWorld world, long seed)
    {
        if (ModelFolder.IsModelFolder(spec))
        {
            var (model, tok) = ModelFolder.Open(spec).Load(world.Tokenizer);
            return new ModelSource(model, tok, Fresh: false, spec);
        }
        var tokenizer = world.Tokenizer;
        var config = NamedConfigs.Resolve(spec, tokenizer.VocabSize) with
        {
            VocabSize = tokenizer.VocabSize,
            BosTokenId = tokenizer.BosId,
            EosTokenId = tokenizer.EosId,
            PadTokenId = tokenizer.PadId,
        };
        return new ModelSource(ModelFactory.Create(config.Validate(spec), seed), tokenizer, Fresh: true, spec);
    }
}
