using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Diagnostics;
using FactTrace.Models;
using FactTrace.Study;
using FactTrace.Tracing;
using FactTrace.Training;
using FactTrace.World;

namespace FactTrace.Benchmarks;

/// <summary>What `facttrace bench train-trace` runs; the verb's flags are its fields.</summary>
public sealed record TrainTraceBenchOptions
{
    [Description("A suite shape or named config, trained from scratch on the default world.")]
    public string Model { get; init; } = "tiny-neox";
    [Description("mixed (BIO and QA in a batch: two task parts per step) or two-stage (stage 1: one part per step).")]
    [AllowedValues("mixed", "two-stage")]
    public Strategy Strategy { get; init; } = Strategy.Mixed;
    [Description("The score traced during training.")]
    public ScoreKind Score { get; init; } = ScoreKind.LrGrad;
    [Description("micro-batch = the trainer's own pass of each task part (no extra pass); example = one extra pass per example.")]
    public Granularity Granularity { get; init; } = Granularity.MicroBatch;
    [Description("Measured training steps; the observer runs on one of each pair of steps (a seeded coin picks which), so the two kinds interleave.")]
    public int Steps { get; init; } = 200;
    [Description("Unmeasured first steps.")]
    public int Warmup { get; init; } = 10;
    [Description("The trainer's precision: fp32 | bf16 | auto (the observer's passes are fp32 either way).")]
    [AllowedValues("fp32", "bf16", "auto")]
    public Precision Precision { get; init; } = Precision.Fp32;

    public void Validate()
    {
        Checks.Positive("steps", Steps);
        if (Warmup < 0) throw new IO.OptionException("warmup", $"must be >= 0 (got {Warmup})");
    }
}

/// <summary>
/// The cost of tracing during training: the real <see cref="Trainer"/> (the default preset's options, no evaluation)
/// on the default world with the real <see cref="TrainingTrace"/> as its observer, called on one step of each pair. The time of a step is the interval between the trainer's progress reports (the whole step: collate, forward,
/// backward, clip, AdamW, its GC every 16 steps, and the observer when it ran), so traced and plain steps come from
/// one run, interleaved step by step, on the same kind of batches: a loaded machine slows both alike.
/// </summary>
public static class TrainTraceBenchmark
{
    /// <summary>Target of the issue "The paper's own gradient trace": a traced step at most 1.3 times a plain one.</summary>
    public const double Target = 1.3;

    public sealed record TrainTraceResult : IBenchResult
    {
        public required string Model { get; init; }
        public required string Strategy { get; init; }
        public required string Score { get; init; }
        public required string Granularity { get; init; }
        public required string Precision { get; init; }
        public required int BatchSize { get; init; }
        public required int PlainSteps { get; init; }
        public required int TracedSteps { get; init; }
        public required double PlainMsMedian { get; init; }
        public required double TracedMsMedian { get; init; }
        public required double PlainMsMean { get; init; }
        public required double TracedMsMean { get; init; }
        /// <summary>Process CPU ms per step (all threads), mean.</summary>
        public required double PlainCpuMs { get; init; }
        public required double TracedCpuMs { get; init; }
        /// <summary>The observer's own time, mean ms per traced step (measured around its call).</summary>
        public required double ObserverMs { get; init; }
        /// <summary>Traced over plain: median wall, mean wall and mean CPU time per step.</summary>
        public double Ratio => TracedMsMedian / PlainMsMedian;
        public double RatioMean => TracedMsMean / PlainMsMean;
        public double RatioCpu => TracedCpuMs / PlainCpuMs;
        public required MachineInfo Machine { get; init; }
        public required double Seconds { get; init; }

        public Printout Print()
        {
            var p = new Printout();
            var t = p.Table($"Training step with and without the {Score} observer ({Granularity}), {Model}, {Strategy}, batch {BatchSize}, {Precision}",
                "", "steps", "ms median", "ms mean", "CPU ms mean");
            t.Row("plain", $"{PlainSteps}", $"{PlainMsMedian:F1}", $"{PlainMsMean:F1}", $"{PlainCpuMs:F1}");
            t.Row("traced", $"{TracedSteps}", $"{TracedMsMedian:F1}", $"{TracedMsMean:F1}", $"{TracedCpuMs:F1}");
            t.Row("ratio", "", $"{Ratio:F2}x", $"{RatioMean:F2}x", $"{RatioCpu:F2}x");
            return p.Line($"observer {ObserverMs:F1} ms per traced step; target <= {Target:F1}x: {(Ratio <= Target ? "met" : "missed")} (median); " +
                          $"{Machine.Cpu}, {Machine.Cores} cores, torch threads {Machine.TorchThreads}, load {Machine.LoadAverageStart:F2} -> " +
                          $"{Machine.LoadAverageEnd:F2}; {Seconds:F0} s");
        }
    }

    /// <summary>
    /// Runs the observer on one step of each pair (2k, 2k+1), which one by a seeded coin (so exactly half the steps are
    /// traced, and the trainer's GC every 16 steps falls on either kind), timing its calls.
    /// </summary>
    sealed class CoinObserver(ITrainingObserver inner) : ITrainingObserver
    {
        readonly IO.Rng coin = new(17);
        bool firstOfPair;
        public HashSet<long> Traced { get; } = [];
        public double Seconds { get; private set; }

