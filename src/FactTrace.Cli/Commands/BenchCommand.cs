using System.CommandLine;
using System.Diagnostics;
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
        var cmd = new Command("bench", "Benchmarks: training-step throughput and its parts.");
        cmd.Subcommands.Add(Step());
        cmd.Subcommands.Add(BenchCalibration.Create());
        return cmd;
    }

    static Command Step()
    {
        var model = new Option<string>("--model") { Description = "Named config or config.json.", DefaultValueFactory = _ => "tiny-neox" };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary of a from-scratch shape.", DefaultValueFactory = _ => 2065 };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 32 };
        var seq = new Option<int>("--seq") { Description = "Tokens per row.", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 30 };
        var padded = new Option<bool>("--padded") { Description = "Pass an attention mask (right padding of a quarter of each row)." };
        var bf16 = new Option<bool>("--bf16") { Description = "bf16 forward/backward with fp32 master weights (as train --precision bf16)." };
        var threads = Common.Threads();
        var cmd = new Command("step", "Tokens/s of forward, forward+backward and a full AdamW step on random tokens.");
        foreach (var o in new Option[] { model, vocab, batch, seq, steps, padded, bf16, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var config = NamedConfigs.Resolve(r.GetValue(model)!, r.GetValue(vocab));
            using var m = ModelFactory.Create(config, 0);
            int b = r.GetValue(batch), t = r.GetValue(seq), n = r.GetValue(steps);
            var rng = new IO.Rng(1);
            var rows = Enumerable.Range(0, b).Select(_ =>
            {
                var len = r.GetValue(padded) ? t - rng.NextInt(t / 4) : t;
                var ids = Enumerable.Range(0, len).Select(_ => rng.NextInt(config.VocabSize)).ToArray();
                return new EncodedExample(ids, ids, ExampleKind.Bio, 0);
            }).ToList();
            using var bt = Batch.Collate(rows, 0);
            var opt = new AdamW([new AdamW.Group(m.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList(), 0.1)]);
            double Time(Action a)
            {
                for (int i = 0; i < 3; i++) a();
                var w = Stopwatch.StartNew();
                for (int i = 0; i < n; i++) { a(); if (i % 16 == 15) GC.Collect(); }
                return w.Elapsed.TotalSeconds / n;
            }
            using var shadow = r.GetValue(bf16) ? new Bf16Shadow(m) : null;
            var compute = shadow?.Model ?? m;
            var fwd = Time(() => { using var s = NewDisposeScope(); using var g = no_grad(); shadow?.Pull(); Loss.NextToken(compute, bt); });
            var fwdBwd = Time(() => { using var s = NewDisposeScope(); shadow?.Pull(); Loss.NextToken(compute, bt).backward(); shadow?.PushGrads(); opt.ZeroGrad(); });
            var full = Time(() =>
            {
                using var s = NewDisposeScope();
                shadow?.Pull();
                Loss.NextToken(compute, bt).backward();
                shadow?.PushGrads();
                nn.utils.clip_grad_norm_(m.parameters(), 1.0);
                opt.StepWith(1e-3);
                opt.ZeroGrad();
            });
            var table = new Table().AddColumns("part", "ms/step", "tokens/s");
            foreach (var (name, sec) in new[] { ("forward", fwd), ("forward+backward", fwdBwd), ("full step (AdamW, clip)", full) })
                table.AddRow(name, $"{sec * 1000:F1}", $"{bt.Tokens / sec:F0}");
            AnsiConsole.Write(table);
            Console.WriteLine($"model {r.GetValue(model)}: {m.ParameterCount():N0} parameters; batch {b} x {t}; {(shadow is null ? "fp32" : "bf16 (fp32 master)")}; threads {get_num_threads()}");
            return Cli.Ok;
        });
        return cmd;
    }
}
