using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using FactTrace.Cli;
using FactTrace.IO;
using FactTrace.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests.Reliability;

/// <summary>
/// Bad input through the real command line, one row per case: each damages a copy of a good world, run, checkpoint or
/// trace, runs a verb on it and expects the documented exit code (2 usage, 1 damaged file or failed run), one line
/// that starts with "error:" and names the file, field or value, no stack trace, and the case's folder unchanged
/// (nothing existing overwritten, nothing half-made left behind).
/// </summary>
[Collection("torch-threads")]
public sealed class BadInputTests(BadInputTests.Good good) : IClassFixture<BadInputTests.Good>
{
    /// <summary>A world, a trained run (init/, final/, state/) and a trace of it, made once through the CLI.</summary>
    public sealed class Good : IDisposable
    {
        readonly TempDir tmp = new();
        public string World { get; }
        public string Run { get; }
        public string Trace { get; }
        public string[] TrainArgs(string world, string output) =>
            ["train", "--world", world, "--model", "micro-neox", "--strategy", "mixed", "--bio-epochs", "2", "--batch-size", "8",
             "--checkpoint-every", "3", "--eval-people", "2", "--threads", "1", "--out", output];

        public Good()
        {
            World = tmp.Sub("world");
            TrainingFixture.World(people: 8).Save(World);
            Run = tmp.Sub("run");
            Expect(0, Invoke(TrainArgs(World, Run)));
            Trace = tmp.Sub("trace");
            Expect(0, Invoke("trace", "--world", World, "--model", Path.Combine(Run, "final"), "--out", Trace, "--probe-bio-size", "2", "--probe-qa-size", "2",
                "--rho", "0.05", "--threads", "1"));
        }

        static void Expect(int code, (int Code, string Error) r) => Assert.True(r.Code == code, r.Error);
        public void Dispose() => tmp.Dispose();
    }

    public static (int Code, string Error) Invoke(params string[] args)
    {
        var err = new StringWriter();
        var code = global::FactTrace.Cli.Cli.Run(CliApp.BuildRoot(), args, err);
        return (code, err.ToString());
    }

    /// <summary>One row: what to damage (given the good fixture and a fresh case folder), the command, and the outcome.</summary>
    public sealed record Case(string Name, int Code, string Expected, Func<Good, string, string[]> Arrange);