        bool now;

        public void BeforeStep(CausalLM model, ObservedBatch batch)
        {
            if (batch.Step % 2 == 0) firstOfPair = coin.NextInt(2) == 0;
            now = (batch.Step % 2 == 0) == firstOfPair;
            if (!now) return;
            Traced.Add(batch.Step);
            var w = Stopwatch.StartNew();
            inner.BeforeStep(model, batch);
            Seconds += w.Elapsed.TotalSeconds;
        }

        public void AfterPartBackward(CausalLM model, ObservedPart part)
        {
            if (!now) return;
            var w = Stopwatch.StartNew();
            inner.AfterPartBackward(model, part);
            Seconds += w.Elapsed.TotalSeconds;
        }
    }

    /// <summary>Wall and process CPU seconds of each step: the interval up to its progress report (reports are synchronous).</summary>
    sealed class StepClock : IProgress<TrainProgress>
    {
        readonly Stopwatch wall = Stopwatch.StartNew();
        double lastWall, lastCpu = Cpu();
        public Dictionary<long, (double Wall, double Cpu)> Steps { get; } = new();

        static double Cpu() => Environment.CpuUsage.TotalTime.TotalSeconds;

        public void Report(TrainProgress p)
        {
            double w = wall.Elapsed.TotalSeconds, c = Cpu();
            Steps[p.Step - 1] = (w - lastWall, c - lastCpu);
            (lastWall, lastCpu) = (w, c);
        }
    }

    public static TrainTraceResult Run(TrainTraceBenchOptions o, Action<string>? log = null)
    {
        o.Validate();
        var clock = Stopwatch.StartNew();
        var machine = MachineInfo.Current();
        var preset = Presets.Tiny;
        log?.Invoke($"world: generating the default world ({preset.World.People:N0} people)");
        var world = FactWorld.Generate(preset.World);
        var tok = world.Tokenizer;
        var data = ExampleEncoder.FromWorld(world, tok);
        var recipe = o.Strategy == Strategy.TwoStage ? preset.TwoStage : preset.Mixed;
        var total = o.Warmup + o.Steps;
        var perEpoch = (data.Bio.Count + (o.Strategy == Strategy.TwoStage ? 0 : data.QaTrain.Count)) / (double)recipe.BatchSize;
        var options = recipe with
        {
            BioEpochs = (int)Math.Ceiling(total / perEpoch) + 1, StopAfterStep = total, EvalEvery = 0, Precision = o.Precision,
            CheckpointEvery = Math.Max(recipe.CheckpointEvery, total + 1),
        };
        var config = BenchModels.Resolve(o.Model, tok.VocabSize).Config with { BosTokenId = tok.BosId, EosTokenId = tok.EosId, PadTokenId = tok.PadId };
        using var model = ModelFactory.Create(config, 0);
        using var trace = new TrainingTrace(model, o.Score, o.Granularity, tok.PadId);
        var observer = new CoinObserver(trace);
        var steps = new StepClock();
        var dir = Path.Combine(Path.GetTempPath(), $"facttrace-train-trace-{Environment.ProcessId}-{Guid.NewGuid():N}");
        log?.Invoke($"training {total} steps ({o.Warmup} unmeasured), the observer on one of each pair");
        try
        {
            new Trainer(model, tok, data, options, dir, progress: steps, observer: observer).Run(resume: false);
        }
        catch (TrainingStopped) { }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
        var measured = steps.Steps.Where(kv => kv.Key >= o.Warmup).ToList();
        var traced = measured.Where(kv => observer.Traced.Contains(kv.Key)).Select(kv => kv.Value).ToList();
        var plain = measured.Where(kv => !observer.Traced.Contains(kv.Key)).Select(kv => kv.Value).ToList();
        if (traced.Count == 0 || plain.Count == 0) throw new IO.FactTraceException($"{o.Steps} steps gave no traced or no plain step to compare");
        return new TrainTraceResult
        {
            Model = o.Model, Strategy = o.Strategy.Name(), Score = o.Score.Name(), Granularity = o.Granularity.Name(),
            Precision = options.Precision.ToString().ToLowerInvariant(), BatchSize = options.BatchSize,
            PlainSteps = plain.Count, TracedSteps = traced.Count,
            PlainMsMedian = Timing.Median(plain.Select(x => x.Wall).ToList()) * 1000, TracedMsMedian = Timing.Median(traced.Select(x => x.Wall).ToList()) * 1000,
            PlainMsMean = plain.Average(x => x.Wall) * 1000, TracedMsMean = traced.Average(x => x.Wall) * 1000,
            PlainCpuMs = plain.Average(x => x.Cpu) * 1000, TracedCpuMs = traced.Average(x => x.Cpu) * 1000,
            ObserverMs = observer.Seconds / observer.Traced.Count * 1000,
            Machine = machine with { LoadAverageEnd = MachineInfo.LoadAverage() }, Seconds = clock.Elapsed.TotalSeconds,
        };
    }
}
