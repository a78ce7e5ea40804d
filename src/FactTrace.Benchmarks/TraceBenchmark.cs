using System.Diagnostics;
using FactTrace.Models;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Benchmarks;

/// <summary>
/// The cost of a gradient trace: per example, a batch-1 forward and backward whose |gradient| is summed into fp32
/// accumulators (GC.Collect every 16 examples), against the same examples' plain forward + backward.
/// The loop here stands in for the tracer (src/FactTrace/Tracing) until the bench is pointed at it.
/// </summary>
public static class TraceBenchmark
{
    public sealed record Result
    {
        public required string Name { get; init; }
        public required int Examples { get; init; }
        public required double MeanTokens { get; init; }
        /// <summary>Mean ms of one batch-1 forward + backward (gradients cleared, nothing else).</summary>
        public required double FwdBwdMs { get; init; }
        /// <summary>Mean ms per example of the trace loop.</summary>
        public required double TraceMs { get; init; }
        public required double ExamplesPerSecond { get; init; }
        /// <summary>TraceMs / FwdBwdMs: the target is at most 1.2.</summary>
        public required double CostRatio { get; init; }
        /// <summary>The same ratio in process CPU time (steadier on a shared machine).</summary>
        public double CostRatioCpu { get; init; }
        public double ExamplesPerCpuSecond { get; init; }
        /// <summary>The flat-buffer loop (<see cref="AccumulateFlat"/>): ms per example and cost ratios.</summary>
        public double FlatTraceMs { get; init; }
        public double FlatCostRatio { get; init; }
        public double FlatCostRatioCpu { get; init; }
        public required long PeakRssBytes { get; init; }
    }

    /// <summary>
    /// The generation the loop's periodic GC.Collect collects (2 = a full collection, as the tracer does). Measured on
    /// tiny-neox, 512 examples, 1 thread: full 1.14x one forward+backward, gen 0 1.08x, never 1.01-1.03x, with the
    /// same peak RSS over 512 examples for full and gen 0.
    /// </summary>
    public static int GcGeneration { get; set; } = 2;

    static void Collect() => GC.Collect(GcGeneration);

    /// <summary>Sum of |grad| over the examples: what a trace accumulates, one fp32 tensor per parameter.</summary>
    public static void Accumulate(CausalLM model, IReadOnlyList<Tensor> accumulators, IReadOnlyList<EncodedExample> examples, int padId = 0, int gcEvery = 16)
    {
        var parameters = model.parameters().ToList();
        for (int i = 0; i < examples.Count; i++)
        {
            using (var scope = NewDisposeScope())
            {
                using var batch = Batch.Collate([examples[i]], padId);
                Loss.NextToken(model, batch).backward();
                using (no_grad())
                    for (int j = 0; j < parameters.Count; j++)
                        if (parameters[j].grad is { } g) accumulators[j].add_(g.abs());
                foreach (var p in parameters) p.grad = null;
            }
            if (gcEvery > 0 && i % gcEvery == gcEvery - 1) Collect();
        }
    }

    /// <summary>
    /// The same sums with every gradient a view of one flat buffer: autograd adds each example's gradient into the
    /// views in place (a parameter that already has a gradient accumulates into it), so the sum of |grad| is three
    /// ops per example (abs_, add_, zero_) instead of three per parameter, and no gradient tensor is allocated.
    /// The accumulator is one flat fp32 tensor in <c>model.parameters()</c> order; the sums are bit-identical.
    /// </summary>
    public static void AccumulateFlat(CausalLM model, Tensor accumulator, IReadOnlyList<EncodedExample> examples, int padId = 0, int gcEvery = 16)
    {
        var parameters = model.parameters().ToList();
        using var flat = zeros(parameters.Sum(p => p.numel()), dtype: ScalarType.Float32);
        long offset = 0;
        foreach (var p in parameters)
        {
            using var view = flat.narrow(0, offset, p.numel()).view(p.shape);
            p.grad = view;
            offset += p.numel();
        }
        try
        {
            for (int i = 0; i < examples.Count; i++)
            {
                using (var scope = NewDisposeScope())
                {
                    using var batch = Batch.Collate([examples[i]], padId);
                    Loss.NextToken(model, batch).backward();
                    using (no_grad()) accumulator.add_(flat.abs_());
                    flat.zero_();
                }
                if (gcEvery > 0 && i % gcEvery == gcEvery - 1) Collect();
            }
        }
        finally
        {
            foreach (var p in parameters) p.grad = null;
        }
    }

