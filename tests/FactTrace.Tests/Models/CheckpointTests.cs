using System.Text.Json;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

public class CheckpointTests
{
    [Theory]
    [InlineData("micro-neox")]
    [InlineData("micro-llama")]
    [InlineData("untied-llama")]
    public void SaveThenLoadIsBitExact(string which)
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var config = which == "untied-llama"
            ? NamedConfigs.Get("micro-llama", ModelTestKit.Vocab) with { TieWordEmbeddings = false }
            : NamedConfigs.Get(which, ModelTestKit.Vocab);
        using var model = ModelFactory.Create(config with { EosTokenId = 2 }, seed: 7);
        HfCheckpoint.Save(model, dir["ckpt"]);

        foreach (var f in new[] { "config.json", "model.safetensors", "generation_config.json" }) Assert.True(File.Exists(Path.Combine(dir["ckpt"], f)), f);
        Assert.Empty(Directory.GetFiles(dir.Path)); // no temp leftovers beside the folder
        using (var file = SafetensorsFile.Open(Path.Combine(dir["ckpt"], "model.safetensors")))
        {
            Assert.Equal(model.state_dict().Keys.Order(), file.Entries.Keys.Order());
            Assert.Equal(config.IsLlama && config.TieWordEmbeddings, !file.Entries.ContainsKey("lm_head.weight") && config.IsLlama);
            Assert.All(file.Entries.Values, e => Assert.Equal("F32", e.Dtype));
        }

        using var loaded = HfCheckpoint.Load(dir["ckpt"]);
        Assert.Equal(model.GetType(), loaded.GetType());
        var a = ModelTestKit.Parameters(model);
        var b = ModelTestKit.Parameters(loaded);
        Assert.Equal(a.Keys, b.Keys);
        foreach (var (name, t) in a) Assert.True(ModelTestKit.BitEqual(t, b[name]), name);
        var ids = ModelTestKit.RandomIds(2, 6, 3);
        using (no_grad()) Assert.True(ModelTestKit.BitEqual(model.forward(ids, null), loaded.forward(ids, null)));

