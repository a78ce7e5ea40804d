using System.CommandLine;
using FactTrace.Benchmarks;
using FactTrace.Models;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace bench`: speed measurements (never part of the test suite).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var cmd = new Command("bench", "Benchmarks: training-step throughput, gradient trace, evaluation, memory, and a PyTorch peer.");
        cmd.Subcommands.Add(Step());
        cmd.Subcommands.Add(Trace());
        cmd.Subcommands.Add(BenchSuiteCommand.Create());
        cmd.Subcommands.Add(BenchLeakCommand.Create());
        cmd.Subcommands.Add(BenchCalibration.Create());
        cmd.Subcommands.Add(BenchTargetsCommand.Create());
        return cmd;
    }

    static Command Step()
    {
        var model = new Option<string>("--model")
        {
            Description = "A suite shape (tiny-neox, neox-6x256, pythia-14m, pythia-70m, tiny-llama, pythia-70m@50304), a named config or config.json.",
            DefaultValueFactory = _ => "tiny-neox",
        };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary of a from-scratch shape.", DefaultValueFactory = _ => 2065 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32 };
        var seq = new Option<int>("--seq") { Description = "Tokens per row.", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 30 };
        var padded = new Option<bool>("--padded") { Description = "Right-pad a random part (up to a quarter) of each row." };
        var bf16 = new Option<bool>("--bf16") { Description = "bf16 autocast with fp32 weights (as train --precision bf16)." };
        var bf16Shadow = new Option<bool>("--bf16-shadow") { Description = "bf16 through a bf16 copy of the model (the earlier mechanism, to compare)." };
        var phases = new Option<bool>("--phases") { Description = "Also time each phase of a step (collate, forward, backward, clip, AdamW, ...)." };
        var checksum = new Option<int>("--checksum")
        {
            Description = "Only train N steps from a fixed init and print a SHA-256 of the weights (checks an optimisation keeps results bit-exact).",
        };
        var fullOnly = new Option<bool>("--full-only") { Description = "Time only the full step (skip forward and forward+backward alone)." };
        var attention = new Option<string>("--attention")
        {
            Description = "Causal attention kernel: auto (bf16 up to 256 tokens as matrix products, else fused) or fused (always libtorch's fused kernel).",
            DefaultValueFactory = _ => "auto",
        };
        attention.AcceptOnlyFromAmong("auto", "fused");
        var threads = Common.Threads();
        var cmd = new Command("step", "Tokens/s of forward, forward+backward and a full training step (the trainer's) on random tokens.");
        foreach (var o in new Option[] { model, vocab, batch, seq, steps, padded, bf16, bf16Shadow, phases, checksum, fullOnly, attention, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var result = StepParts.Run(new StepPartsOptions
            {
                Model = r.GetValue(model)!, Vocab = r.GetValue(vocab), BatchSize = Cli.Positive(r, batch), Seq = Cli.Positive(r, seq),
                Steps = Cli.Positive(r, steps), Padded = r.GetValue(padded), Phases = r.GetValue(phases), FullOnly = r.GetValue(fullOnly),
                Mode = r.GetValue(bf16Shadow) ? StepMode.Bf16Shadow : r.GetValue(bf16) ? StepMode.Bf16 : StepMode.Fp32,
                Checksum = Math.Max(0, r.GetValue(checksum)), Attention = ComputeOptions.ParseAttention(r.GetValue(attention)!),
            });
            BenchPrint.Print(result.Print());
            return Cli.Ok;
        });
        return cmd;
    }

    static Command Trace()
    {
        var d = new SuiteOptions();
        var models = new Option<string>("--models")
        {
            Description = "Comma-separated shapes (suite shapes, named configs or config.json files).",
            DefaultValueFactory = _ => string.Join(",", d.TraceModelsOrDefault()),
        };
        var examples = new Option<int>("--examples") { Description = "BIO examples of the default world to trace.", DefaultValueFactory = _ => d.TraceExamples };
        var json = new Option<string?>("--json") { Description = "Also write every number to this JSON file." };
        var threads = Common.Threads();
        var cmd = new Command("trace", "The gradient-trace benchmark alone: GradientTrace.Run against a plain batch-1 forward+backward on the default world's BIOs (cost ratio; no peer).");
        foreach (var o in new Option[] { models, examples, json, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var names = r.GetValue(models)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var result = Suite.TraceOnly(d with { TraceModels = names, TraceExamples = Cli.Positive(r, examples) }, BenchPrint.Log);
            BenchPrint.Print(result.Print());
            if (r.GetValue(json) is { } path) IO.AtomicFile.WriteAllText(path, IO.Json.Serialize(result) + "\n");
            return Cli.Ok;
        });
        return cmd;
    }
}
