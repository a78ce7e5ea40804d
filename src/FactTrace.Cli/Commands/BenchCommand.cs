using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.IO;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>
/// `facttrace bench`: speed measurements (never part of the test suite). A verb's flags are the fields of its option
/// record in FactTrace.Benchmarks (<see cref="RecordOptions{T}"/>), with --threads and --json; the benchmark validates
/// them and decides what is printed (<see cref="Printout"/>), which this renders.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var suite = Verb("suite", "Training step (fp32, bf16) for five model sizes, FLOP/s vs this machine's matmul peak, gradient trace, evaluation, " +
            "peak RSS; --peer compares with PyTorch. Parts on by default are turned off with a value: --bf16 false, --published-vocab false, " +
            "--trace false, --eval false.", new SuiteOptions(), o => Suite.Run(o, Log));
        suite.Aliases.Add("all");
        return new Command("bench", "Benchmarks: training-step throughput, gradient trace, evaluation, memory, and a PyTorch peer.")
        {
            Verb("step", "Tokens/s of forward, forward+backward and a full training step (the trainer's) on random tokens, in --mode fp32, bf16 " +
                "or bf16-shadow; --checksum N hashes the weights after N steps instead.", new StepPartsOptions(), StepParts.Run),
            Verb("trace", "The gradient-trace benchmark alone: GradientTrace.Run against a plain batch-1 forward+backward on the default world's " +
                "BIOs (cost ratio; no peer).", new TraceBenchOptions(), o => Suite.TraceOnly(o, Log)),
            suite,
            Verb("train-trace", "The cost of tracing during training (train --trace-score): the real trainer on the default world with " +
                "the training-trace observer on one step of each pair; traced over plain step time (target <= 1.3x).",
                new TrainTraceBenchOptions(), o => TrainTraceBenchmark.Run(o, Log)),
            Verb("leak", "RSS every --every steps over a --steps run of the default experiment (tiny-neox, mixed); drift from step 1,000 to " +
                "the end. --eval false skips the periodic evaluations.", new LeakOptions(), o => LeakBenchmark.Run(o, s => Console.Error.WriteLine(s.Line()))),
            Verb("calibration", "Train both strategies of a preset and print the calibration table (QA-ID, QA-OOD, BIO memorization, time).",
                new CalibrationOptions(), o =>
                {
                    using var interrupt = Common.InterruptOnSignals();
                    return Calibration.Run(o, (strategy, work) => Common.WithTrainProgress(strategy, progress => work(progress)), interrupt.Token);
                }),
            Verb("targets", "Time inspect of a 1B config (< 1 s), the parameter map of a 3B config (< 500 ms) and a 100,000-person world " +
                "(< 30 s); pass/fail per target, exit code 1 when one is missed.", _ => Targets.Run(InspectJson, Log)),
        };
    }

    /// <summary>A verb with the flags of <typeparamref name="T"/>'s fields and --threads.</summary>
    static Command Verb<T, R>(string name, string description, T defaults, Func<T, R> run) where T : class where R : IBenchResult
    {
        var options = new RecordOptions<T>(defaults);
        var threads = Common.Threads();
        return Verb(name, description, r =>
        {
            Common.SetThreads(r.GetValue(threads));
            return run(options.Bind(r));
        }, cmd => { options.AddTo(cmd); cmd.Options.Add(threads); });
    }

    /// <summary>Runs, renders the printout, writes the result to --json; exit code 1 when it did not pass.</summary>
    static Command Verb<R>(string name, string description, Func<ParseResult, R> run, Action<Command>? options = null) where R : IBenchResult
    {
        var json = new Option<string?>("--json") { Description = "Also write every number to this JSON file." };
        var cmd = new Command(name, description);
        options?.Invoke(cmd);
        cmd.Options.Add(json);
        cmd.SetAction(r =>
        {
            var result = run(r);
            Print(result.Print());
            if (r.GetValue(json) is { } path)
            {
                AtomicFile.WriteAllText(path, Json.Serialize(result) + "\n");
                Console.WriteLine($"wrote {path}");
            }
            return result.Passed ? Cli.Ok : Cli.RuntimeError;
        });
        return cmd;
    }

    /// <summary>Renders a benchmark's <see cref="Printout"/>: tables as Spectre tables, lines as they are.</summary>
    static void Print(Printout p)
    {
        if (p.RedirectedWidth is { } width && Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, width);
        foreach (var block in p.Blocks)
        {
            if (block is not PrintTable t)
            {
                Console.WriteLine(block);
                continue;
            }
            var table = new Table();
            if (t.Title is not null) table.Title = new TableTitle(Markup.Escape(t.Title));
            table.AddColumns([.. t.Columns.Select(Markup.Escape)]);
            foreach (var row in t.Rows) table.AddRow([.. row.Select(Markup.Escape)]);
            AnsiConsole.Write(table);
        }
    }

    /// <summary>Progress lines of a long benchmark, on stderr with the time of day.</summary>
    static void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");

    /// <summary>`facttrace inspect PATH --json` as the command line runs it; its standard output.</summary>
    static string InspectJson(string path)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var root = new RootCommand("facttrace");
        root.Subcommands.Add(InspectCommand.Create(stdout));
        if (Cli.Run(root, ["inspect", path, "--json"], stderr) != Cli.Ok) throw new FactTraceException($"inspect failed: {stderr.ToString().Trim()}");
        return stdout.ToString();
    }
}
