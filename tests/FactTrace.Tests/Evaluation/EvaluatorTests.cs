using FactTrace.Evaluation;
using FactTrace.Models;
using FactTrace.Text;
using FactTrace.World;

namespace FactTrace.Tests.Evaluation;

public class EvaluatorTests
{
    static (FactWorld World, EvalSet Set, ScriptedLM Model) Setup()
    {
        var w = FactWorld.Generate(new WorldOptions(People: 10, Seed: 5, BioVariants: 2, Permute: true));
        var tok = w.Tokenizer;
        var config = NamedConfigs.Get("micro-neox", tok.VocabSize);
        var model = new ScriptedLM(config) { Fallback = tok.EosId };
        return (w, EvalSetBuilder.Build(w, tok), model);
    }

    static int[] Prompt(ITokenizer tok, string text) => [tok.BosId!.Value, .. tok.Encode(text)];

    [Fact]
    public void ExactMatchOnAHandMadeModelOutput()
    {
        var (w, set, model) = Setup();
        var tok = w.Tokenizer;
        var ood = set.QaOod;
        // Probe 0: the right answer then "." -> correct. Probe 1: right answer then more words -> wrong.
        // Probe 2: a wrong answer -> wrong. Probe 3: the right answer then EOS -> correct. Others: EOS at once -> wrong.
        model.Say(Prompt(tok, ood[0].Prompt), [.. tok.Encode(" " + ood[0].Answer), Evaluator.SentenceEnd(tok)!.Value]);
        model.Say(Prompt(tok, ood[1].Prompt), [.. tok.Encode(" " + ood[1].Answer), .. tok.Encode(" and more")]);
        model.Say(Prompt(tok, ood[2].Prompt), [.. tok.Encode(" " + ood[3].Answer == ood[2].Answer ? " Nowhere" : " " + ood[3].Answer)]);
        model.Say(Prompt(tok, ood[3].Prompt), [.. tok.Encode(" " + ood[3].Answer), tok.EosId]);
        bool[] expected = [true, false, false, true, .. Enumerable.Repeat(false, ood.Count - 4)];

        foreach (var generate in new[] { true, false })
            Assert.Equal(expected, new Evaluator(tok, batchSize: 7, generate: generate).Answer(model, ood));
    }

    [Fact]
    public void OnePassVerdictEqualsGenerationOnRandomScripts()
    {
        var (w, set, model) = Setup();
        var tok = w.Tokenizer;
        var rng = new FactTrace.IO.Rng(11);
        var probes = set.QaId.Concat(set.QaOod).Concat(set.Extraction).ToList();
        foreach (var p in probes)
        {
            var answer = tok.Encode(" " + p.Answer).ToList();
            // Right, truncated, extended, or altered answers, with or without a stop.
            switch (rng.NextInt(5))
            {
                case 0: answer.Add(Evaluator.SentenceEnd(tok)!.Value); break;
                case 1: answer.RemoveAt(answer.Count - 1); answer.Add(tok.EosId); break;
                case 2: answer.Add(tok.Encode(" the")[0]); break;
                case 3: answer[0] = rng.NextInt(4, tok.VocabSize - 1); answer.Add(tok.EosId); break;
                default: break; // the answer, then whatever the fallback says (EOS)
            }
            model.Say(Prompt(tok, p.Prompt), answer);
        }
        var byGeneration = new Evaluator(tok, generate: true).Answer(model, probes);
        var onePass = new Evaluator(tok, generate: false).Answer(model, probes);
        Assert.Equal(byGeneration, onePass);
        Assert.Contains(true, onePass);
        Assert.Contains(false, onePass);
    }

    [Fact]
    public void MemorizationChecksEveryValueTokenInsideTheBio()
    {
        var (w, set, model) = Setup();
        var tok = w.Tokenizer;
        // The model recites person 0's first BIO exactly and nothing else.
        var bio = set.Bio.First(b => b.Person == 0);
        model.Say([bio.Ids[0]], bio.Ids[1..]);
        var (all, first) = new Evaluator(tok).Memorization(model, set.Bio);
        Assert.Equal(6 * set.Bio.Count, all.Count);
        Assert.Equal(6, all.Count(x => x.Item2));
        Assert.True(first.Count(x => x.Item2) >= 6);
    }

    [Fact]
    public void PerAttributeCountsAddUpAndChanceIsTheMajorityShare()
    {
        var (w, set, model) = Setup();
        var r = new Evaluator(w.Tokenizer).Run(model, set);
        Assert.Equal(Attributes.All, r.PerAttribute.Keys);
        Assert.Equal(r.Overall.QaIdCount, r.PerAttribute.Values.Sum(s => s.QaIdCount));
        Assert.Equal(r.Overall.QaOodCount, r.PerAttribute.Values.Sum(s => s.QaOodCount));
        Assert.Equal(r.Overall.BioCount, r.PerAttribute.Values.Sum(s => s.BioCount));
        Assert.Equal(r.Overall.ExtractionCount, r.PerAttribute.Values.Sum(s => s.ExtractionCount));
        Assert.Equal(w.QaTestOod.Count, r.Overall.QaOodCount);
        Assert.Equal(6 * w.People.Count, r.Overall.ExtractionCount);
        var ood = w.People.Where(p => !p.IsInDistribution).ToList();
        var expected = (double)ood.GroupBy(p => p.Major).Max(g => g.Count()) / ood.Count;
        Assert.Equal(expected, r.PerAttribute["major"].Chance);
    }

    [Fact]
    public void ExtractionPromptIsTheFirstTemplateCutBeforeTheValue()
    {
        var w = FactWorld.Generate(new WorldOptions(People: 2));
        var p = w.People[0];
        Assert.Equal($"{p.FullName} was born in", EvalSetBuilder.ExtractionPrompt(p, "birth_city"));
    }
}
