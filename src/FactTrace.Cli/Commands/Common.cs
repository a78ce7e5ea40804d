using System.CommandLine;
using System.Diagnostics;
using FactTrace.Training;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>Options and progress display shared by the verbs.</summary>
public static class Common
{
    public static Option<int> Threads() => new("--threads")
    {
        Description = "CPU threads for tensor work (1 = bit-exact reproducible runs).",
        DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount),
    };

    public static void SetThreads(int n)
    {
        if (n <= 0) throw IO.FactTraceException.Usage($"--threads must be positive (got {n})");
        TorchSharp.torch.set_num_threads(n);
    }

    /// <summary>A token cancelled by Ctrl-C (SIGINT) or SIGTERM, which then no longer kill the process at once.</summary>
    public sealed class Interrupt : IDisposable
    {
        readonly CancellationTokenSource cts = new();
        readonly List<System.Runtime.InteropServices.PosixSignalRegistration> registrations = new();

        public Interrupt()
        {
            foreach (var signal in new[] { System.Runtime.InteropServices.PosixSignal.SIGINT, System.Runtime.InteropServices.PosixSignal.SIGTERM })
                registrations.Add(System.Runtime.InteropServices.PosixSignalRegistration.Create(signal, ctx =>
                {
                    ctx.Cancel = true;
                    cts.Cancel();
                }));
        }

        public CancellationToken Token => cts.Token;

        public void Dispose()
        {
            foreach (var r in registrations) r.Dispose();
            cts.Dispose();
        }
    }

    public static Interrupt InterruptOnSignals() => new();

    /// <summary>Reports synchronously (System.Progress posts to another thread, too late for a progress bar).</summary>
    sealed class Sync<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>A progress bar on a terminal; plain lines every 15 s otherwise (logs, CI, pipes).</summary>
    public static T WithTrainProgress<T>(string title, Func<IProgress<TrainProgress>, T> work)
    {
        static string Line(TrainProgress p) =>
            $"{p.Stage} epoch {p.Epoch + 1}/{p.Epochs} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.Lr:G3} {p.TokensPerSecond:F0} tok/s";

        if (!AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            var clock = Stopwatch.StartNew();
            var last = TimeSpan.FromSeconds(-15);
            Console.WriteLine($"{title}: training");
            return work(new Sync<TrainProgress>(p =>
            {
                if (clock.Elapsed - last < TimeSpan.FromSeconds(15) && p.Step != p.TotalSteps) return;
                last = clock.Elapsed;
                Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {title}: {Line(p)}");
            }));
        }
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(),
                new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title);
                result = work(new Sync<TrainProgress>(p =>
                {
                    task.MaxValue = Math.Max(1, p.TotalSteps);
                    task.Value = p.Step;
                    task.Description = Markup.Escape($"{title} {Line(p)}");
                }));
                task.Value = task.MaxValue;
            });
        return result;
    }
}
