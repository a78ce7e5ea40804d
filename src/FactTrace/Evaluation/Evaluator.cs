using FactTrace.Models;
using FactTrace.Text;
using static TorchSharp.torch;

namespace FactTrace.Evaluation;

/// <summary>
/// Measures fact recall: QA exact match by greedy generation (ID and OOD people), BIO memorization teacher-forced
/// inside the person's own BIO, and BIO extraction from an isolated prompt; overall and per attribute.
/// </summary>
public sealed class Evaluator(ITokenizer tokenizer, int batchSize = 256)
{
    readonly HashSet<int> stopIds = StopIds(tokenizer);

    /// <summary>EOS and the sentence end: an answer is the text generated before either.</summary>
    static HashSet<int> StopIds(ITokenizer tok)
    {
        var ids = new HashSet<int> { tok.EosId };
        var period = tok.Encode(".");
        if (period.Count == 1) ids.Add(period[0]);
        return ids;
    }

    public EvalResult Run(CausalLM model, EvalSet set)
    {
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var qaId = Answer(model, set.QaId);
            var qaOod = Answer(model, set.QaOod);
            var extraction = Answer(model, set.Extraction);
            var (bioAll, bioFirst) = Memorization(model, set.Bio);

            RecallScores Scores(Func<string, bool> attr, double? chance) => new()
            {
                QaId = Mean(qaId, set.QaId, attr, out var nId),
                QaOod = Mean(qaOod, set.QaOod, attr, out var nOod),
                BioMemorization = Mean(bioAll, attr, out var nBio),
                BioMemorizationFirstToken = Mean(bioFirst, attr, out _),
                BioExtraction = Mean(extraction, set.Extraction, attr, out var nEx),
                Chance = chance,
                QaIdCount = nId, QaOodCount = nOod, BioCount = nBio, ExtractionCount = nEx,
            };
            return new EvalResult
            {
                Overall = Scores(_ => true, set.Chance.Count > 0 ? set.Chance.Values.Average() : null),
                PerAttribute = set.Attributes.ToDictionary(a => a, a => Scores(x => x == a, set.Chance.GetValueOrDefault(a))),
                PeoplePerSplit = set.PeoplePerSplit,
            };
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    static double Mean(bool[] correct, IReadOnlyList<Probe> probes, Func<string, bool> attr, out int n)
    {
        int hit = 0; n = 0;
        for (int i = 0; i < probes.Count; i++)
            if (attr(probes[i].Attribute)) { n++; if (correct[i]) hit++; }
        return n == 0 ? 0 : (double)hit / n;
    }

    static double Mean(List<(string Attribute, bool Ok)> xs, Func<string, bool> attr, out int n)
    {
        var sel = xs.Where(x => attr(x.Attribute)).ToList();
        n = sel.Count;
        return n == 0 ? 0 : (double)sel.Count(x => x.Ok) / n;
    }

    /// <summary>Greedy answers, compared to the expected answers after trimming spaces.</summary>
    public bool[] Answer(CausalLM model, IReadOnlyList<Probe> probes)
    {
        var correct = new bool[probes.Count];
        if (probes.Count == 0) return correct;
        var prompts = probes.Select(p => Prompt(p.Prompt)).ToList();
        var maxNew = probes.Max(p => tokenizer.Encode(" " + p.Answer).Count) + 2;
        for (int start = 0; start < probes.Count; start += batchSize)
        {
            var chunk = prompts.Skip(start).Take(batchSize).ToList();
            var outputs = Generation.Greedy(model, chunk, maxNew, stopIds, tokenizer.PadId);
            for (int i = 0; i < chunk.Count; i++)
                correct[start + i] = Matches(tokenizer.Decode(outputs[i]), probes[start + i].Answer);
        }
        return correct;
    }

    public static bool Matches(string generated, string answer) =>
        string.Equals(generated.Trim().TrimEnd('.').Trim(), answer.Trim(), StringComparison.Ordinal);

    int[] Prompt(string text)
    {
        var ids = tokenizer.Encode(text);
        return tokenizer.BosId is { } bos ? [bos, .. ids] : [.. ids];
    }

    /// <summary>Teacher-forced: is every token of each value (and its first token) the argmax at its position?</summary>
    public (List<(string, bool)> All, List<(string, bool)> First) Memorization(CausalLM model, IReadOnlyList<BioProbe> bios)
    {
        var all = new List<(string, bool)>();
        var first = new List<(string, bool)>();
        for (int start = 0; start < bios.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = bios.Skip(start).Take(batchSize).ToList();
            int t = chunk.Max(b => b.Ids.Length);
            var ids = new long[chunk.Count * t];
            var mask = new long[chunk.Count * t];
            for (int r = 0; r < chunk.Count; r++)
                for (int i = 0; i < chunk[r].Ids.Length; i++) { ids[r * t + i] = chunk[r].Ids[i]; mask[r * t + i] = 1; }
            for (int r = 0; r < chunk.Count; r++)
                for (int i = chunk[r].Ids.Length; i < t; i++) ids[r * t + i] = tokenizer.PadId;
            var logits = model.forward(tensor(ids, chunk.Count, t), tensor(mask, chunk.Count, t)); // [B, T, V]
            var predicted = logits.argmax(-1).data<long>().ToArray();                              // [B*T]
            for (int r = 0; r < chunk.Count; r++)
                foreach (var v in chunk[r].Values)
                {
                    // The token at position p is predicted at position p - 1.
                    bool ok = true;
                    for (int p = v.Start; p < v.End && ok; p++) ok = predicted[r * t + p - 1] == chunk[r].Ids[p];
                    all.Add((v.Attribute, ok));
                    first.Add((v.Attribute, v.Start > 0 && predicted[r * t + v.Start - 1] == chunk[r].Ids[v.Start]));
                }
        }
        return (all, first);
    }
}
