using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.World;

/// <summary>
/// What a world is made from (recorded in world.json as "options").
/// <para><see cref="BioVariants"/>: independently templated BIOs per person. <see cref="Permute"/>: shuffle the sentence
/// order of each BIO. <see cref="FullName"/>: the full name in every sentence instead of a pronoun after the first.</para>
/// </summary>
public sealed record WorldOptions(
    int People = 1000,
    long Seed = 0,
    double IdFraction = 0.5,
    int BioVariants = 1,
    bool Permute = false,
    bool FullName = false)
{
    /// <summary>How many people are in-distribution: round(People * IdFraction), half away from zero.</summary>
    [JsonIgnore] public int IdPeople => (int)Math.Round(People * IdFraction, MidpointRounding.AwayFromZero);

    /// <summary>Throws a usage error naming the option for any value a world cannot be made from.</summary>
    public WorldOptions Validate(Pools pools)
    {
        if (People <= 0) throw FactTraceException.Usage($"--people must be a positive integer (got {People})");
        if (People > pools.MaxPeople)
            throw FactTraceException.Usage(
                $"--people {People} is more than the name pools can make unique: at most {pools.MaxPeople:N0} " +
                $"({pools.FirstNames.Count} first x {pools.MiddleNames.Count} middle x {pools.LastNames.Count} last names)");
        if (BioVariants <= 0) throw FactTraceException.Usage($"--bio-variants must be a positive integer (got {BioVariants})");
        if ((long)People * BioVariants > int.MaxValue)
            throw FactTraceException.Usage($"--people x --bio-variants = {(long)People * BioVariants:N0} BIOs is more than a world can hold");
        if (!(IdFraction > 0 && IdFraction < 1))
            throw FactTraceException.Usage($"--id-fraction must be strictly between 0 and 1 (got {IdFraction})");
        if (IdPeople < 1 || IdPeople > People - 1)
            throw FactTraceException.Usage(
                $"--id-fraction {IdFraction} of {People} people leaves {IdPeople} in-distribution and {People - IdPeople} out-of-distribution; both need at least one");
        return this;
    }
}
