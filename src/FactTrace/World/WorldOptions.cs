using System.ComponentModel;
using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.World;

/// <summary>
/// What a world is made from (recorded in world.json as "options"; the `world` verb's flags are the kebab-case of the
/// fields: <c>bio_variants</c> = <c>--bio-variants</c>).
/// <para><see cref="BioVariants"/>: independently templated BIOs per person. <see cref="Permute"/>: shuffle the sentence
/// order of each BIO. <see cref="FullName"/>: the full name in every sentence instead of a pronoun after the first.</para>
/// </summary>
public sealed record WorldOptions(
    [property: Description("People in the world.")] int People = 1000,
    [property: Description("Seed of everything random in the world.")] long Seed = 0,
    [property: Description("Share of people whose questions are trained on (in-distribution), strictly between 0 and 1.")] double IdFraction = 0.5,
    [property: Description("Independently templated BIOs per person.")] int BioVariants = 1,
    [property: Description("Shuffle each BIO's sentence order.")] bool Permute = false,
    [property: Description("The full name in every sentence instead of a pronoun after the first.")] bool FullName = false)
{
    /// <summary>How many people are in-distribution: round(People * IdFraction), half away from zero.</summary>
    [JsonIgnore] public int IdPeople => (int)Math.Round(People * IdFraction, MidpointRounding.AwayFromZero);

    /// <summary>Throws an <see cref="OptionException"/> naming the field for any value a world cannot be made from.</summary>
    public WorldOptions Validate(Pools pools)
    {
        if (People <= 0) throw new OptionException("people", $"must be a positive integer (got {People})");
        if (People > pools.MaxPeople)
            throw new OptionException("people",
                $"{People} is more than the name pools can make unique: at most {pools.MaxPeople:N0} " +
                $"({pools.FirstNames.Count} first x {pools.MiddleNames.Count} middle x {pools.LastNames.Count} last names)");
        if (BioVariants <= 0) throw new OptionException("bio_variants", $"must be a positive integer (got {BioVariants})");
        if ((long)People * BioVariants > int.MaxValue)
            throw new OptionException("bio_variants", $"`people` x `bio_variants` = {(long)People * BioVariants:N0} BIOs is more than a world can hold");
        if (!(IdFraction > 0 && IdFraction < 1))
            throw new OptionException("id_fraction", $"must be strictly between 0 and 1 (got {IdFraction})");
        if (IdPeople < 1 || IdPeople > People - 1)
            throw new OptionException("id_fraction",
                $"{IdFraction} of {People} people leaves {IdPeople} in-distribution and {People - IdPeople} out-of-distribution; both need at least one");
        return this;
    }
}