    /// <summary>Forward + backward of each example, gradients dropped: the floor a trace is measured against.</summary>
    public static void ForwardBackward(CausalLM model, IReadOnlyList<EncodedExample> examples, int padId = 0)
    {
        var parameters = model.parameters().ToList();
        foreach (var e in examples)
        {
            using var scope = NewDisposeScope();
            using var batch = Batch.Collate([e], padId);
            Loss.NextToken(model, batch).backward();
            foreach (var p in parameters) p.grad = null;
        }
    }

    /// <summary>Both loops over <paramref name="examples"/>, <paramref name="rounds"/> times interleaved; medians.</summary>
    public static Result Run(string name, CausalLM model, IReadOnlyList<EncodedExample> examples, int rounds = 3, int gcEvery = 16)
    {
        Rss.ResetPeak();
        model.train();
        var accumulators = model.parameters().Select(p => zeros_like(p, dtype: ScalarType.Float32).DetachFromDisposeScope()).ToList();
        var flatAccumulator = zeros(model.parameters().Sum(p => p.numel()), dtype: ScalarType.Float32).DetachFromDisposeScope();
        accumulators.Add(flatAccumulator);
        try
        {
            ForwardBackward(model, examples.Take(4).ToList());
            Accumulate(model, accumulators, examples.Take(4).ToList());
            AccumulateFlat(model, flatAccumulator, examples.Take(4).ToList());
            var flatWall = new List<double>();
            var flatCpu = new List<double>();
            var plain = new List<double>();
            var traced = new List<double>();
            var plainCpu = new List<double>();
            var tracedCpu = new List<double>();
            static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            for (int r = 0; r < rounds; r++)
            {
                GC.Collect();
                var c = Cpu();
                var w = Stopwatch.StartNew();
                ForwardBackward(model, examples);
                plain.Add(w.Elapsed.TotalSeconds);
                plainCpu.Add(Cpu() - c);
                GC.Collect();
                c = Cpu();
                w.Restart();
                Accumulate(model, accumulators, examples, gcEvery: gcEvery);
                traced.Add(w.Elapsed.TotalSeconds);
                tracedCpu.Add(Cpu() - c);
                GC.Collect();
                c = Cpu();
                w.Restart();
                AccumulateFlat(model, flatAccumulator, examples, gcEvery: gcEvery);
                flatWall.Add(w.Elapsed.TotalSeconds);
                flatCpu.Add(Cpu() - c);
            }
            double p = Timing.Median(plain), t = Timing.Median(traced);
            int n = examples.Count;
            return new Result
            {
                Name = name, Examples = n, MeanTokens = examples.Average(e => e.Length), FwdBwdMs = p / n * 1000,
                TraceMs = t / n * 1000, ExamplesPerSecond = n / t, CostRatio = t / p, PeakRssBytes = Rss.Peak,
                CostRatioCpu = Timing.Median(tracedCpu) / Timing.Median(plainCpu), ExamplesPerCpuSecond = n / Timing.Median(tracedCpu),
                FlatTraceMs = Timing.Median(flatWall) / n * 1000, FlatCostRatio = Timing.Median(flatWall) / p,
                FlatCostRatioCpu = Timing.Median(flatCpu) / Timing.Median(plainCpu),
            };
        }
        finally
        {
            foreach (var a in accumulators) a.Dispose();
        }
    }
}
