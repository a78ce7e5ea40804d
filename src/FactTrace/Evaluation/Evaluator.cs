using FactTrace.Models;
using FactTrace.Text;
using static TorchSharp.torch;

namespace FactTrace.Evaluation;

/// <summary>
/// Measures fact recall: QA exact match of greedy answers (ID and OOD people), BIO memorization teacher-forced
/// inside the person's own BIO, and BIO extraction (greedy) from an isolated prompt; overall and per attribute.
/// <para>
/// Greedy exact match is computed in one forward pass per probe when the tokenizer splits text in only one way (the
/// world's word-level tokenizer): greedy decoding yields the answer iff, fed prompt + answer, the argmax at every
/// answer position is the answer's next token and the argmax after the answer is a stop token. That is the same
/// verdict as generating token by token (a test checks it), at a fraction of the cost. Other tokenizers, where
/// another token sequence could spell the same answer, generate.
/// </para>
/// </summary>
public sealed class Evaluator(ITokenizer tokenizer, int batchSize = 256, bool? generate = null)
{
    /// <summary>Decode token by token instead of the one-pass check (always right; slower).</summary>
    readonly bool generate = generate ?? tokenizer is not WordLevelTokenizer;

    readonly HashSet<int> stopIds = StopIds(tokenizer);

    /// <summary>EOS and the sentence end: an answer is the text generated before either.</summary>
    static HashSet<int> StopIds(ITokenizer tok)
    {
        var ids = new HashSet<int> { tok.EosId };
        if (SentenceEnd(tok) is { } period) ids.Add(period);
        return ids;
    }

    /// <summary>The id of "." as it follows a word (alone, a word-level tokenizer would prefix a space marker).</summary>
    public static int? SentenceEnd(ITokenizer tok)
    {
        var spans = tok.EncodeWithOffsets("x.");
        return spans.Count > 0 && spans[^1].Start == 1 && spans[^1].End == 2 ? spans[^1].Id : null;
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

    /// <summary>Whether each probe's greedy answer equals its expected answer.</summary>
    public bool[] Answer(CausalLM model, IReadOnlyList<Probe> probes) =>
        generate ? AnswerByGeneration(model, probes) : AnswerInOnePass(model, probes);

    /// <summary>Greedy answers, compared to the expected answers after trimming spaces.</summary>
    public bool[] AnswerByGeneration(CausalLM model, IReadOnlyList<Probe> probes)
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

    /// <summary>Teacher-forced check of the greedy path: prompt + answer in, argmax = answer then a stop token.</summary>
    public bool[] AnswerInOnePass(CausalLM model, IReadOnlyList<Probe> probes)
    {
        var correct = new bool[probes.Count];
        for (int start = 0; start < probes.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = probes.Skip(start).Take(batchSize).ToList();
            var rows = chunk.Select(p => (Prompt: Prompt(p.Prompt), Answer: tokenizer.Encode(" " + p.Answer).ToArray())).ToList();
            var (ids, mask, t) = Pad(rows.Select(r => (int[])[.. r.Prompt, .. r.Answer]).ToList());
            var predicted = model.forward(ids, mask).argmax(-1).data<long>().ToArray(); // [B*T]
            for (int r = 0; r < chunk.Count; r++)
            {
                var (prompt, answer) = rows[r];
                bool ok = answer.Length > 0;
                for (int i = 0; i < answer.Length && ok; i++) ok = predicted[r * t + prompt.Length - 1 + i] == answer[i];
                correct[start + r] = ok && stopIds.Contains((int)predicted[r * t + prompt.Length - 1 + answer.Length]);
            }
        }
        return correct;
    }

    /// <summary>Right-padded ids and mask [B, T] of token rows.</summary>
    (Tensor Ids, Tensor Mask, int T) Pad(IReadOnlyList<int[]> rows)
    {
        int t = rows.Max(r => r.Length);
        var ids = new long[rows.Count * t];
        var mask = new long[rows.Count * t];
        for (int r = 0; r < rows.Count; r++)
            for (int i = 0; i < t; i++)
            {
                var real = i < rows[r].Length;
                ids[r * t + i] = real ? rows[r][i] : tokenizer.PadId;
                mask[r * t + i] = real ? 1 : 0;
            }
        return (tensor(ids, rows.Count, t), tensor(mask, rows.Count, t), t);
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
            var (ids, mask, t) = Pad(chunk.Select(b => b.Ids).ToList());
            var predicted = model.forward(ids, mask).argmax(-1).data<long>().ToArray(); // [B*T]
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
