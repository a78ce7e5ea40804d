using System.Diagnostics;
using FactTrace.Models;
using FactTrace.Tracing;
using FactTrace.Training;
using static TorchSharp.torch;

namespace FactTrace.Benchmarks;

/// <summary>
/// The cost of a gradient trace: the real post-hoc tracer, <see cref="GradientTrace.Run"/> (the call `facttrace trace`
/// makes per task: score grad, one example per backward pass, its own GC every <see cref="GradientTrace.CollectEvery"/>
/// examples and heap trims), against the same examples' plain batch-1 forward + backward. Beside it, an experimental
/// flat-buffer loop (<see cref="AccumulateFlat"/>) that the tracer does not use, to see what it would save.
/// </summary>
public static class TraceBenchmark
{
    public sealed record TraceBenchResult
    {
        public required string Name { get; init; }
        public required int Examples { get; init; }
        public required double MeanTokens { get; init; }
        /// <summary>Mean ms of one batch-1 forward + backward (gradients cleared, nothing else).</summary>
        public required double FwdBwdMs { get; init; }
        /// <summary>Mean ms per example of <see cref="GradientTrace.Run"/> (score grad, example granularity).</summary>
        public required double TraceMs { get; init; }
        public required double ExamplesPerSecond { get; init; }
        /// <summary>TraceMs / FwdBwdMs: the target is at most 1.2.</summary>
        public required double CostRatio { get; init; }
        /// <summary>The same ratio in process CPU time (steadier on a shared machine).</summary>
        public double CostRatioCpu { get; init; }
        public double ExamplesPerCpuSecond { get; init; }
        /// <summary>The experimental flat-buffer loop (<see cref="AccumulateFlat"/>, not the tracer): ms per example and cost ratios.</summary>
        public double FlatTraceMs { get; init; }
        public double FlatCostRatio { get; init; }
        public double FlatCostRatioCpu { get; init; }
        public required long PeakRssBytes { get; init; }
    }

    /// <summary>
    /// The sums of |grad| over the examples with every gradient a view of one flat buffer: autograd adds each
    /// example's gradient into the views in place (a parameter that already has a gradient accumulates into it), so
    /// the sum of |grad| is three ops per example (abs_, add_, zero_) instead of three per parameter, and no gradient
    /// tensor is allocated. The accumulator is one flat fp32 tensor in <c>model.parameters()</c> order; the sums are
    /// bit-identical to <see cref="GradientTrace.Run"/>'s. GC every <paramref name="gcEvery"/> examples (0 = never),
    /// of generation <paramref name="gcGeneration"/> (2 = full, as the tracer). Measured with the earlier stand-in
    /// loop on tiny-neox, 512 examples, 1 thread: full 1.14x one forward+backward, gen 0 1.08x, never 1.01-1.03x.
    /// </summary>
    public static void AccumulateFlat(CausalLM model, Tensor accumulator, IReadOnlyList<EncodedExample> examples, int padId = 0,
        int gcEvery = GradientTrace.CollectEvery, int gcGeneration = 2)
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
                if (gcEvery > 0 && i % gcEvery == gcEvery - 1) GC.Collect(gcGeneration);
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

    /// <summary>
    /// The plain forward + backward, the tracer and the flat-buffer loop over <paramref name="examples"/>,
    /// <paramref name="rounds"/> times interleaved; medians. The tracer runs in eval mode and the plain passes in train
    /// mode, which compute the same here (the models have no dropout). <paramref name="gcEvery"/> and
    /// <paramref name="gcGeneration"/> set the flat-buffer loop's collections; the tracer keeps its own.
    /// </summary>
    public static TraceBenchResult Run(string name, CausalLM model, IReadOnlyList<EncodedExample> examples, int rounds = 3,
        int gcEvery = GradientTrace.CollectEvery, int gcGeneration = 2, int padId = 0)
    {
        Rss.ResetPeak();
        model.train();
        using var flatAccumulator = zeros(model.parameters().Sum(p => p.numel()), dtype: ScalarType.Float32).DetachFromDisposeScope();
        void Trace(IReadOnlyList<EncodedExample> xs) => GradientTrace.Run(model, xs, ScoreKind.Grad, Granularity.Example, padId).Dispose();
        var warmup = examples.Take(4).ToList();
        ForwardBackward(model, warmup, padId);
        Trace(warmup);
        AccumulateFlat(model, flatAccumulator, warmup, padId, gcEvery, gcGeneration);
        var plain = new List<double>();
        var plainCpu = new List<double>();
        var traced = new List<double>();
        var tracedCpu = new List<double>();
        var flatWall = new List<double>();
        var flatCpu = new List<double>();
        static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        void Time(Action a, List<double> wall, List<double> cpu)
        {
            GC.Collect();
            var c = Cpu();
            var w = Stopwatch.StartNew();
            a();
            wall.Add(w.Elapsed.TotalSeconds);
            cpu.Add(Cpu() - c);
        }
        for (int r = 0; r < rounds; r++)
        {
            Time(() => ForwardBackward(model, examples, padId), plain, plainCpu);
            Time(() => Trace(examples), traced, tracedCpu);
            Time(() => AccumulateFlat(model, flatAccumulator, examples, padId, gcEvery, gcGeneration), flatWall, flatCpu);
        }
        double p = Timing.Median(plain), t = Timing.Median(traced);
        int n = examples.Count;
        return new TraceBenchResult
        {
            Name = name, Examples = n, MeanTokens = examples.Average(e => e.Length), FwdBwdMs = p / n * 1000,
            TraceMs = t / n * 1000, ExamplesPerSecond = n / t, CostRatio = t / p, PeakRssBytes = Rss.Peak,
            CostRatioCpu = Timing.Median(tracedCpu) / Timing.Median(plainCpu), ExamplesPerCpuSecond = n / Timing.Median(tracedCpu),
            FlatTraceMs = Timing.Median(flatWall) / n * 1000, FlatCostRatio = Timing.Median(flatWall) / p,
            FlatCostRatioCpu = Timing.Median(flatCpu) / Timing.Median(plainCpu),
        };
    }
}
