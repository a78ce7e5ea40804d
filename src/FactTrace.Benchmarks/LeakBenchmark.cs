using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using FactTrace.Evaluation;
using FactTrace.Models;
using FactTrace.Study;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Benchmarks;

/// <summary>What `facttrace bench leak` runs; the verb's flags are its fields (<c>--eval false</c> skips the evaluations).</summary>
public sealed record LeakOptions
{
    [Description("Training steps.")]
    public long Steps { get; init; } = 10000;
    [Description("Sample RSS every this many steps.")]
    public int Every { get; init; } = 500;
    [Description("The trainer's precision: fp32 | bf16 | auto (bf16 where the CPU has native bf16).")]
    [AllowedValues("fp32", "bf16", "auto")]
    public Precision Precision { get; init; } = Precision.Fp32;
    [Description("Run the periodic evaluations, as a real run does (default true; false: skip them).")]
    public bool Eval { get; init; } = true;

    public void Validate()
    {
        Checks.Positive("steps", Steps);
        Checks.Positive("every", Every);
        if (Every > Steps) throw new IO.OptionException("every", $"must be at most `steps` ({Steps}) for one sample (got {Every})");
    }
}

/// <summary>
/// Memory over a long run: the real <see cref="Trainer"/> (mixed strategy of the default preset: periodic evaluations,
/// checkpoints every 500 steps) on the default world, RSS sampled every <c>every</c> steps. A leak shows as growth
/// between an early sample (step 1,000) and the last.
/// </summary>
public static class LeakBenchmark
{
    /// <summary>
    /// RSS as the process stands (<paramref name="RssBytes"/>: it includes freed heap memory kept for reuse, so it
    /// depends on where the sample falls relative to the last evaluation and its heap trim) and after a full GC and a
    /// heap trim (<paramref name="LiveRssBytes"/>: what is still allocated, the number a leak makes grow).
    /// </summary>
    public sealed record Sample(long Step, long RssBytes, long ManagedBytes, double Seconds, long LiveRssBytes = 0)
    {
        /// <summary>The progress line printed as the sample is taken.</summary>
        public string Line() =>
            $"step {Step}: RSS {RssBytes / 1048576.0:F1} MB, live {LiveRssBytes / 1048576.0:F1} MB, managed {ManagedBytes / 1048576.0:F1} MB, {Seconds:F0} s";
    }

    public sealed record LeakResult : IBenchResult
    {
        public required long Steps { get; init; }
        public required IReadOnlyList<Sample> Samples { get; init; }
        /// <summary>The sample the drift is measured from (step 1,000, or the first sample of a shorter run).</summary>
        public required long FromStep { get; init; }
        public required long FromRssBytes { get; init; }
        public required long ToRssBytes { get; init; }
        /// <summary>(RSS at the last step - RSS at <see cref="FromStep"/>) / RSS at <see cref="FromStep"/>, in %. Target: within 5.</summary>
        public required double DriftPercent { get; init; }
        public required long FromLiveRssBytes { get; init; }
        public required long ToLiveRssBytes { get; init; }
        /// <summary>Drift of the live RSS (after GC and heap trim) from step 1,000 to the end: the leak measure.</summary>
        public required double LiveDriftPercent { get; init; }
        public required long PeakRssBytes { get; init; }
        public required double Seconds { get; init; }
        public required string Precision { get; init; }
        public int Threads { get; init; }
        /// <summary>1-minute load average before and after the run.</summary>
        public double LoadAverageStart { get; init; }
        public double LoadAverageEnd { get; init; }

