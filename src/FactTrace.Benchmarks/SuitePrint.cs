namespace FactTrace.Benchmarks;

/// <summary>The tables `facttrace bench suite` prints from a <see cref="SuiteResult"/>.</summary>
public static class SuitePrint
{
    static string Mb(long bytes) => bytes > 0 ? $"{bytes / 1048576.0:F0}" : "-";
    static string Num(double? x, string format) => x is { } v && double.IsFinite(v) ? v.ToString(format) : "-";

    public static Printout Of(SuiteResult s)
    {
        // Redirected output (a log, a pipe) would otherwise wrap the wide tables at 80 columns.
        var p = new Printout { RedirectedWidth = 200 };
        Machine(p, s.Machine);
        if (s.PeerTorch is not null) p.Line($"peer: PyTorch {s.PeerTorch} (Debian python3-torch, OpenBLAS pthread, OPENBLAS_CORETYPE=SkylakeX), same threads");
        else if (s.PeerMessage is not null) p.Line($"peer: not run: {s.PeerMessage}");

        var mm = p.Table($"matmul peak: torch.mm 2048^3, {s.MatmulFp32.Threads} threads (best of repetitions; per CPU-second)",
            "dtype", "FactTrace GFLOP/s", "per CPU-s", "PyTorch peer GFLOP/s", "per CPU-s");
        mm.Row("fp32", Num(s.MatmulFp32.GFlops, "F1"), Num(s.MatmulFp32.GFlopsCpu, "F1"), Num(s.PeerMatmulFp32GFlops, "F1"), Num(s.PeerMatmulFp32GFlopsCpu, "F1"));
        if (s.MatmulBf16 is { } b) mm.Row("bf16", Num(b.GFlops, "F1"), Num(b.GFlopsCpu, "F1"), Num(s.PeerMatmulBf16GFlops, "F1"), Num(s.PeerMatmulBf16GFlopsCpu, "F1"));

        var st = p.Table($"training step: batch {s.Steps.FirstOrDefault()?.Ours.Rows} x {s.Steps.FirstOrDefault()?.Ours.Seq} tokens, vocab {s.WorldVocab} unless named, AdamW + clip",
            "model", "params", "mode", "tokens/s", "ms/step", "CPU ms/step", "GFLOP/s", "% fp32 peak", "% peak (CPU)", "peak RSS MB",
            "peer tokens/s", "peer CPU ms", "peer RSS MB", "FT/PyTorch", "FT/PyTorch (CPU)");
        foreach (var row in s.Steps)
        {
            var o = row.Ours;
            st.Row(row.Model, $"{o.Params / 1e6:F2}M", o.Mode, $"{o.TokensPerSecond:F0}", $"{o.StepMs:F1}", $"{o.CpuMs:F1}", $"{o.GFlops:F1}",
                Num(o.PeakFraction * 100, "F0"), Num(o.PeakFractionCpu * 100, "F0"), Mb(o.PeakRssBytes), Num(row.Peer?.TokensPerSecond, "F0"),
                Num(row.Peer?.CpuMs, "F1"), Mb(row.Peer?.PeakRssBytes ?? 0), Num(row.Ratio, "F2"), Num(row.RatioCpu, "F2"));
        }
        foreach (var g in s.Steps.GroupBy(x => x.Model).Where(g => g.Count() > 1 && g.All(x => x.Peer is not null)))
        {
            var best = g.MaxBy(x => x.Ours.TokensPerSecond)!;
            var peerBest = g.MaxBy(x => x.Peer!.TokensPerSecond)!;
            var bestCpu = g.MaxBy(x => x.Ours.TokensPerCpuSecond)!;
            var peerBestCpu = g.MaxBy(x => x.Peer!.TokensPerCpuSecond)!;
            st.Row(g.Key, "", $"fastest: {best.Ours.Mode} vs {peerBest.Ours.Mode}", $"{best.Ours.TokensPerSecond:F0}", "", "", "", "", "", "",
                $"{peerBest.Peer!.TokensPerSecond:F0}", "", "", $"{best.Ours.TokensPerSecond / peerBest.Peer.TokensPerSecond:F2}",
                $"{bestCpu.Ours.TokensPerCpuSecond / peerBestCpu.Peer!.TokensPerCpuSecond:F2}");
        }
        p.Line($"FLOPs per step = {s.FlopFormula}; % fp32 peak = achieved / the fp32 matmul peak above; (CPU) columns use process CPU time instead of wall time.");
        p.Line("FT/PyTorch = FactTrace tokens/s over the peer's, same model and mode (target >= 1.0); 'fastest' compares each side's fastest mode.");

        foreach (var row in s.Steps.Where(x => x.Ours.PhasesMs is not null))
        {
            var total = row.Ours.PhasesMs!.Values.Sum();
            p.Line($"profile {row.Model} {row.Ours.Mode}: " + string.Join(", ", row.Ours.PhasesMs!.Select(kv => $"{kv.Key} {kv.Value:F1} ms ({100 * kv.Value / total:F0}%)")));
        }

        Traces(p, s.Traces);
        if (s.Eval is { } e)
        {
            var et = p.Table("evaluation: tiny-neox, the default world's full evaluation set",
                "questions (QA-ID + QA-OOD + extraction)", "questions/s", "BIO probes", "BIOs/s", "seconds", "CPU seconds", "peak RSS MB");
            et.Row($"{e.Questions}", $"{e.QuestionsPerSecond:F0}", $"{e.Bios}", $"{e.BiosPerSecond:F0}", $"{e.Seconds:F1}", $"{e.CpuSeconds:F1}", Mb(e.PeakRssBytes));
        }
        p.Line($"suite: {s.Seconds:F0} s");
        return p;
    }

