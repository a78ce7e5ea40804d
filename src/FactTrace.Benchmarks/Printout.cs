namespace FactTrace.Benchmarks;

/// <summary>
/// What a bench command prints, in order: tables and plain lines. The benchmarks decide the content (columns, number
/// formats, notes); the CLI only renders it (tables as Spectre tables), so every bench verb is parse, run, print.
/// </summary>
public sealed class Printout
{
    readonly List<object> blocks = [];

    /// <summary>Tables and lines in print order: each a <see cref="PrintTable"/> or a string.</summary>
    public IReadOnlyList<object> Blocks => blocks;

    /// <summary>
    /// The console width to assume when output is redirected (a log, a pipe), where it would otherwise be 80 columns
    /// and wide tables would wrap; null = the console's own.
    /// </summary>
    public int? RedirectedWidth { get; init; }

    public Printout Line(string text)
    {
        blocks.Add(text);
        return this;
    }

    public PrintTable Table(string? title, params string[] columns)
    {
        var t = new PrintTable(title, columns);
        blocks.Add(t);
        return t;
    }
}

/// <summary>What a bench verb returns: its <see cref="Printout"/>, and whether it passed (a missed target exits 1).</summary>
public interface IBenchResult
{
    Printout Print();
    bool Passed => true;
}

/// <summary>A table of plain text (no markup): a title, the column headers and the rows.</summary>
public sealed class PrintTable(string? title, IReadOnlyList<string> columns)
{
    readonly List<IReadOnlyList<string>> rows = [];

    public string? Title { get; } = title;
    public IReadOnlyList<string> Columns { get; } = columns;
    public IReadOnlyList<IReadOnlyList<string>> Rows => rows;

    public PrintTable Row(params string[] cells)
    {
        if (cells.Length != Columns.Count)
            throw new ArgumentException($"a row of {cells.Length} cells in a table of {Columns.Count} columns");
        rows.Add(cells);
        return this;
    }
}