        public Printout Print()
        {
            var p = new Printout();
            var t = p.Table(null, "step", "RSS MB", "live RSS MB (after GC + heap trim)", "managed MB", "seconds");
            foreach (var s in Samples) t.Row($"{s.Step}", $"{s.RssBytes / 1048576.0:F1}", $"{s.LiveRssBytes / 1048576.0:F1}", $"{s.ManagedBytes / 1048576.0:F1}", $"{s.Seconds:F0}");
            return p.Line($"RSS at step {FromStep}: {FromRssBytes / 1048576.0:F1} MB; at step {Samples[^1].Step}: {ToRssBytes / 1048576.0:F1} MB; " +
                          $"drift {DriftPercent:+0.0;-0.0}%; live RSS {FromLiveRssBytes / 1048576.0:F1} -> {ToLiveRssBytes / 1048576.0:F1} MB, " +
                          $"drift {LiveDriftPercent:+0.0;-0.0}% (target within 5%); peak {PeakRssBytes / 1048576.0:F0} MB; {Precision}; " +
                          $"{Seconds:F0} s; threads {Threads}; load {LoadAverageStart:F2} -> {LoadAverageEnd:F2}");
        }
    }

    /// <summary>The run; <paramref name="progress"/> gets each sample as it is taken.</summary>
    public static LeakResult Run(LeakOptions o, Action<Sample>? progress = null)
    {
        o.Validate();
        var (steps, every, precision) = (o.Steps, o.Every, o.Precision);
        var load = MachineInfo.LoadAverage();
        var preset = Presets.Tiny;
        var world = FactWorld.Generate(preset.World);
        var tok = world.Tokenizer;
        var data = ExampleEncoder.FromWorld(world, tok);
        var perEpoch = (data.Bio.Count + data.QaTrain.Count) / (double)preset.Mixed.BatchSize;
        var options = preset.Mixed with
        {
            BioEpochs = (int)Math.Ceiling(steps / perEpoch) + 1, StopAfterStep = steps, Precision = precision,
            EvalEvery = o.Eval ? preset.Mixed.EvalEvery : 0,
        };
        var config = NamedConfigs.Get(preset.Model!, tok.VocabSize) with { BosTokenId = tok.BosId, EosTokenId = tok.EosId, PadTokenId = tok.PadId };
        using var model = ModelFactory.Create(config, 0);
        var full = EvalSetBuilder.Build(world, tok);
        var subset = EvalSetBuilder.Subset(full, world, options.EvalPeople);
        var evaluator = new Evaluator(tok);
        var dir = Path.Combine(Path.GetTempPath(), $"facttrace-leak-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var samples = new List<Sample>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Rss.ResetPeak();
        var sampler = new IO.SyncProgress<TrainProgress>(p =>
        {
            if (p.Step % every != 0 || samples.Any(s => s.Step == p.Step)) return;
            var rss = Rss.Current;
            IO.NativeAllocator.Trim();
            var s = new Sample(p.Step, rss, GC.GetTotalMemory(false), clock.Elapsed.TotalSeconds, Rss.Current);
            samples.Add(s);
            progress?.Invoke(s);
        });
        try
        {
            new Trainer(model, tok, data, options, dir, new TrainingEvaluator(evaluator, full, subset), sampler).Run(resume: false);
        }
        catch (TrainingStopped) { }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
        var from = samples.FirstOrDefault(s => s.Step >= 1000) ?? samples.FirstOrDefault()
                   ?? throw new IO.FactTraceException($"no RSS sample in {steps} steps");
        var to = samples[^1];
        return new LeakResult
        {
            Steps = steps, Samples = samples, FromStep = from.Step, FromRssBytes = from.RssBytes, ToRssBytes = to.RssBytes,
            DriftPercent = 100.0 * (to.RssBytes - from.RssBytes) / from.RssBytes, PeakRssBytes = Rss.Peak,
            FromLiveRssBytes = from.LiveRssBytes, ToLiveRssBytes = to.LiveRssBytes,
            LiveDriftPercent = 100.0 * (to.LiveRssBytes - from.LiveRssBytes) / from.LiveRssBytes,
            Seconds = clock.Elapsed.TotalSeconds, Precision = precision == Precision.Bf16 ? "bf16" : "fp32",
            Threads = TorchSharp.torch.get_num_threads(), LoadAverageStart = load, LoadAverageEnd = MachineInfo.LoadAverage(),
        };
    }

}
