using System.CommandLine;
using System.Diagnostics;
using FactTrace.World;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace world`: generate a synthetic fact world into a folder and print a summary.</summary>
public static class WorldCommand
{
    public static Command Create()
    {
        var outDir = Common.RequiredPath("--out", "World folder to write (created; must be empty unless --force).");
        var options = new RecordOptions<WorldOptions>(new WorldOptions());
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output folder." };
        var cmd = new Command("world", "Generate a synthetic bioS-style fact world (people, BIOs, QA, tokenizer) into a folder; the same seed and options give byte-identical files.");
        cmd.Options.Add(outDir);
        options.AddTo(cmd);
        cmd.Options.Add(force);
        cmd.SetAction(r =>
        {
            var clock = Stopwatch.StartNew();
            var dir = r.GetValue(outDir)!;
            var world = FactWorld.Create(options.Bind(r), dir, r.GetValue(force));
            PrintSummary(world, dir, clock.Elapsed);
            return Cli.Ok;
        });
        return cmd;
    }

    static void PrintSummary(FactWorld world, string dir, TimeSpan elapsed)
    {
        var c = world.Info.Counts;
        var o = world.Options;
        var table = new Table().Border(TableBorder.Rounded).Title($"world [bold]{Markup.Escape(dir)}[/]");
        table.AddColumn("what");
        table.AddColumn(new TableColumn("count").RightAligned());
        table.AddRow("people (ID / OOD)", $"{c.People:N0} ({c.IdPeople:N0} / {c.OodPeople:N0})");
        table.AddRow($"BIOs ({o.BioVariants} per person{(o.Permute ? ", permuted" : "")}{(o.FullName ? ", full names" : "")})", $"{c.Bios:N0}");
        table.AddRow("QA train / test ID / test OOD", $"{c.QaTrain:N0} / {c.QaTestId:N0} / {c.QaTestOod:N0}");
        table.AddRow("vocabulary", $"{c.VocabSize:N0}");
        table.AddRow("seed", $"{o.Seed}");
        table.AddRow("time", $"{elapsed.TotalSeconds:F1} s");
        AnsiConsole.Write(table);
    }
}
