using System.CommandLine;
using FactTrace.Tracing;
using FactTrace.Training;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace train`: one strategy, one model, one run folder (<see cref="TracedTraining"/>).</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var world = Common.RequiredPath("--world", "World folder (from `facttrace world`).");
        var model = new Option<string>("--model")
        {
            Description = "A named config (tiny-neox, tiny-llama, ...), a config.json, or a pretrained HF folder.",
            DefaultValueFactory = _ => "tiny-neox",
        };
        var output = Common.RequiredPath("--out", "Run folder.");
        var options = new RecordOptions<TrainOptions>(new TrainOptions());
        options.Require("strategy");
        var trace = new RecordOptions<TrainingTraceOptions>(new TrainingTraceOptions(), "trace");
        trace.NoDefault("score");
        var threads = Common.Threads();
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its latest state (same options)." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty --out." };

        var cmd = new Command("train", "Train a model on a world with one strategy (two-stage, mixed or bio-only), then evaluate it. " +
                                       "--trace-score also accumulates per-task gradient scores during training into RUN/train_scores/.");
        foreach (var o in new Option[] { world, model, output }) cmd.Options.Add(o);
        options.AddTo(cmd);
        trace.AddTo(cmd);
        foreach (var o in new Option[] { threads, resume, force }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var o = options.Bind(r);
            o.Validate(); // before the progress display starts
            options.WarnIgnored(r, o.IgnoredFields(), $"with --strategy {o.Strategy.Name()}");
            var traced = trace.Given(r).Contains("score") ? trace.Bind(r) : null;
            if (traced is null) trace.WarnIgnored(r, ["granularity", "every"], "without --trace-score");
            Common.SetThreads(r.GetValue(threads));
            using var interrupt = Common.InterruptOnSignals();
            var result = Common.WithTrainProgress(o.Strategy.Name(), progress => TracedTraining.Run(r.GetValue(world)!, r.GetValue(model)!,
                r.GetValue(output)!, o, r.GetValue(resume), r.GetValue(force), traced, progress, interrupt.Token));
            if (result is not null) EvalCommand.Print(result);
            return Cli.Ok;
        });
        return cmd;
    }
}
