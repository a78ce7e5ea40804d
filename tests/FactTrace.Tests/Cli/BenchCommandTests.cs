using System.CommandLine;
using System.Text.Json;
using FactTrace.Benchmarks;
using FactTrace.Cli;
using FactTrace.Cli.Commands;
using FactTrace.IO;
using FactTrace.Training;

namespace FactTrace.Tests.Cli;

/// <summary>The bench verbs take their flags from the benchmarks' option records (no benchmark is timed here).</summary>
[Collection("torch-threads")]
public class BenchCommandTests
{
    static (int Code, string Error) Run(params string[] args) => InProcessCli.Run(args);

    public static TheoryData<string, object> Records() => new()
    {
        { "step", new StepPartsOptions() }, { "trace", new TraceBenchOptions() }, { "suite", new SuiteOptions() },
        { "leak", new LeakOptions() }, { "calibration", new CalibrationOptions() }, { "train-trace", new TrainTraceBenchOptions() },
    };

    [Theory]
    [MemberData(nameof(Records))]
    public void EveryFieldOfTheRecordIsAFlag(string verb, object defaults)
    {
        var bench = BenchCommand.Create();
        var flags = bench.Subcommands.Single(c => c.Name == verb).Options.Select(o => o.Name).ToHashSet();
        var fields = typeof(OptionSchema).GetMethod(nameof(OptionSchema.Fields))!.MakeGenericMethod(defaults.GetType())
            .Invoke(null, [defaults]) as IReadOnlyList<OptionField>;
        Assert.NotEmpty(fields!);
        foreach (var f in fields!)
        {
            Assert.Contains(Flags.Of(f.Path), flags);
            Assert.False(string.IsNullOrEmpty(f.Description), f.Path);
        }
    }

    [Fact]
    public void SuiteFlagsBindListsEnumsNestedFieldsAndSwitchesThatDefaultToOn()
    {
        var options = new RecordOptions<SuiteOptions>(new SuiteOptions());
        var cmd = new Command("suite");
        options.AddTo(cmd);
        var o = options.Bind(cmd.Parse(["--models", "tiny-neox, pythia-14m", "--bf16-modes", "bf16,bf16-shadow", "--bf16", "false",
            "--trace", "false", "--timing-min-steps", "7", "--timing-min-seconds", "0.5", "--peer"]));
        Assert.Equal(["tiny-neox", "pythia-14m"], o.Models);
        Assert.Equal([StepMode.Bf16, StepMode.Bf16Shadow], o.Bf16Modes);
        Assert.False(o.Bf16);
        Assert.Empty(o.TraceModelsOrDefault());
        Assert.Equal(new Timing(Warmup: 2, MinSteps: 7, MinSeconds: 0.5), o.Timing);
        Assert.True(o.Peer);
        Assert.True(o.InstallPeer && o.Eval && o.PublishedVocab);
        Assert.Equal(new SuiteOptions().TraceModelsOrDefault(), options.Bind(cmd.Parse([])).TraceModelsOrDefault());
    }

    [Fact]
    public void PrecisionsBindAsTrainReadsThem()
    {
        static T Bind<T>(T defaults, params string[] args) where T : class
        {
            var options = new RecordOptions<T>(defaults);
            var cmd = new Command("verb");
            options.AddTo(cmd);
            return options.Bind(cmd.Parse(args));
        }
        var c = Bind(new CalibrationOptions(), "--precision", "bf16", "--qa-lr", "0.001", "--seed", "3");
        Assert.Equal((Precision.Bf16, 0.001, 3L), (c.Precision, c.QaLr, c.Seed));
        Assert.Null(Bind(new CalibrationOptions()).Precision);
        var l = Bind(new LeakOptions(), "--precision", "auto", "--eval", "false", "--steps", "100");
        Assert.Equal((Precisions.Fastest, false, 100L, 500), (l.Precision, l.Eval, l.Steps, l.Every));
        Assert.Equal(StepMode.Bf16Shadow, Bind(new StepPartsOptions(), "--mode", "bf16-shadow").Mode);
    }

    [Theory]
    [InlineData("--batch-size: must be a positive integer (got 0)", "bench", "step", "--batch-size", "0")]
    [InlineData("--timing-min-steps: must be a positive integer (got 0)", "bench", "suite", "--timing-min-steps", "0")]
    [InlineData("--models: 'nope' is not a suite shape", "bench", "suite", "--models", "nope")]
    [InlineData("--trace-gc-generation: must be 0, 1 or 2 (got 3)", "bench", "suite", "--trace-gc-generation", "3")]
    [InlineData("--every: must be at most --steps (10)", "bench", "leak", "--steps", "10", "--every", "20")]
    [InlineData("--examples: must be a positive integer (got 0)", "bench", "trace", "--examples", "0")]
    [InlineData("--mode", "bench", "step", "--mode", "bf17")]
    [InlineData("--steps: must be a positive integer (got 0)", "bench", "train-trace", "--steps", "0")]
    public void BadValuesAreUsageErrorsNamingTheFlag(string message, params string[] args)
    {
        var (code, err) = Run([.. args, "--threads", "1"]);
        Assert.Equal(2, code);
        Assert.Contains(message, err);
    }

    [Fact]
    public void TrainTraceTimesTracedAndPlainStepsOfOneRun()
    {
        var json = Path.Combine(Path.GetTempPath(), $"facttrace-bench-train-trace-{Guid.NewGuid():N}.json");
        try
        {
            var (code, err) = Run("bench", "train-trace", "--model", "micro-neox", "--steps", "8", "--warmup", "1", "--threads", "1", "--json", json);
            Assert.True(code == 0, err);
            var r = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
            Assert.Equal("lr-grad", r.GetProperty("score").GetString());
            Assert.Equal(8, r.GetProperty("plain_steps").GetInt32() + r.GetProperty("traced_steps").GetInt32());
            Assert.True(r.GetProperty("ratio").GetDouble() > 0);
        }
        finally { File.Delete(json); }
    }

    [Fact]
    public void StepRunsInTheModeGivenAndWritesItsJson()
    {
        var json = Path.Combine(Path.GetTempPath(), $"facttrace-bench-step-{Guid.NewGuid():N}.json");
        try
        {
            var (code, err) = Run("bench", "step", "--model", "micro-neox", "--vocab", "50", "--batch-size", "2", "--seq", "8", "--steps", "1",
                "--mode", "bf16", "--full-only", "--threads", "1", "--json", json);
            Assert.True(code == 0, err);
            var r = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
            Assert.Equal("bf16", r.GetProperty("mode").GetString());
            Assert.Equal(2, r.GetProperty("rows").GetInt32());
            Assert.Equal(["full step (collate, clip, AdamW)"], r.GetProperty("parts").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        }
        finally { File.Delete(json); }
    }
}
