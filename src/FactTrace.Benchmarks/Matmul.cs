using System.Diagnostics;
using System.Text.Json.Serialization;
using static TorchSharp.torch;

namespace FactTrace.Benchmarks;

/// <summary>The machine's matrix-multiply limit as libtorch reaches it: torch.mm of two n x n matrices.</summary>
public static class Matmul
{
    /// <param name="GFlopsCpu">FLOPs per second of process CPU time (all threads): the steadier number on a shared machine.</param>
    public sealed record MatmulResult(int N, string DType, int Threads, [property: JsonPropertyName("gflops")] double GFlops,
        [property: JsonPropertyName("gflops_median")] double GFlopsMedian, int Reps, [property: JsonPropertyName("gflops_cpu")] double GFlopsCpu);

    /// <summary>Best and median GFLOP/s over repetitions lasting at least <paramref name="minSeconds"/>.</summary>
    public static MatmulResult Peak(int n = 2048, ScalarType dtype = ScalarType.Float32, double minSeconds = 1.5)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator(1);
        var a = randn([n, n], generator: gen).to(dtype);
        var b = randn([n, n], generator: gen).to(dtype);
        for (int i = 0; i < 2; i++) mm(a, b).Dispose();
        var times = new List<double>();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var total = Stopwatch.StartNew();
        while (times.Count < 50 && (times.Count < 3 || total.Elapsed.TotalSeconds < minSeconds))
        {
            var w = Stopwatch.StartNew();
            mm(a, b).Dispose();
            times.Add(w.Elapsed.TotalSeconds);
        }
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds / times.Count;
        double flops = 2.0 * n * n * n;
        times.Sort();
        return new MatmulResult(n, dtype == ScalarType.BFloat16 ? "bf16" : "fp32", get_num_threads(), flops / times[0] / 1e9,
            flops / times[times.Count / 2] / 1e9, times.Count, flops / cpu / 1e9);
    }
}
