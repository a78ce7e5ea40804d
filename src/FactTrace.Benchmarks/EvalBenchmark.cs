using System.Diagnostics;
using FactTrace.Evaluation;
using FactTrace.Models;

namespace FactTrace.Benchmarks;

/// <summary>Evaluation speed: the <see cref="Evaluator"/> over a world's full evaluation set.</summary>
public static class EvalBenchmark
{
    public sealed record EvalBenchResult
    {
        /// <summary>QA-ID + QA-OOD + BIO-extraction probes (one answer each).</summary>
        public required int Questions { get; init; }
        public required double QuestionsPerSecond { get; init; }
        /// <summary>Teacher-forced BIO memorization probes (one BIO each).</summary>
        public required int Bios { get; init; }
        public required double BiosPerSecond { get; init; }
        public required double Seconds { get; init; }
        public double CpuSeconds { get; init; }
        public required long PeakRssBytes { get; init; }
    }

    public static EvalBenchResult Run(CausalLM model, Evaluator evaluator, EvalSet set)
    {
        Rss.ResetPeak();
        evaluator.Answer(model, set.QaId.Take(256).ToList()); // warm-up
        using var noGrad = TorchSharp.torch.no_grad();
        model.eval();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var w = Stopwatch.StartNew();
        evaluator.Answer(model, set.QaId);
        evaluator.Answer(model, set.QaOod);
        evaluator.Answer(model, set.Extraction);
        var qa = w.Elapsed.TotalSeconds;
        w.Restart();
        evaluator.Memorization(model, set.Bio);
        var bio = w.Elapsed.TotalSeconds;
        model.train();
        int questions = set.QaId.Count + set.QaOod.Count + set.Extraction.Count;
        return new EvalBenchResult
        {
            Questions = questions, QuestionsPerSecond = questions / qa, Bios = set.Bio.Count, BiosPerSecond = set.Bio.Count / bio,
            Seconds = qa + bio, PeakRssBytes = Rss.Peak, CpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds,
        };
    }
}
