using System.CommandLine;
using System.Globalization;
using FactTrace.IO;
using FactTrace.Models;
using Spectre.Console;
using SpectreText = Spectre.Console.Text;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace inspect MODEL [--json]`: architecture and parameter counts from a config, without weights.</summary>
public static class InspectCommand
{
    public static Command Create(TextWriter? stdout = null)
    {
        var model = new Argument<string>("model")
        {
            Description = $"A config.json, an HF checkpoint folder (its config.json), or a named config ({string.Join(", ", NamedConfigs.TinyNames.Concat(NamedConfigs.PublishedNames))}).",
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of tables." };
        var vocab = new Option<int>("--vocab")
        {
            Description = "Vocabulary size for a from-scratch shape (tiny-neox, tiny-llama, ...), whose vocabulary comes from a world.",
            DefaultValueFactory = _ => ModelSummary.DefaultTinyVocab,
        };
        var cmd = new Command("inspect", "Show a model's architecture, parameter counts and per-module table from its config (no weights are loaded).");
        cmd.Arguments.Add(model);
        cmd.Options.Add(json);
        cmd.Options.Add(vocab);
        cmd.SetAction(r => Run(r.GetValue(model)!, r.GetValue(json), Cli.Positive(r, vocab), stdout ?? Console.Out));
        return cmd;
    }

    static int Run(string model, bool json, int tinyVocab, TextWriter output)
    {
        var s = ModelSummary.Of(model, tinyVocab);
        if (json)
        {
            output.WriteLine(Json.Serialize(s));
            return Cli.Ok;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = output == Console.Out ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = output == Console.Out ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (output != Console.Out || Console.IsOutputRedirected) console.Profile.Width = 160;
        static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

        var head = new Table().HideHeaders().AddColumn("field").AddColumn(new TableColumn("value").RightAligned());
        void Row(string k, string v) => head.AddRow(new SpectreText(k), new SpectreText(v));
        Row("model", s.Source);
        Row("architecture", s.Architecture is null ? s.ModelType : $"{s.ModelType} ({s.Architecture})");
        Row("layers", N(s.Layers));
        Row("heads", N(s.Heads));
        Row("kv heads", N(s.KvHeads));
        Row("head dim", N(s.HeadDim));
        Row("hidden", N(s.HiddenSize));
        Row("intermediate", N(s.IntermediateSize));
        Row("vocab", N(s.VocabSize));
        Row("tied embeddings", s.TieWordEmbeddings ? "yes" : "no");
        Row("parameters", N(s.Parameters));
        Row("non-embedding", N(s.NonEmbeddingParameters));
        console.Write(head);

        var modules = new Table().Title("parameters by module")
            .AddColumn("module").AddColumn("component").AddColumn("shape")
            .AddColumn(new TableColumn("count").RightAligned()).AddColumn(new TableColumn("parameters").RightAligned());
        foreach (var m in s.Modules)
            modules.AddRow(new SpectreText(m.Name), new SpectreText(m.Component), new SpectreText($"[{string.Join(", ", m.Shape)}]"),
                new SpectreText(m.Count == 1 ? "1" : $"× {m.Count}"), new SpectreText(N(m.Parameters)));
        console.Write(modules);

        var comps = new Table().Title("parameters by component")
            .AddColumn("component").AddColumn(new TableColumn("parameters").RightAligned()).AddColumn(new TableColumn("share").RightAligned());
        foreach (var (c, n) in s.Components)
            comps.AddRow(new SpectreText(c), new SpectreText(N(n)), new SpectreText((100.0 * n / s.Parameters).ToString("F1", CultureInfo.InvariantCulture) + "%"));
        console.Write(comps);
        return Cli.Ok;
    }
}
