using System.CommandLine;
using System.Diagnostics;
using FactTrace.IO;
using FactTrace.World;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace world`: generate a synthetic fact world into a folder and print a summary.</summary>
public static class WorldCommand
{
    public static Command Create()
    {
        var defaults = new WorldOptions();
        var outDir = new Option<string>("--out") { Description = "World folder to write (created; must be empty unless --force).", Required = true };
        var people = new Option<int>("--people") { Description = "Number of people.", DefaultValueFactory = _ => defaults.People };
        var seed = new Option<long>("--seed") { Description = "Random seed: same seed and options give byte-identical files.", DefaultValueFactory = _ => defaults.Seed };
        var idFraction = new Option<double>("--id-fraction")
        {
            Description = "Fraction of people whose QA is trained on (in-distribution); the rest are out-of-distribution.",
            DefaultValueFactory = _ => defaults.IdFraction,
        };
        var bioVariants = new Option<int>("--bio-variants") { Description = "Independently templated BIOs per person.", DefaultValueFactory = _ => defaults.BioVariants };
        var permute = new Option<bool>("--permute") { Description = "Shuffle the sentence order of each BIO." };
        var fullName = new Option<bool>("--fullname") { Description = "Full name in every BIO sentence (default: pronoun after the first)." };
        var force = new Option<bool>("--force") { Description = "Replace a non-empty output folder." };

        var cmd = new Command("world", "Generate a synthetic bioS-style fact world (people, BIOs, QA, tokenizer) into a folder.");
        foreach (var o in new Option[] { outDir, people, seed, idFraction, bioVariants, permute, fullName, force }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var options = new WorldOptions(r.GetValue(people), r.GetValue(seed), r.GetValue(idFraction), r.GetValue(bioVariants),
                r.GetValue(permute), r.GetValue(fullName)).Validate(Pools.Default);
            var dir = r.GetValue(outDir)!;
            // Refuse a bad folder before spending time on generation; Save checks again and writes atomically.
            OutputFolder.CheckWritable(dir, r.GetValue(force), "world folder");
            var clock = Stopwatch.StartNew();
            var world = FactWorld.Generate(options);
            world.Save(dir, r.GetValue(force));
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
