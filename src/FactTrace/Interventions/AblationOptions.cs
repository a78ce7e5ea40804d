using System.ComponentModel;
using FactTrace.IO;
using FactTrace.Models;

namespace FactTrace.Interventions;

/// <summary>
/// The ablation's options: of the `ablate` verb (flags = kebab-case of the fields), of a preset's <c>ablate</c> and of
/// manifest.json alike.
/// </summary>
public sealed record AblationOptions
{
    [Description("The rho of the shared set S ablated (picks the mask file of a trace folder).")]
    public double Rho { get; init; } = 0.01;
    [Description("reference (the common starting weights) | zero.")]
    public ResetTo ResetTo { get; init; } = ResetTo.Reference;
    /// <summary>Draws of each random control (random masks, subsampled task-only sets, random heads).</summary>
    [Description("Draws of each random control.")]
    public int Controls { get; init; } = 5;
    /// <summary>Heads in the head ablation; 0 = 10% of all heads, at least 1.</summary>
    [Description("Heads in the top-heads / random-heads conditions (0 = 10% of all heads).")]
    public int Heads { get; init; } = 4;
    [Description("Evaluate the first N people of each split after each reset (default: everyone).")]
    public int? EvalPeople { get; init; }
    [Description("Seed of the random controls.")]
    public long Seed { get; init; }

    public void Validate()
    {
        if (!(Rho > 0 && Rho <= 1)) throw new OptionException("rho", $"must be in (0, 1] (got {Rho})");
        if (Controls <= 0) throw new OptionException("controls", $"must be positive (got {Controls})");
        if (Heads < 0) throw new OptionException("heads", $"must be >= 0 (got {Heads})");
        if (EvalPeople is <= 0) throw new OptionException("eval_people", $"must be positive (got {EvalPeople})");
    }

    public int HeadsFor(ParameterMap map) =>
        Heads > 0 ? Math.Min(Heads, map.Layers * map.Heads) : Math.Max(1, (int)Math.Round(0.1 * map.Layers * map.Heads));
}
