using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.Tracing;

/// <summary>
/// What is summed per scalar parameter over the units (examples or micro-batches) of a probe set, with g = dL_T/dtheta
/// of one unit: <c>grad</c> = |g|, <c>grad-x-weight</c> = |theta * g|, <c>fisher</c> = g^2 (empirical Fisher diagonal).
/// <c>lr-grad</c> is the paper's own trace and exists only during training: Delta_T = sum over the steps of lr(step) *
/// g, g the gradient of the summed loss of the step's task-T examples (the training loss summed over their loss tokens
/// instead of averaged over the batch's); a signed sum, ranked by |Delta_T| (<see cref="TraceNames.IsSigned"/>).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScoreKind>))]
public enum ScoreKind
{
    [JsonStringEnumMemberName("grad")] Grad,
    [JsonStringEnumMemberName("grad-x-weight")] GradXWeight,
    [JsonStringEnumMemberName("fisher")] Fisher,
    [JsonStringEnumMemberName("lr-grad")] LrGrad,
}

/// <summary>One backward pass per example (default), or per micro-batch (the loss is the mean over its loss tokens).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Granularity>))]
public enum Granularity { [JsonStringEnumMemberName("example")] Example, [JsonStringEnumMemberName("micro-batch")] MicroBatch }

/// <summary>Fact storing (BIO, loss on every token) and fact recall (QA, loss on the answer tokens).</summary>
public enum TraceTask { Bio, Qa }

/// <summary>Top-k over all considered parameters at once, or within each parameter tensor (k_p = round(rho * n_p)).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TopKScope>))]
public enum TopKScope { [JsonStringEnumMemberName("global")] Global, [JsonStringEnumMemberName("per-matrix")] PerMatrix }

/// <summary>Whose BIOs / questions make up a probe set.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PeopleSplit>))]
public enum PeopleSplit { [JsonStringEnumMemberName("all")] All, [JsonStringEnumMemberName("id")] Id, [JsonStringEnumMemberName("ood")] Ood }

/// <summary>The names used on the command line and in every output file.</summary>
public static class TraceNames
{
    public static string Name(this ScoreKind k) => k switch
    {
        ScoreKind.Grad => "grad", ScoreKind.GradXWeight => "grad-x-weight", ScoreKind.Fisher => "fisher", ScoreKind.LrGrad => "lr-grad",
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    /// <summary>
    /// Scores that may be negative (lr-grad, a signed sum): top-k ranks their magnitude |score|. The other kinds are
    /// non-negative and ranked as they are.
    /// </summary>
    public static bool IsSigned(this ScoreKind k) => k == ScoreKind.LrGrad;

    /// <summary>Kinds that need each step's learning rate, so exist only during training (lr-grad).</summary>
    public static bool DuringTrainingOnly(this ScoreKind k) => k == ScoreKind.LrGrad;

    public static string Name(this Granularity g) => g == Granularity.Example ? "example" : "micro-batch";
    public static string Name(this TraceTask t) => t == TraceTask.Bio ? "bio" : "qa";
    public static string Name(this TopKScope s) => s == TopKScope.Global ? "global" : "per-matrix";
    public static string Name(this PeopleSplit s) => s switch { PeopleSplit.All => "all", PeopleSplit.Id => "id", _ => "ood" };

    public static ScoreKind ParseScore(string s) => s switch
    {
        "grad" => ScoreKind.Grad, "grad-x-weight" => ScoreKind.GradXWeight, "fisher" => ScoreKind.Fisher, "lr-grad" => ScoreKind.LrGrad,
        _ => throw new OptionException("score", $"'{s}': expected grad, grad-x-weight, fisher or lr-grad"),
    };

    public static Granularity ParseGranularity(string s) => s switch
    {
        "example" => Granularity.Example, "micro-batch" => Granularity.MicroBatch,
        _ => throw new OptionException("granularity", $"'{s}': expected example or micro-batch"),
    };

    public static TopKScope ParseScope(string s) => s switch
    {
        "global" => TopKScope.Global, "per-matrix" => TopKScope.PerMatrix,
        _ => throw new OptionException("scope", $"'{s}': expected global or per-matrix"),
    };

    public static PeopleSplit ParseSplit(string s) => s switch
    {
        "all" => PeopleSplit.All, "id" => PeopleSplit.Id, "ood" => PeopleSplit.Ood,
        _ => throw new OptionException("probe", $"'{s}': expected all, id or ood"),
    };

    /// <summary>rho as it appears in file names: 0.01 -> "0.01", 0.001 -> "0.001" (invariant, no exponent).</summary>
    public static string RhoTag(double rho) => rho.ToString("0.##########", System.Globalization.CultureInfo.InvariantCulture);
}
