using System.Text.Json.Serialization;
using FactTrace.IO;

namespace FactTrace.Tracing;

/// <summary>
/// What is summed per scalar parameter over the units (examples or micro-batches) of a probe set, with g = dL_T/dtheta
/// of one unit: <c>grad</c> = |g|, <c>grad-x-weight</c> = |theta * g|, <c>fisher</c> = g^2 (empirical Fisher diagonal).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScoreKind>))]
public enum ScoreKind
{
    [JsonStringEnumMemberName("grad")] Grad,
    [JsonStringEnumMemberName("grad-x-weight")] GradXWeight,
    [JsonStringEnumMemberName("fisher")] Fisher,
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
        ScoreKind.Grad => "grad", ScoreKind.GradXWeight => "grad-x-weight", ScoreKind.Fisher => "fisher",
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    public static string Name(this Granularity g) => g == Granularity.Example ? "example" : "micro-batch";
    public static string Name(this TraceTask t) => t == TraceTask.Bio ? "bio" : "qa";
    public static string Name(this TopKScope s) => s == TopKScope.Global ? "global" : "per-matrix";
    public static string Name(this PeopleSplit s) => s switch { PeopleSplit.All => "all", PeopleSplit.Id => "id", _ => "ood" };

    public static ScoreKind ParseScore(string s) => s switch
    {
        "grad" => ScoreKind.Grad, "grad-x-weight" => ScoreKind.GradXWeight, "fisher" => ScoreKind.Fisher,
        _ => throw new OptionException("score", $"'{s}': expected grad, grad-x-weight or fisher"),
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