    static string CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        return to;
    }

    static string Model(Good g, string dir) => CopyFolder(Path.Combine(g.Run, "final"), Path.Combine(dir, "model"));
    static string World(Good g, string dir) => CopyFolder(g.World, Path.Combine(dir, "world"));
    static string[] Eval(Good g, string world, string model) => ["eval", "--world", world, "--model", model, "--threads", "1"];
    static string[] EvalModel(Good g, string model) => Eval(g, g.World, model);

    static string EditConfig(string model, Action<JsonObject> edit)
    {
        var file = Path.Combine(model, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        edit(json);
        File.WriteAllText(file, json.ToJsonString());
        return model;
    }

    /// <summary>Rewrites the model's weights with <paramref name="edit"/> applied to the tensor dictionary.</summary>
    static string EditWeights(string model, Action<Dictionary<string, Tensor>> edit)
    {
        var file = Path.Combine(model, "model.safetensors");
        var tensors = Safetensors.Read(file);
        edit(tensors);
        Safetensors.Write(file, tensors);
        foreach (var t in tensors.Values) t.Dispose();
        return model;
    }

    /// <summary>Replaces the weights with a hand-made file: an 8-byte header length, the header, the data.</summary>
    static string RawWeights(string model, string header, int dataBytes, ulong? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        File.WriteAllBytes(Path.Combine(model, "model.safetensors"), bytes);
        return model;
    }

    /// <summary>Replaces line <paramref name="line"/> (1-based) of a JSONL file with raw bytes.</summary>
    static void ReplaceLine(string file, int line, byte[] replacement)
    {
        var lines = File.ReadAllText(file).Split('\n');
        using var s = File.Create(file);
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0) s.WriteByte((byte)'\n');
            s.Write(i == line - 1 ? replacement : Encoding.UTF8.GetBytes(lines[i]));
        }
    }

    static string LatestState(string run) => Directory.EnumerateDirectories(Path.Combine(run, "state")).OrderBy(d => d).Last();

    static readonly Case[] Cases =
    [
        // Paths and folders.
        new("missing world folder", 2, "no-such-world", (g, d) => Eval(g, Path.Combine(d, "no-such-world"), Path.Combine(g.Run, "final"))),
        new("world path is a file", 2, "world.json", (g, d) => Eval(g, Path.Combine(g.World, "world.json"), Path.Combine(g.Run, "final"))),
        new("missing model folder", 2, "no-such-model", (g, d) => EvalModel(g, Path.Combine(d, "no-such-model"))),
        new("model folder without weights", 2, "not an HF checkpoint folder", (g, d) =>
        {
            var m = Model(g, d);
            File.Delete(Path.Combine(m, "model.safetensors"));
            return EvalModel(g, m);
        }),
        new("world --out not empty", 2, "not empty", (g, d) =>
        {
            File.WriteAllText(Path.Combine(d, "mine.txt"), "keep me");
            return ["world", "--out", d, "--people", "10"];
        }),
        new("train --out not empty", 2, "not empty", (g, d) =>
        {
            File.WriteAllText(Path.Combine(d, "mine.txt"), "keep me");
            return g.TrainArgs(g.World, d);
        }),
        new("trace --out not empty", 2, "not empty", (g, d) =>
        {
            File.WriteAllText(Path.Combine(d, "mine.txt"), "keep me");
            return ["trace", "--world", g.World, "--model", Path.Combine(g.Run, "final"), "--out", d, "--probe-bio-size", "2", "--probe-qa-size", "2"];
        }),
        // Model configs.
        new("config.json not JSON", 1, "config.json", (g, d) =>
        {
            var m = Model(g, d);
            File.WriteAllText(Path.Combine(m, "config.json"), "{ \"model_type\": ");
            return EvalModel(g, m);
        }),
        new("unknown model_type", 1, "gpt2", (g, d) => EvalModel(g, EditConfig(Model(g, d), c => c["model_type"] = "gpt2"))),
        new("zero attention heads", 1, "num_attention_heads", (g, d) => EvalModel(g, EditConfig(Model(g, d), c => c["num_attention_heads"] = 0))),
        new("hidden size not divisible by heads", 1, "hidden_size", (g, d) =>
            EvalModel(g, EditConfig(Model(g, d), c => c["hidden_size"] = c["hidden_size"]!.GetValue<int>() + 1))),
        new("kv heads not dividing heads", 1, "num_key_value_heads", (g, d) => ["inspect", EditConfig(Model(g, d), c =>
        {
            c["model_type"] = "llama";
            c["num_attention_heads"] = 4;
            c["num_key_value_heads"] = 3;
        })]),
        new("config.json not UTF-8", 1, "config.json", (g, d) =>
        {
            var m = Model(g, d);
            File.WriteAllBytes(Path.Combine(m, "config.json"), [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}']);
            return EvalModel(g, m);
        }),
        // Safetensors.
        new("truncated safetensors", 1, "truncated", (g, d) =>
        {
            var m = Model(g, d);
            var f = Path.Combine(m, "model.safetensors");
            var bytes = File.ReadAllBytes(f);
            File.WriteAllBytes(f, bytes[..(bytes.Length / 2)]);
            return EvalModel(g, m);
        }),
        new("safetensors header length past the end", 1, "model.safetensors", (g, d) =>
            EvalModel(g, RawWeights(Model(g, d), "{}", 0, declaredLength: 5000))),
        new("safetensors overlapping offsets", 1, "overlap", (g, d) => EvalModel(g, RawWeights(Model(g, d),
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12))),
        new("safetensors offsets past the data", 1, "model.safetensors", (g, d) => EvalModel(g, RawWeights(Model(g, d),
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4))),
        new("safetensors unknown dtype", 1, "F8_E4M3", (g, d) => EvalModel(g, RawWeights(Model(g, d),
            """{"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}""", 2))),
        new("tensor shape disagrees with config", 1, "gpt_neox.embed_in.weight", (g, d) => EvalModel(g, EditWeights(Model(g, d), t =>
        {
            var e = t["gpt_neox.embed_in.weight"];
            t["gpt_neox.embed_in.weight"] = e[..^1].clone();
            e.Dispose();
        }))),
        new("missing tensor", 1, "embed_out.weight", (g, d) => EvalModel(g, EditWeights(Model(g, d), t =>
        {
            t["embed_out.weight"].Dispose();
            t.Remove("embed_out.weight");
        }))),
        new("unexpected tensor", 1, "extra.weight", (g, d) => EvalModel(g, EditWeights(Model(g, d), t => t["extra.weight"] = zeros(2, 2)))),
        // Tokenizers.
        new("tokenizer of an unsupported type", 1, "Unigram", (g, d) =>
        {
            var m = Model(g, d);
            File.WriteAllText(Path.Combine(m, "tokenizer.json"), """{"version":"1.0","model":{"type":"Unigram","vocab":[]}}""");
            return ["eval", "--world", g.World, "--model", m, "--threads", "1"];
        }),
        // Worlds.
        new("world.json not JSON", 1, "world.json", (g, d) =>
        {
            var w = World(g, d);
            File.WriteAllText(Path.Combine(w, "world.json"), "{ \"format_version\": 1,");
            return Eval(g, w, Path.Combine(g.Run, "final"));
        }),
        new("world format newer than the program", 1, "format_version", (g, d) =>
        {
            var w = World(g, d);
            var f = Path.Combine(w, "world.json");
            var json = JsonNode.Parse(File.ReadAllText(f))!.AsObject();
            json["format_version"] = 99;
            File.WriteAllText(f, json.ToJsonString());
            return Eval(g, w, Path.Combine(g.Run, "final"));
        }),
        new("world without a JSONL file", 1, "qa_test_ood.jsonl", (g, d) =>
        {
            var w = World(g, d);
            File.Delete(Path.Combine(w, "qa_test_ood.jsonl"));
            return Eval(g, w, Path.Combine(g.Run, "final"));
        }),
        new("world JSONL corrupted line", 1, "line 3", (g, d) =>
        {
            var w = World(g, d);
            ReplaceLine(Path.Combine(w, "bio.jsonl"), 3, "{\"person_id\": 1, \"text"u8.ToArray());
            return Eval(g, w, Path.Combine(g.Run, "final"));
        }),
        new("world JSONL not UTF-8", 1, "UTF-8", (g, d) =>
        {
            var w = World(g, d);
            var f = Path.Combine(w, "qa_train.jsonl");
            var first = File.ReadAllText(f).Split('\n')[0];
            var bytes = Encoding.UTF8.GetBytes(first);
            var i = first.IndexOf("\"text\": \"", StringComparison.Ordinal) + 9;
            bytes[i] = 0xC3; // a lead byte followed by an ASCII letter: invalid UTF-8
            ReplaceLine(f, 1, bytes);
            return Eval(g, w, Path.Combine(g.Run, "final"));
        }),
        // Training runs.
        new("malformed trainer_state.json", 1, "trainer_state.json", (g, d) =>
        {
            var run = CopyFolder(g.Run, Path.Combine(d, "run"));
            File.WriteAllText(Path.Combine(LatestState(run), "trainer_state.json"), "{\"step\": ");
            return [.. g.TrainArgs(g.World, run), "--resume"];
        }),
        new("resume with another configuration", 2, "different run configuration", (g, d) =>
        {
            var run = CopyFolder(g.Run, Path.Combine(d, "run"));
            File.Delete(Path.Combine(run, "eval.json")); // not finished: the resume must reach the state check
            return [.. g.TrainArgs(g.World, run), "--resume", "--lr", "0.01"];
        }),
        new("resume of a folder that is not a run", 2, "not a training run", (g, d) =>
        {
            File.WriteAllText(Path.Combine(d, "mine.txt"), "keep me");
            return [.. g.TrainArgs(g.World, d), "--resume"];
        }),
        // Options.
        new("rho 0", 2, "--rho", (g, d) => ["trace", "--world", g.World, "--model", Path.Combine(g.Run, "final"), "--out", Path.Combine(d, "t"), "--rho", "0"]),
        new("rho above 1", 2, "--rho", (g, d) => ["trace", "--world", g.World, "--model", Path.Combine(g.Run, "final"), "--out", Path.Combine(d, "t"), "--rho", "1.01"]),
        new("threads 0", 2, "--threads", (g, d) => [.. EvalModel(g, Path.Combine(g.Run, "final"))[..^1], "0"]),
        new("unknown strategy", 2, "--strategy", (g, d) => ["train", "--world", g.World, "--strategy", "three-stage", "--out", Path.Combine(d, "r")]),
        new("unknown preset", 2, "gpt-5", (g, d) => ["reproduce", "--preset", "gpt-5", "--out", Path.Combine(d, "r")]),
        new("pretrained preset without --model", 2, "--model", (g, d) => ["reproduce", "--preset", "pythia-2.8b", "--out", Path.Combine(d, "r")]),
        new("preset file with an unknown field", 2, "bio_epoch", (g, d) =>
        {
            var f = Path.Combine(d, "p.json");
            File.WriteAllText(f, """{"mixed": {"bio_epoch": 3}}""");
            return ["reproduce", "--preset", f, "--out", Path.Combine(d, "r")];
        }),
        new("preset file not JSON", 2, "p.json", (g, d) =>
        {
            var f = Path.Combine(d, "p.json");
            File.WriteAllText(f, """{"mixed": """);
            return ["reproduce", "--preset", f, "--out", Path.Combine(d, "r")];
        }),
        new("preset file with an out-of-range value", 2, "people", (g, d) =>
        {
            var f = Path.Combine(d, "p.json");
            File.WriteAllText(f, """{"world": {"people": 0}}""");
            return ["reproduce", "--preset", f, "--out", Path.Combine(d, "r")];
        }),
        new("report of a folder that is not a run", 2, "manifest.json", (g, d) =>
        {
            File.WriteAllText(Path.Combine(d, "mine.txt"), "keep me");
            return ["report", d];
        }),
        // Masks.
        new("mask naming a tensor the model lacks", 1, "no.such.weight", (g, d) =>
        {
            var mask = Path.Combine(d, "mask.safetensors");
            Safetensors.Write(mask, [new("no.such.weight", ones(4, dtype: ScalarType.Bool))]);
            return ["ablate", "--world", g.World, "--model", Path.Combine(g.Run, "final"), "--mask", mask, "--controls", "1",
                "--eval-people", "2", "--out", Path.Combine(d, "a"), "--threads", "1"];
        }),
        new("mask of the wrong shape", 1, "gpt_neox.layers.0.mlp.dense_h_to_4h.weight", (g, d) =>
        {
            var mask = Path.Combine(d, "mask.safetensors");
            Safetensors.Write(mask, [new("gpt_neox.layers.0.mlp.dense_h_to_4h.weight", ones(3, 3, dtype: ScalarType.Bool))]);
            return ["ablate", "--world", g.World, "--model", Path.Combine(g.Run, "final"), "--mask", mask, "--controls", "1",
                "--eval-people", "2", "--out", Path.Combine(d, "a"), "--threads", "1"];
        }),
    ];

    public static TheoryData<string> Names() => [.. Cases.Select(c => c.Name)];

    /// <summary>Every file below <paramref name="dir"/> with a hash of its bytes.</summary>
    static SortedDictionary<string, string> Snapshot(string dir) =>
        new(Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(dir, f),
            f => File.Exists(f) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))) : "dir"), StringComparer.Ordinal);

    [Theory]
    [MemberData(nameof(Names))]
    public void IsAOneLineErrorWithTheDocumentedExitCode(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        using var dir = new TempDir();
        var args = c.Arrange(good, dir.Path);
        var before = Snapshot(dir.Path);
        var goodBefore = Snapshot(Path.GetDirectoryName(good.World)!);
        var (code, err) = Invoke(args);
        var line = err.TrimEnd('\n');
        Assert.True(code == c.Code, $"{name}: exit {code}, expected {c.Code}: {err}");
        Assert.StartsWith("error: ", line);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("   at ", err);
        Assert.True(line.Contains(c.Expected, StringComparison.Ordinal), $"{name}: '{c.Expected}' not in: {line}");
        AssertUnchanged(before, Snapshot(dir.Path));
        AssertUnchanged(goodBefore, Snapshot(Path.GetDirectoryName(good.World)!));
    }

    static void AssertUnchanged(SortedDictionary<string, string> before, SortedDictionary<string, string> after)
    {
        var changed = before.Keys.Union(after.Keys)
            .Where(k => !before.TryGetValue(k, out var b) || !after.TryGetValue(k, out var a) || a != b).ToList();
        Assert.True(changed.Count == 0, $"changed, created or deleted: {string.Join(", ", changed)}");
    }

    [Fact]
    public void TheTableHasAtLeastTwentyCases() => Assert.True(Cases.Length >= 20);

    [Fact]
    public void VerboseAddsTheStackTrace()
    {
        using var dir = new TempDir();
        var (code, err) = Invoke("eval", "--world", g(dir), "--model", Path.Combine(good.Run, "final"), "--verbose");
        Assert.Equal(2, code);
        Assert.Contains("   at ", err);
        static string g(TempDir d) => d.Sub("missing");
    }
}
