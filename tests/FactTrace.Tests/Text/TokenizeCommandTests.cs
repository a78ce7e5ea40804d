using System.CommandLine;
using System.Text.Json;
using FactTrace.Cli.Commands;
using FactTrace.Tests.Models;
using FactTrace.Text;

namespace FactTrace.Tests.Text;

/// <summary>`facttrace tokenize`: ids per text, or JSON with tokens and offsets; texts from arguments or a JSONL file.</summary>
public class TokenizeCommandTests
{
    static string Stories() => Path.Combine(Path.GetDirectoryName(ModelTestKit.GoldenRoot()!)!, "pretrained", "stories260K");

    static (int Code, string Out, string Error) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var err = new StringWriter();
        var root = new RootCommand("t");
        root.Options.Add(global::FactTrace.Cli.Cli.Verbose);
        root.Subcommands.Add(TokenizeCommand.Create(stdout));
        var code = global::FactTrace.Cli.Cli.Run(root, args, err);
        return (code, stdout.ToString(), err.ToString());
    }

    [Fact]
    public void PrintsIdsOrJsonInInputOrderFromArgumentsThenTheFile()
    {
        var tok = TokenizerLoader.Load(Stories());
        var (code, output, err) = Run("tokenize", "--tokenizer", Stories(), "Once upon a time", "Lily ran");
        Assert.True(code == 0, err);
        Assert.Equal([string.Join(" ", tok.Encode("Once upon a time")), string.Join(" ", tok.Encode("Lily ran"))], output.TrimEnd().Split('\n'));

        using var tmp = new TempDir();
        var file = tmp.Sub("texts.jsonl");
        File.WriteAllLines(file, ["\"café 😀\"", "", "\"x<s>y\""]);
        (code, output, err) = Run("tokenize", "--tokenizer", Path.Combine(Stories(), "tokenizer.json"), "--json", "--special", "first", "--input", file);
        Assert.True(code == 0, err);
        var lines = output.TrimEnd().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["first", "café 😀", "x<s>y"], lines.Select(l => l.GetProperty("text").GetString()));
        var x = lines[2];
        Assert.Equal([1, 410, 444, 1, 348], x.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()));   // BOS, then HF's ids
        Assert.Equal(["<s>", "▁", "x", "<s>", "▁y"], x.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal([[0, 0], [0, 0], [0, 1], [1, 4], [4, 5]], x.GetProperty("offsets").EnumerateArray().Select(o => o.EnumerateArray().Select(i => i.GetInt32()).ToArray()));
        Assert.Contains("<0xF0>", lines[1].GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));   // the emoji by byte fallback
    }

    [Fact]
    public void BadInputIsOneLineNamingTheFileAndLine()
    {
        using var tmp = new TempDir();
        var file = tmp.Sub("bad.jsonl");
        File.WriteAllLines(file, ["\"ok\"", "{\"text\": 1}"]);
        var (code, _, err) = Run("tokenize", "--tokenizer", Stories(), "--input", file);
        Assert.Equal(1, code);
        Assert.Contains("bad.jsonl line 2: not a JSON string", err);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Equal(2, Run("tokenize", "--tokenizer", tmp.Sub("missing.json"), "x").Code);
        Assert.Equal(2, Run("tokenize", "--tokenizer", Stories(), "--input", tmp.Sub("none.jsonl")).Code);
        Assert.Equal(2, Run("tokenize", "--tokenizer", Stories()).Code);
    }
}
