using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Training;

namespace FactTrace.Benchmarks;

/// <summary>
/// The PyTorch peer (bench/peer/peer.py, embedded): the same models, data, optimizer and thread count in PyTorch, run
/// as a subprocess with Debian's python3-torch. Debian's torch calls the system BLAS: libopenblas0-pthread must be
/// installed (the reference BLAS is ~50x slower) and OpenBLAS misdetects this CPU unless OPENBLAS_CORETYPE=SkylakeX,
/// which is set for the peer only.
/// </summary>
public static class Peer
{
    public const string Python = "/usr/bin/python3";
    const string OpenBlas = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3";
    public const string Packages = "python3-torch libopenblas0-pthread";

    /// <summary>Null when the peer can run; otherwise why not. With <paramref name="install"/>, apt-get installs what is missing (as root).</summary>
    public static string? Ensure(bool install, Action<string>? log = null)
    {
        if (!File.Exists(Python)) return $"{Python} not found (the peer uses Debian's python3 and python3-torch)";
        bool Ready() => Exec(Python, ["-c", "import torch"], null, TimeSpan.FromMinutes(2)).Code == 0 && File.Exists(OpenBlas);
        if (Ready()) return null;
        var how = $"apt-get install -y {Packages}";
        if (!install) return $"python3-torch or libopenblas0-pthread is missing: run `{how}`";
        if (!Environment.IsPrivilegedProcess) return $"python3-torch or libopenblas0-pthread is missing and this is not root: run `sudo {how}`";
        log?.Invoke($"installing {Packages} (apt-get)");
        var env = new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" };
        string[] args = ["install", "-y", "-q", .. Packages.Split(' ')];
        var r = Exec("apt-get", args, env, TimeSpan.FromMinutes(15));
        if (r.Code != 0)
        {
            Exec("apt-get", ["update", "-q"], env, TimeSpan.FromMinutes(5));
            r = Exec("apt-get", args, env, TimeSpan.FromMinutes(15));
        }
        return Ready() ? null : $"`{how}` failed: {Tail(r.Output)}";
    }

    /// <summary>The peer's view of a model config (peer.py builds the same module tree from it).</summary>
    public static JsonObject Config(ModelConfig c) => new()
    {
        ["family"] = c.IsLlama ? "llama" : "neox",
        ["layers"] = c.NumHiddenLayers, ["hidden"] = c.HiddenSize, ["heads"] = c.NumAttentionHeads,
        ["kv_heads"] = c.KvHeads, ["head_dim"] = c.HeadDim, ["intermediate"] = c.IntermediateSize, ["vocab"] = c.VocabSize,
        ["rotary_pct"] = c.RotaryPct ?? 0.25, ["rope_base"] = c.RopeBase, ["norm_eps"] = c.NormEps,
        ["tied"] = c.TieWordEmbeddings, ["bias"] = c.AttentionBias ?? c.IsNeoX, ["init_std"] = c.InitializerRange,
    };

    public static JsonArray Rows(IEnumerable<EncodedExample> rows) => new([.. rows.Select(r => (JsonNode)new JsonArray([.. r.Ids.Select(i => (JsonNode)i)]))]);

    /// <summary>Runs the peer on <paramref name="tasks"/> with <paramref name="threads"/> threads; its JSON output.</summary>
    public static JsonObject Run(JsonArray tasks, int threads, TimeSpan timeout, Action<string>? log = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"facttrace-peer-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var script = Path.Combine(dir, "peer.py");
            using (var s = typeof(Peer).Assembly.GetManifestResourceStream("FactTrace.Benchmarks.peer.py")
                           ?? throw new FactTraceException("the peer script is not embedded in this build"))
            using (var f = File.Create(script))
                s.CopyTo(f);
            var input = Path.Combine(dir, "in.json");
            var output = Path.Combine(dir, "out.json");
            File.WriteAllText(input, new JsonObject { ["threads"] = threads, ["tasks"] = tasks }.ToJsonString());
            var env = new Dictionary<string, string>
            {
                ["OPENBLAS_CORETYPE"] = "SkylakeX",
                ["OMP_NUM_THREADS"] = threads.ToString(),
                ["OPENBLAS_NUM_THREADS"] = threads.ToString(),
                ["PYTHONNOUSERSITE"] = "1",
            };
            var r = Exec(Python, [script, "--in", input, "--out", output], env, timeout, log);
            if (r.Code != 0 || !File.Exists(output))
                throw new FactTraceException($"the PyTorch peer failed (exit {r.Code}): {Tail(r.Output)}");
            return JsonNode.Parse(File.ReadAllText(output))!.AsObject();
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    static string Tail(string s) => s.Length > 600 ? "..." + s[^600..] : s;

    sealed record ExecResult(int Code, string Output);

    static ExecResult Exec(string file, IEnumerable<string> args, IDictionary<string, string>? env, TimeSpan timeout, Action<string>? log = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        psi.Environment.Remove("PYTHONPATH");
        psi.Environment.Remove("PYTHONHOME");
        var text = new System.Text.StringBuilder();
        try
        {
            using var p = new Process { StartInfo = psi };
            p.OutputDataReceived += (_, e) => { if (e.Data is { } d) lock (text) text.AppendLine(d); };
            p.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not { } d) return;
                lock (text) text.AppendLine(d);
                log?.Invoke(d);
            };
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            if (!p.WaitForExit(timeout))
            {
                p.Kill(entireProcessTree: true);
                return new ExecResult(124, $"timed out after {timeout.TotalSeconds:F0} s\n{text}");
            }
            p.WaitForExit();
            return new ExecResult(p.ExitCode, text.ToString());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return new ExecResult(127, e.Message);
        }
    }

    public static double Get(JsonNode? n, string key) => n?[key]?.GetValue<double>() ?? double.NaN;
}
