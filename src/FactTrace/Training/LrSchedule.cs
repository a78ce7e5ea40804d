namespace FactTrace.Training;

/// <summary>Linear warmup from 0 to the peak, then cosine decay to <c>peak * MinRatio</c> at the last step.</summary>
public sealed record LrSchedule(double Peak, long TotalSteps, long WarmupSteps, double MinRatio)
{
    public static LrSchedule Create(double peak, long totalSteps, double warmupFraction, double minRatio) =>
        new(peak, Math.Max(1, totalSteps), (long)Math.Round(warmupFraction * totalSteps), minRatio);

    /// <summary>Learning rate for 0-based step <paramref name="step"/> of this stage.</summary>
    public double At(long step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        var decaySteps = Math.Max(1, TotalSteps - WarmupSteps - 1);
        var progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        var min = Peak * MinRatio;
        return min + (Peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