    /// <summary>`facttrace bench trace`: the machine and the trace table.</summary>
    public static Printout Of(TraceSuiteResult s)
    {
        var p = new Printout { RedirectedWidth = 200 };
        Machine(p, s.Machine);
        Traces(p, s.Traces);
        p.Line($"trace benchmark: {s.Seconds:F0} s");
        return p;
    }

    static void Machine(Printout p, MachineInfo m)
    {
        p.Line($"machine: {m.Cpu} [{m.CpuFeatures}], {m.Cores} cores, torch threads {m.TorchThreads}; {m.LibTorch} via TorchSharp {m.TorchSharp}; {m.DotNet}");
        // The end value counts this run's own threads; only the start says whether other work was running.
        p.Line($"load average (1 min): {m.LoadAverageStart:F2} at start, {m.LoadAverageEnd:F2} at end (includes this run)" +
               (m.LoadAverageStart > 1.5 ? "  CONTENDED: other work shared the CPU; trust the (CPU) columns more than wall time" : ""));
    }

    static void Traces(Printout p, IReadOnlyList<TraceRow> traces)
    {
        if (traces.Count == 0) return;
        var tt = p.Table("gradient trace: GradientTrace.Run (score grad, one example per backward pass) vs a plain batch-1 forward+backward",
            "model", "examples", "tokens/example", "fwd+bwd ms", "trace ms/example", "examples/s", "cost / fwd+bwd", "cost (CPU)", "flat-buffer cost (CPU)", "peak RSS MB",
            "peer examples/s", "peer cost", "peer cost (CPU)", "FT/PyTorch", "FT/PyTorch (CPU)");
        foreach (var row in traces)
        {
            var o = row.Ours;
            tt.Row(row.Model, $"{o.Examples}", $"{o.MeanTokens:F1}", $"{o.FwdBwdMs:F2}", $"{o.TraceMs:F2}", $"{o.ExamplesPerSecond:F1}", $"{o.CostRatio:F2}",
                $"{o.CostRatioCpu:F2}", $"{o.FlatCostRatio:F2} ({o.FlatCostRatioCpu:F2})", Mb(o.PeakRssBytes), Num(row.Peer?.ExamplesPerSecond, "F1"), Num(row.Peer?.CostRatio, "F2"),
                Num(row.Peer?.CostRatioCpu, "F2"), Num(row.Ratio, "F2"), Num(row.RatioCpu, "F2"));
        }
        p.Line("flat-buffer = an experimental loop with every gradient a view of one buffer (not what the tracer does); " +
               "peer = PyTorch's per-example loop of forward, backward and sum |grad|.");
    }
}
