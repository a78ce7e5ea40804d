using System.CommandLine;
using FactTrace.IO;
using FactTrace.Text;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace tokenize --tokenizer PATH [--json] [--special] [--input FILE] [TEXT...]`.</summary>
public static class TokenizeCommand
{
    public static Command Create(TextWriter? stdout = null)
    {
        var tokenizer = new Option<string>("--tokenizer")
        {
            Description = "A tokenizer.json (byte-level BPE, SentencePiece-style BPE or word-level), a tiktoken file, or a model folder.",
            Required = true,
        };
        var input = new Option<string?>("--input") { Description = "Texts from a JSONL file: one JSON string per line (after any TEXT arguments)." };
        var json = new Option<bool>("--json") { Description = "One JSON object per text and line: {\"text\", \"ids\", \"tokens\", \"offsets\"}, in input order." };
        var special = new Option<bool>("--special") { Description = "Add the tokenizer's BOS token first, if it has one (default: no special tokens)." };
        var texts = new Argument<string[]>("text") { Description = "Texts to tokenize.", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("tokenize", "Tokenize texts with a tokenizer file or a model's tokenizer; prints ids (or JSON with tokens and offsets) per text.");
        cmd.Options.Add(tokenizer);
        cmd.Options.Add(input);
        cmd.Options.Add(json);
        cmd.Options.Add(special);
        cmd.Arguments.Add(texts);
        cmd.SetAction(r => Run(r.GetValue(tokenizer)!, r.GetValue(texts) ?? [], r.GetValue(input), r.GetValue(json), r.GetValue(special), stdout ?? Console.Out));
        return cmd;
    }

    static int Run(string tokenizerPath, string[] args, string? input, bool json, bool special, TextWriter output)
    {
        if (args.Length == 0 && input is null) throw FactTraceException.Usage("give texts as arguments or --input FILE");
        var tok = TokenizerLoader.Load(tokenizerPath);
        var all = args.AsEnumerable();
        if (input is not null) all = all.Concat(Tokenization.ReadTexts(input));
        foreach (var text in all)
        {
            var t = Tokenization.Tokenize(tok, text, special);
            output.WriteLine(json ? Json.Serialize(t, indented: false) : string.Join(" ", t.Ids));
        }
        return Cli.Ok;
    }
}
