using FactTrace.IO;

namespace FactTrace.Training;

/// <summary>
/// What a run trains on, in order: the stages of the strategy (two-stage: stage1 then stage2; mixed: one stage), and
/// the batches of every epoch. Each epoch's order is its own seeded stream, a pure function of (seed, stage, epoch),
/// which is what makes resuming mid-run exact.
/// </summary>
internal sealed class StagePlan
{
    /// <summary>One stage: its name (also its checkpoint folder), epochs, peak lr and the examples of an epoch.</summary>
    internal sealed record TrainingStage(string Name, int Epochs, double Lr, Func<int, List<EncodedExample>> EpochData);

    readonly TrainOptions options;

    public StagePlan(Trainer.Data data, TrainOptions options)
    {
        this.options = options;
        Stages = Plan(data, options);
    }

    public IReadOnlyList<TrainingStage> Stages { get; }
    public int Count => Stages.Count;
    public TrainingStage this[int index] => Stages[index];

    /// <summary>
    /// The batches of an epoch. With length bucketing, each window of <c>LengthBuckets</c> batches of the shuffled
    /// stream is sorted by length before it is cut into batches, and the batches are then shuffled: padding drops
    /// (short QA rows no longer pad to a BIO's length) while every example still appears once, in random company.
    /// </summary>
    public List<EncodedExample[]> Batches(int stageIndex, int epoch)
    {
        var examples = Stages[stageIndex].EpochData(epoch);
        var b = options.BatchSize;
        if (options.LengthBuckets <= 1) return examples.Chunk(b).ToList();
        var window = b * options.LengthBuckets;
        var batches = examples.Chunk(window)
            .SelectMany(w => w.Select((e, i) => (e, i)).OrderBy(x => x.e.Length).ThenBy(x => x.i).Select(x => x.e).Chunk(b))
            .ToList();
        new Rng(options.Seed, $"train-batches/{stageIndex}", epoch).Shuffle(batches);
        return batches;
    }

    /// <summary>Steps of every epoch of every stage: [stage][epoch].</summary>
    public int[][] StepsPerEpoch() =>
        Stages.Select((s, i) => Enumerable.Range(0, s.Epochs).Select(e => Batches(i, e).Count).ToArray()).ToArray();

    /// <summary>Epochs completed over all stages (the x axis of learning curves).</summary>
    public int GlobalEpoch(int stage, int epoch, bool final) =>
        final ? Stages.Sum(x => x.Epochs) : Stages.Take(stage).Sum(x => x.Epochs) + Math.Min(epoch + 1, Stages[stage].Epochs);

    static List<TrainingStage> Plan(Trainer.Data data, TrainOptions options)
    {
        var seed = options.Seed;
        List<EncodedExample> Shuffled(IEnumerable<EncodedExample> xs, int stage, int epoch)
        {
            var list = xs.ToList();
            new Rng(seed, $"train-order/{stage}", epoch).Shuffle(list);
            return list;
        }

        return options.Strategy switch
        {
            Strategy.BioOnly => [new TrainingStage("bio", options.BioEpochs, options.Lr, e => Shuffled(data.Bio, 0, e))],
            Strategy.TwoStage =>
            [
                new TrainingStage("stage1", options.BioEpochs, options.Lr, e => Shuffled(data.Bio, 0, e)),
                new TrainingStage("stage2", options.QaEpochs, options.QaLr ?? options.Lr, e =>
                {
                    var replay = (int)Math.Round(options.ReplayFraction * data.QaTrain.Count);
                    return Shuffled(data.QaTrain.Concat(Sample(data.Bio, replay, new Rng(seed, "train-replay", e))), 1, e);
                }),
            ],
            Strategy.Mixed => [new TrainingStage("mixed", options.BioEpochs, options.Lr, e =>
            {
                var qaCount = options.QaRatio is { } r
                    ? (int)Math.Round(r / (1 - r) * data.Bio.Count)
                    : data.QaTrain.Count;
                return Shuffled(data.Bio.Concat(Sample(data.QaTrain, qaCount, new Rng(seed, "train-mixed-qa", e))), 0, e);
            })],
            _ => throw new ArgumentOutOfRangeException(nameof(options)),
        };
    }

    /// <summary><paramref name="count"/> examples: whole shuffled passes over <paramref name="pool"/>, then a shuffled part.</summary>
    static IEnumerable<EncodedExample> Sample(IReadOnlyList<EncodedExample> pool, int count, Rng rng)
    {
        if (pool.Count == 0 || count <= 0) yield break;
        var order = pool.ToList();
        for (int taken = 0; taken < count;)
        {
            rng.Shuffle(order);
            foreach (var e in order.Take(count - taken)) { yield return e; taken++; }
        }
    }
}
