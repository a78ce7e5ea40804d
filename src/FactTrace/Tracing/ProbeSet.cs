using FactTrace.IO;
using FactTrace.Text;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Tracing;

/// <summary>The encoded probe examples of both tasks (BIO: loss on every token; QA: loss on the answer span).</summary>
public sealed record ProbeSet(IReadOnlyList<EncodedExample> Bio, IReadOnlyList<EncodedExample> Qa)
{
    public IReadOnlyList<EncodedExample> Of(TraceTask task) => task == TraceTask.Bio ? Bio : Qa;

    /// <summary>
    /// Samples without replacement with the streams "trace-probe-bio" / "trace-probe-qa" of the seed and keeps the
    /// world's order among the chosen (the same seed and sizes give the same examples in the same order).
    /// </summary>
    public static ProbeSet Build(FactWorld world, ITokenizer tok, ProbeOptions o)
    {
        o.Validate();
        bool Wanted(int person, PeopleSplit split) =>
            split == PeopleSplit.All || world.People[person].IsInDistribution == (split == PeopleSplit.Id);
        var bios = world.Bios.Where(b => Wanted(b.PersonId, o.Bio)).ToList();
        var qas = (o.Qa == PeopleSplit.Id ? world.QaTrain : world.QaTestOod).ToList();
        var bio = Sample(bios, o.BioSize, new Rng(o.Seed, "trace-probe-bio")).Select(b => ExampleEncoder.Bio(tok, b)).ToList();
        var qa = Sample(qas, o.QaSize, new Rng(o.Seed, "trace-probe-qa")).Select(q => ExampleEncoder.Qa(tok, q, o.QaAllTokens)).ToList();
        if (bio.Count == 0) throw FactTraceException.Usage($"the world has no BIOs of {o.Bio.Name()} people to probe with");
        if (qa.Count == 0) throw FactTraceException.Usage($"the world has no questions of {o.Qa.Name()} people to probe with");
        return new ProbeSet(bio, qa);
    }

    static List<T> Sample<T>(List<T> items, int size, Rng rng)
    {
        if (size >= items.Count) return items;
        var order = rng.Permutation(items.Count).Take(size).Order().ToList();
        return order.Select(i => items[i]).ToList();
    }
}
