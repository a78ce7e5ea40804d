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

    /// <summary>Tables for logs: a redirected console is 80 columns to Spectre, too narrow for the wide tables.</summary>
    public static void WideTablesWhenRedirected(int width = 160)
    {
        if (Console.IsOutputRedirected && AnsiConsole.Profile.Width < width) AnsiConsole.Profile.Width = width;
    }

    public static void SetThreads(int n)
    {
        if (n <= 0) throw new IO.OptionException("threads", $"must be positive (got {n})");
        TorchSharp.torch.set_num_threads(n);
    }

    /// <summary>A required folder or file option.</summary>
    public static Option<string> RequiredPath(string name, string description) => new(name) { Description = description, Required = true };

    /// <summary>Shows a study's trainings and analyses as <see cref="WithTrainProgress{T}"/> and <see cref="WithProgress{T}"/> do.</summary>
    public sealed class ProgressHost : Study.IProgressHost
    {
        public T Train<T>(string title, Func<IProgress<TrainProgress>?, T> work) => WithTrainProgress(title, p => work(p));
        public T Work<T>(string title, Func<IProgress<WorkProgress>?, T> work) => WithProgress(title, p => work(p));
    }

    public static IO.Interrupt InterruptOnSignals() => new();

    /// <summary>
    /// True while several stages run side by side (reproduce --jobs): progress is printed as lines, since one live
    /// display cannot be shared by two threads.
    /// </summary>
    public static bool LinesOnly { get; set; }

    public static T WithTrainProgress<T>(string title, Func<IProgress<TrainProgress>, T> work, bool linesOnly = false)
    {
        linesOnly |= LinesOnly;
        static string Line(TrainProgress p) =>
            $"{p.Stage} epoch {p.Epoch + 1}/{p.Epochs} step {p.Step}/{p.TotalSteps} loss {p.Loss:F4} lr {p.Lr:G3} {p.TokensPerSecond:F0} tok/s";

        if (linesOnly || !AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            var clock = Stopwatch.StartNew();
            var last = TimeSpan.FromSeconds(-15);
            Console.WriteLine($"{title}: training");
            return work(new IO.SyncProgress<TrainProgress>(p =>
            {
                if (clock.Elapsed - last < TimeSpan.FromSeconds(15) && p.Step != p.TotalSteps) return;
                last = clock.Elapsed;
                Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {title}: {Line(p)}");
            }));
        }
        return WithBar<T, TrainProgress>(title, work, (task, p) =>
        {
            task.MaxValue = Math.Max(1, p.TotalSteps);
            task.Value = p.Step;
            task.Description = Markup.Escape($"{title} {Line(p)}");
        });
    }

    /// <summary>A Spectre progress bar that <paramref name="update"/> moves for each report of <paramref name="work"/>.</summary>
    static T WithBar<T, TP>(string title, Func<IProgress<TP>, T> work, Action<ProgressTask, TP> update)
    {
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(),
                new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(title);
                result = work(new IO.SyncProgress<TP>(p => update(task, p)));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Progress of a library step (<see cref="WorkProgress"/>): a bar on a terminal, lines every 15 s otherwise.</summary>
    public static T WithProgress<T>(string title, Func<IProgress<WorkProgress>, T> work)
    {
        static string Line(WorkProgress p) => $"{p.Task} {p.Done}/{p.Total}";
        if (LinesOnly || !AnsiConsole.Profile.Capabilities.Interactive || Console.IsOutputRedirected)
        {
            var clock = Stopwatch.StartNew();
            var last = TimeSpan.FromSeconds(-15);
            string? lastTask = null;
            return work(new IO.SyncProgress<WorkProgress>(p =>
            {
                // A line when the task changes, at its end, and every 15 s.
                var head = p.Task.Split(' ')[0];
                if (head == lastTask && clock.Elapsed - last < TimeSpan.FromSeconds(15) && p.Done != p.Total) return;
                (last, lastTask) = (clock.Elapsed, head);
                Console.WriteLine($"[{clock.Elapsed:hh\\:mm\\:ss}] {title}: {Line(p)}");
            }));
        }
        return WithBar<T, WorkProgress>(title, work, (task, p) =>
        {
            task.MaxValue = Math.Max(1, p.Total);
            task.Value = Math.Min(p.Done, task.MaxValue);
            task.Description = Markup.Escape($"{title}: {p.Task}");
        });
    }
}
