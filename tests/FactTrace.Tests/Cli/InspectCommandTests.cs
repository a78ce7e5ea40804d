using System.CommandLine;
using System.Text.Json;
using FactTrace.Cli.Commands;
using FactTrace.Models;
using FactTrace.Tests.Text;
using CliCore = FactTrace.Cli.Cli;

namespace FactTrace.Tests.Cli;

public class InspectCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var root = new RootCommand("test");
        root.Options.Add(CliCore.Verbose);
        root.Subcommands.Add(InspectCommand.Create(stdout));
        var code = CliCore.Run(root, args, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    static JsonElement Json(string s) => JsonDocument.Parse(s).RootElement;

    [Theory]
    [InlineData("pythia-70m", "gpt_neox", 70_426_624L, 18_915_328L, 6, 8, 8, 64)]
    [InlineData("llama-3.2-1b", "llama", 1_235_814_400L, 973_146_112L, 16, 32, 8, 64)]
    [InlineData("meta-llama/Llama-3.2-3B", "llama", 3_212_749_824L, 2_818_747_392L, 28, 24, 8, 128)]
    public void JsonCountsForNamedConfigs(string model, string type, long total, long nonEmbedding, int layers, int heads, int kv, int headDim)
    {
        var (code, output, err) = Run("inspect", model, "--json");
        Assert.True(code == 0, err);
        var j = Json(output);
        Assert.Equal(type, j.GetProperty("model_type").GetString());
        Assert.Equal(total, j.GetProperty("parameters").GetInt64());
        Assert.Equal(nonEmbedding, j.GetProperty("non_embedding_parameters").GetInt64());
        Assert.Equal(layers, j.GetProperty("layers").GetInt32());
        Assert.Equal(heads, j.GetProperty("heads").GetInt32());
        Assert.Equal(kv, j.GetProperty("kv_heads").GetInt32());
        Assert.Equal(headDim, j.GetProperty("head_dim").GetInt32());
        Assert.Equal(total, j.GetProperty("modules").EnumerateArray().Sum(m => m.GetProperty("parameters").GetInt64()));
    }

    [Fact]
    public void ConfigFileAndFolderGiveTheSameCounts()
    {
        using var dir = new TempDir();
        Assert.True(NamedConfigs.TryGetPublished("llama-3.2-1b", out var config));
        File.WriteAllText(dir.File("config.json"), config.ToJson());
        var (code1, out1, err1) = Run("inspect", dir.File("config.json"), "--json");
        Assert.True(code1 == 0, err1);
        var (code2, out2, _) = Run("inspect", dir.Path, "--json");
        Assert.Equal(0, code2);
        Assert.Equal(1_235_814_400L, Json(out1).GetProperty("parameters").GetInt64());
        Assert.Equal(Json(out1).GetProperty("parameters").GetInt64(), Json(out2).GetProperty("parameters").GetInt64());
        Assert.DoesNotContain(Json(out1).GetProperty("modules").EnumerateArray(), m => m.GetProperty("name").GetString() == "lm_head.weight");
    }

    [Fact]
    public void HumanOutputHasTheTables()
    {
        var (code, output, err) = Run("inspect", "pythia-70m");
        Assert.True(code == 0, err);
        Assert.Contains("70,426,624", output);
        Assert.Contains("18,915,328", output);
        Assert.Contains("gpt_neox.layers.*.attention.query_key_value.weight", output);
        Assert.Contains("attn_q+attn_k+attn_v", output);
    }

    [Fact]
    public void UsageErrorsExitTwoWithOneLine()
    {
        using var dir = new TempDir();
        foreach (var args in new[] { new[] { "inspect", dir.File("missing.json") }, ["inspect", dir.Path], ["inspect", "pythia-12b"], ["inspect"] })
        {
            var (code, output, err) = Run(args);
            Assert.Equal(2, code);
            Assert.Equal("", output);
            Assert.Single(err.TrimEnd('\n').Split('\n'));
            Assert.StartsWith("error: ", err);
        }
    }

    [Theory]
    [InlineData("""{"model_type": "gpt2", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2}""", "model_type")]
    [InlineData("""{"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 3}""", "num_key_value_heads")]
    [InlineData("{ nope", "not valid JSON")]
    public void BadConfigIsAOneLineError(string json, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), json);
        var (code, output, err) = Run("inspect", dir.Path, "--json");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Single(err.TrimEnd('\n').Split('\n'));
        Assert.Contains(expected, err);
    }
}
