using System.CommandLine;
using System.Diagnostics;
using System.Security.Cryptography;
using FactTrace.Benchmarks;
using FactTrace.Models;
using FactTrace.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace bench`: speed measurements (never part of the test suite).</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var cmd = new Command("bench", "Benchmarks: training-step throughput, gradient trace, evaluation, memory, and a PyTorch peer.");
        cmd.Subcommands.Add(Step());
        cmd.Subcommands.Add(BenchSuiteCommand.Create());
        cmd.Subcommands.Add(BenchLeakCommand.Create());
        cmd.Subcommands.Add(BenchCalibration.Create());
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
        var threads = Common.Threads();
        var cmd = new Command("step", "Tokens/s of forward, forward+backward and a full training step (the trainer's) on random tokens.");
        foreach (var o in new Option[] { model, vocab, batch, seq, steps, padded, bf16, bf16Shadow, phases, checksum, fullOnly, attention, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var spec = BenchModels.Resolve(r.GetValue(model)!, r.GetValue(vocab));
            var config = spec.Config;
            int b = Cli.Positive(r, batch), t = Cli.Positive(r, seq), n = Cli.Positive(r, steps);
            var mode = r.GetValue(bf16Shadow) ? StepMode.Bf16Shadow : r.GetValue(bf16) ? StepMode.Bf16 : StepMode.Fp32;
            var kernel = new ComputeOptions { Attention = ComputeOptions.ParseAttention(r.GetValue(attention)!) };
            var rng = new IO.Rng(7);
            var rows = StepBenchmark.RandomRows(config.VocabSize, b, t)
                .Select(e => r.GetValue(padded) && rng.NextInt(t / 4) is var cut and > 0 ? e with { Ids = e.Ids[..^cut], Labels = e.Labels[..^cut] } : e)
                .ToList();
            if (r.GetValue(checksum) is > 0 and var k)
            {
                Console.WriteLine(Checksum(config, mode, kernel, rows, k));
                return Cli.Ok;
            }

            using var m = ModelFactory.Create(config, 0);
            m.Compute = kernel;
            using var opt = StepBenchmark.Optimizer(m);
            using var shadow = mode == StepMode.Bf16Shadow ? new Bf16Shadow(m) : null;
            var compute = shadow?.Model ?? m;
            var autocast = compute.UseAutocast(mode == StepMode.Bf16 ? ScalarType.BFloat16 : null); // forward-only parts; the full step enters its own
            var parameters = m.parameters().ToList();
            using var bt = Batch.Collate(rows, 0);
            var timing = new Timing(Warmup: 3, MinSteps: n, MinSeconds: 0, MaxSteps: n);
            var cpuMs = new List<double>();
            double Time(Action a)
            {
                long i = 0;
                var times = timing.Measure(_ => { a(); if (++i % 16 == 0) GC.Collect(); }, out var cpu);
                cpuMs.Add(cpu * 1000);
                return times.Average();
            }
            bool parts = !r.GetValue(fullOnly);
            var fwd = !parts ? double.NaN : Time(() => { using var s = NewDisposeScope(); using var g = no_grad(); shadow?.Pull(); Loss.NextToken(compute, bt); });
            var fwdBwd = !parts ? double.NaN : Time(() => { using var s = NewDisposeScope(); shadow?.Pull(); Loss.NextToken(compute, bt).backward(); shadow?.PushGrads(); opt.ZeroGrad(); });
            var full = Time(() => { using var batchNow = Batch.Collate(rows, 0); StepBenchmark.Step(m, mode, shadow, opt, parameters, batchNow); });
            autocast.Dispose();
            var flops = FlopCount.TrainStep(config, b, rows.Max(x => x.Length), rows.Sum(x => x.Length - 1));

            var table = new Table().AddColumns("part", "ms/step", "tokens/s", "CPU ms/step");
            foreach (var (i, (name, sec)) in new[] { ("forward", fwd), ("forward+backward", fwdBwd), ("full step (collate, clip, AdamW)", full) }.Where(x => !double.IsNaN(x.Item2)).Index())
                table.AddRow(name, $"{sec * 1000:F1}", $"{bt.Tokens / sec:F0}", $"{cpuMs[i]:F1}");
            AnsiConsole.Write(table);
            Console.WriteLine($"model {spec.Name}: {m.ParameterCount():N0} parameters ({flops.MatmulParams:N0} in matmuls); batch {b} x {t} ({bt.Tokens} tokens); " +
                              $"{StepBenchmark.Name(mode)}; threads {get_num_threads()}; full step {flops.PerStep / full / 1e9:F1} GFLOP/s; load {MachineInfo.LoadAverage():F2}");
            if (r.GetValue(phases))
            {
                var profile = StepBenchmark.Profile(m, mode, shadow, opt, rows, n);
                var pt = new Table().AddColumns("phase", "ms", "share");
                var total = profile.Values.Sum();
                foreach (var (phase, ms) in profile) pt.AddRow(phase, $"{ms:F2}", $"{100 * ms / total:F1}%");
                pt.AddRow("total", $"{total:F2}", "");
                AnsiConsole.Write(pt);
            }
            return Cli.Ok;
        });
        return cmd;
    }

    /// <summary>SHA-256 (first 16 hex digits) of the fp32 weights after <paramref name="steps"/> trainer steps from seed 0.</summary>
    static string Checksum(ModelConfig config, StepMode mode, ComputeOptions compute, IReadOnlyList<EncodedExample> rows, int steps)
    {
        using var m = ModelFactory.Create(config, 0);
        m.Compute = compute;
        using var opt = StepBenchmark.Optimizer(m);
        using var shadow = mode == StepMode.Bf16Shadow ? new Bf16Shadow(m) : null;
        var parameters = m.parameters().ToList();
        var losses = new List<float>();
        for (int i = 0; i < steps; i++)
        {
            using var batch = Batch.Collate(rows, 0);
            losses.Add(StepBenchmark.Step(m, mode, shadow, opt, parameters, batch, 1e-3));
            if ((i + 1) % 16 == 0) GC.Collect();
        }
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, p) in m.named_parameters())
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name));
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p.data<float>().ToArray().AsSpan()));
        }
        return $"{Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant()} after {steps} steps; last loss {losses[^1]:R}";
    }
}
