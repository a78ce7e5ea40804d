using FactTrace.Benchmarks;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>Renders a benchmark's <see cref="Printout"/>: tables as Spectre tables, lines as they are.</summary>
public static class BenchPrint
{
    public static void Print(Printout p)
    {
        if (p.RedirectedWidth is { } width && Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, width);
        foreach (var block in p.Blocks)
        {
            if (block is PrintTable t)
            {
                var table = new Table();
                if (t.Title is not null) table.Title = new TableTitle(Markup.Escape(t.Title));
                table.AddColumns([.. t.Columns.Select(Markup.Escape)]);
                foreach (var row in t.Rows) table.AddRow([.. row.Select(Markup.Escape)]);
                AnsiConsole.Write(table);
            }
            else Console.WriteLine(block);
        }
    }

    /// <summary>Progress lines of a long benchmark, on stderr with the time of day.</summary>
    public static void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");
}
