using FactTrace.IO;

namespace FactTrace.Benchmarks;

/// <summary>The checks of the bench option records' Validate methods (errors name the JSON field).</summary>
static class Checks
{
    public static void Positive(string field, long value)
    {
        if (value <= 0) throw new OptionException(field, $"must be a positive integer (got {value})");
    }
}