        var saved = ModelConfig.Load(dir["ckpt"]);
        Assert.Equal("float32", saved.TorchDtype);
        Assert.Equal(2, saved.EosTokenId);
        Assert.NotNull(saved.Architectures);
        if (config.IsNeoX) Assert.True(saved.RotaryPct is not null && saved.UseParallelResidual is not null && saved.LayerNormEps is not null);
        else Assert.True(saved.NumKeyValueHeads == 2 && saved.HeadDimField == 16 && saved.RopeTheta is not null && saved.RmsNormEps is not null);
        using var gen = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir["ckpt"], "generation_config.json")));
        Assert.Equal(2, gen.RootElement.GetProperty("eos_token_id").GetInt32());
    }

    [Fact]
    public void SaveRefusesANonEmptyFolderUnlessForced()
    {
        using var dir = new TempDir();
        using var model = ModelTestKit.Micro("neox");
        Directory.CreateDirectory(dir["ckpt"]);
        File.WriteAllText(Path.Combine(dir["ckpt"], "keep.txt"), "x");
        Assert.ThrowsAny<FactTraceException>(() => HfCheckpoint.Save(model, dir["ckpt"]));
        HfCheckpoint.Save(model, dir["ckpt"], force: true);
        Assert.False(File.Exists(Path.Combine(dir["ckpt"], "keep.txt")));
    }

    sealed class FakeTokenizer : ITokenizer
    {
        public int VocabSize => ModelTestKit.Vocab;
        public int? BosId => 1;
        public int EosId => 2;
        public int PadId => 3;
        public IReadOnlyList<int> Encode(string text) => [];
        public IReadOnlyList<TokenSpan> EncodeWithOffsets(string text) => [];
        public string Decode(IEnumerable<int> ids) => "";
        public void Save(string folder) => File.WriteAllText(Path.Combine(folder, "tokenizer.json"), "{}");
    }

    [Fact]
    public void SaveWritesTokenizerFilesAndSpecialIds()
    {
        using var dir = new TempDir();
        using var model = ModelTestKit.Micro("llama");
        HfCheckpoint.Save(model, dir["ckpt"], new FakeTokenizer());
        Assert.True(File.Exists(Path.Combine(dir["ckpt"], "tokenizer.json")));
        var saved = ModelConfig.Load(dir["ckpt"]);
        Assert.Equal((1, 2, 3), (saved.BosTokenId, saved.EosTokenId, saved.PadTokenId));
    }

    [Fact]
    public void HalfPrecisionFilesLoadAsFp32OrKeepTheirDtype()
    {
        using var dir = new TempDir();
        using var model = ModelTestKit.Micro("llama");
        CausalLM half;
        using (NewDisposeScope())
        {
            using (no_grad()) model.to(ScalarType.BFloat16);
            HfCheckpoint.Save(model, dir["bf16"]);
            half = HfCheckpoint.Load(dir["bf16"], ScalarType.BFloat16);
        }
        using var fp32 = HfCheckpoint.Load(dir["bf16"]);
        using var scope = NewDisposeScope();
        Assert.Equal("bfloat16", ModelConfig.Load(dir["bf16"]).TorchDtype);
        var p16 = ModelTestKit.Parameters(half);
        foreach (var (name, t) in ModelTestKit.Parameters(fp32))
        {
            Assert.Equal(ScalarType.Float32, t.dtype);
            Assert.Equal(ScalarType.BFloat16, p16[name].dtype);
            Assert.True(ModelTestKit.BitEqual(t, p16[name].to(ScalarType.Float32)), name);
        }
        using (no_grad())
        {
            var logits = half.forward(ModelTestKit.RandomIds(1, 5, 2), null);
            Assert.Equal(ScalarType.Float32, logits.dtype);
            Assert.False(logits.isnan().any().item<bool>());
        }
        half.Dispose();
    }

    /// <summary>Writes config.json and model.safetensors made of <paramref name="weights"/> into a new folder.</summary>
    static string Folder(TempDir dir, ModelConfig config, Dictionary<string, Tensor> weights, string name = "ckpt")
    {
        var folder = dir[name];
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        Safetensors.Write(Path.Combine(folder, "model.safetensors"), weights);
        return folder;
    }

    [Fact]
    public void MissingUnexpectedAndMisShapedTensorsAreListedByName()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = ModelTestKit.Micro("neox");
        var weights = model.state_dict();
        weights.Remove("gpt_neox.layers.1.mlp.dense_h_to_4h.bias");
        weights.Remove("embed_out.weight");
        weights["gpt_neox.layers.0.attention.dense.weight"] = zeros(64, 32);
        weights["gpt_neox.layers.0.attention.extra"] = zeros(3);
        var folder = Folder(dir, model.Config, weights);
        var e = Assert.ThrowsAny<FactTraceException>(() => HfCheckpoint.Load(folder));
        Assert.Contains("missing: ", e.Message);
        Assert.Contains("gpt_neox.layers.1.mlp.dense_h_to_4h.bias", e.Message);
        Assert.Contains("embed_out.weight", e.Message);
        Assert.Contains("unexpected: gpt_neox.layers.0.attention.extra", e.Message);
        Assert.Contains("gpt_neox.layers.0.attention.dense.weight (file [64, 32], model [64, 64])", e.Message);
    }

    [Fact]
    public void PythiaBuffersAndTiedLmHeadAreSkipped()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var neox = ModelTestKit.Micro("neox");
        var weights = neox.state_dict();
        weights["gpt_neox.layers.0.attention.bias"] = ones(1, 1, 8, 8, dtype: ScalarType.Bool).tril();
        weights["gpt_neox.layers.0.attention.masked_bias"] = tensor(-1e9f);
        weights["gpt_neox.layers.0.attention.rotary_emb.inv_freq"] = ones(2);
        HfCheckpoint.Load(Folder(dir, neox.Config, weights, "neox")).Dispose();

        using var llama = ModelTestKit.Micro("llama");
        var tied = llama.state_dict();
        tied["lm_head.weight"] = llama.InputEmbedding.detach().clone();
        tied["model.layers.0.self_attn.rotary_emb.inv_freq"] = ones(8);
        using var loaded = HfCheckpoint.Load(Folder(dir, llama.Config, tied, "llama"));
        Assert.True(ModelTestKit.BitEqual(llama.InputEmbedding, loaded.InputEmbedding));
    }

    [Fact]
    public void TruncatedWeightsFileIsAClearError()
    {
        using var dir = new TempDir();
        using var model = ModelTestKit.Micro("llama");
        HfCheckpoint.Save(model, dir["ckpt"]);
        var path = Path.Combine(dir["ckpt"], "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.ThrowsAny<FactTraceException>(() => HfCheckpoint.Load(dir["ckpt"]));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void PickleOnlyFolderIsRefused()
    {
        using var dir = new TempDir();
        using var model = ModelTestKit.Micro("neox");
        File.WriteAllText(dir["config.json"], model.Config.ToJson());
        File.WriteAllBytes(dir["pytorch_model.bin"], [0x80, 0x02]);
        var e = Assert.ThrowsAny<FactTraceException>(() => HfCheckpoint.Load(dir.Path));
        Assert.Contains("pickle", e.Message);
    }

    [Fact]
    public void ShardedCheckpointLoads()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        using var model = ModelTestKit.Micro("llama");
        var weights = model.state_dict();
        var names = weights.Keys.Order().ToList();
        var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var map = new Dictionary<string, string>();
        for (var i = 0; i < 2; i++)
        {
            var file = $"model-0000{i + 1}-of-00002.safetensors";
            Safetensors.Write(dir[file], shards[i].ToDictionary(n => n, n => weights[n]));
            foreach (var n in shards[i]) map[n] = file;
        }
        File.WriteAllText(dir["model.safetensors.index.json"], JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        File.WriteAllText(dir["config.json"], model.Config.ToJson());
        Assert.True(HfCheckpoint.IsCheckpointFolder(dir.Path));
        using var loaded = HfCheckpoint.Load(dir.Path);
        var loadedParams = ModelTestKit.Parameters(loaded);
        foreach (var (name, t) in ModelTestKit.Parameters(model)) Assert.True(ModelTestKit.BitEqual(t, loadedParams[name]), name);
    }

    [Fact]
    public void EosTokenIdArrayKeepsTheFirst()
    {
        var json = NamedConfigs.GetPublished("llama-3.2-1b").ToJson().Replace("\"eos_token_id\": 128001", "\"eos_token_id\": [128001, 128008, 128009]");
        Assert.Contains("128008", json);
        Assert.Equal(128001, ModelConfig.Parse(json).EosTokenId);
        Assert.DoesNotContain("pad_token_id", NamedConfigs.GetPublished("llama-3.2-1b").ToJson());
    }
}
