using ScottPlot;

namespace FactTrace.Reporting;

/// <summary>One line of a line chart: points with optional error bars (sd), drawn solid or dashed.</summary>
public sealed record Series(string Name, double[] X, double[] Y, double[]? Error = null, int ColorIndex = 0, bool Dashed = false);

/// <summary>A vertical marker on a line chart (e.g. where two-stage's QA stage starts).</summary>
public sealed record Marker(double X, string Label);

/// <summary>
/// The report's PNG figures, drawn with ScottPlot 5: generic chart shapes with titles, axis labels (with units) and
/// legends. Missing values are NaN: a NaN bar is left out, a NaN heatmap cell is drawn in light grey.
/// </summary>
public static class Figures
{
    public const int Width = 1000, Height = 540;

    static readonly Color[] Palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#d62728"), Color.FromHex("#2ca02c"), Color.FromHex("#ff7f0e"),
        Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f"),
    ];

    public static Color ColorOf(int i) => Palette[((i % Palette.Length) + Palette.Length) % Palette.Length];

    static readonly Lazy<string> Font = new(() =>
    {
        foreach (var name in new[] { "DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica" })
            if (Fonts.GetTypeface(name, false, false) is { } tf && tf.FamilyName == name) return name;
        return Fonts.Default;
    });

    static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var p = new Plot();
        p.Font.Set(Font.Value);
        p.Title(title, size: 18);
        p.XLabel(xLabel, size: 15);
        p.YLabel(yLabel, size: 15);
        return p;
    }

    /// <summary>
    /// Lines with markers (and error bars where given); optional vertical markers, fixed x ticks, and a log10 y axis
    /// (values &lt;= 0 are left out there; error bars become asymmetric).
    /// </summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series,
        IReadOnlyList<Marker>? markers = null, (double Min, double Max)? yRange = null,
        (double[] Positions, string[] Labels)? xTicks = null, bool logY = false)
    {
        var plot = NewPlot(title, xLabel, yLabel);
        foreach (var s in series)
        {
            var color = ColorOf(s.ColorIndex);
            var keep = Enumerable.Range(0, s.X.Length).Where(i => double.IsFinite(s.Y[i]) && (!logY || s.Y[i] > 0)).ToList();
            if (keep.Count == 0) continue;
            double[] xs = [.. keep.Select(i => s.X[i])], ys = [.. keep.Select(i => logY ? Math.Log10(s.Y[i]) : s.Y[i])];
            var sc = plot.Add.Scatter(xs, ys, color);
            sc.LegendText = s.Name;
            sc.LineWidth = 2;
            sc.MarkerSize = 7;
            if (s.Dashed)
            {
                sc.LinePattern = LinePattern.Dashed;
                sc.MarkerShape = MarkerShape.OpenSquare;
                sc.MarkerSize = 9;
            }
            if (s.Error is { } err && keep.Any(i => err[i] > 0))
            {
                double[] up, down;
                if (logY)
                {
                    up = [.. keep.Select(i => Math.Log10(s.Y[i] + Math.Max(0, err[i])) - Math.Log10(s.Y[i]))];
                    down = [.. keep.Select(i => s.Y[i] - err[i] > 0 ? Math.Log10(s.Y[i]) - Math.Log10(s.Y[i] - err[i]) : 0)];
                }
                else up = down = [.. keep.Select(i => Math.Max(0, err[i]))];
                var eb = new ScottPlot.Plottables.ErrorBar(xs, ys, null, null, down, up)
                {
                    XErrorNegative = null, XErrorPositive = null, YErrorNegative = down, YErrorPositive = up, LineColor = color,
                };
                plot.Add.Plottable(eb);
            }
        }
        foreach (var m in markers ?? [])
        {
            var v = plot.Add.VerticalLine(m.X, 1.5f, Colors.Gray, LinePattern.Dotted);
            v.LegendText = m.Label;
        }
        if (xTicks is { } t)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(t.Positions, t.Labels);
            var span = t.Positions.Length > 1 ? t.Positions.Max() - t.Positions.Min() : 1;
            plot.Axes.SetLimitsX(t.Positions.Min() - 0.08 * span, t.Positions.Max() + 0.08 * span);
        }
        if (logY)
        {
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                IntegerTicksOnly = true,
                LabelFormatter = y => Math.Pow(10, y).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            };
        }
        if (yRange is { } r) plot.Axes.SetLimitsY(r.Min, r.Max);
        plot.ShowLegend(Edge.Right); // outside the data area: curves rise into every corner
        plot.SavePng(path, Width, Height);
    }

    /// <summary>
    /// Grouped bars: one group per <paramref name="groups"/> entry, one bar per series inside each group, with error
    /// bars where <paramref name="errors"/> is positive. <paramref name="references"/>: per group, a short black line
    /// across the group (e.g. a chance baseline), labelled once in the legend.
    /// </summary>
    public static void GroupedBars(string path, string title, string yLabel, IReadOnlyList<string> groups,
        IReadOnlyList<string> seriesNames, double[,] values, double[,]? errors = null, double[]? references = null,
        string? referenceLabel = null, (double Min, double Max)? yRange = null, string xLabel = "", int[]? colorIndex = null)
    {
        var plot = NewPlot(title, xLabel, yLabel);
        int g = groups.Count, n = seriesNames.Count;
        const double groupWidth = 0.8;
        double barWidth = groupWidth / Math.Max(1, n);
        for (int j = 0; j < n; j++)
        {
            var color = ColorOf(colorIndex?[j] ?? j);
            var bars = new List<Bar>();
            for (int i = 0; i < g; i++)
            {
                var v = values[i, j];
                if (double.IsNaN(v)) continue;
                var e = errors is null ? 0 : errors[i, j];
                bars.Add(new Bar
                {
                    Position = i - groupWidth / 2 + barWidth * (j + 0.5), Value = v, Size = barWidth * 0.92,
                    Error = double.IsFinite(e) && e > 0 ? e : 0, FillColor = color, LineWidth = 0,
                });
            }
            if (bars.Count == 0) continue;
            plot.Add.Bars(bars);
            // Error bars drawn on their own (a Bar draws its error with its outline width, which is 0 here).
            var withError = bars.Where(b => b.Error > 0).ToList();
            if (withError.Count > 0)
            {
                double[] xs = [.. withError.Select(b => b.Position)], ys = [.. withError.Select(b => b.Value)], err = [.. withError.Select(b => b.Error)];
                plot.Add.Plottable(new ScottPlot.Plottables.ErrorBar(xs, ys, null, null, err, err)
                {
                    XErrorNegative = null, XErrorPositive = null, YErrorNegative = err, YErrorPositive = err,
                    LineColor = Colors.Black, LineWidth = 1.5f, CapSize = 6,
                });
            }
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = seriesNames[j], FillColor = color });
        }
        if (references is not null)
        {
            bool labelled = false;
            for (int i = 0; i < g && i < references.Length; i++)
            {
                if (double.IsNaN(references[i])) continue;
                var line = plot.Add.Line(i - groupWidth / 2, references[i], i + groupWidth / 2, references[i]);
                line.LineWidth = 3;
                line.LineColor = Colors.Black;
                line.LinePattern = LinePattern.Dashed;
                if (!labelled && referenceLabel is not null)
                {
                    plot.Legend.ManualItems.Add(new LegendItem { LabelText = referenceLabel, LineColor = Colors.Black, LineWidth = 3, LinePattern = LinePattern.Dashed });
                    labelled = true;
                }
            }
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, g).Select(i => (double)i).ToArray(), groups.ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.SetLimitsX(-0.6, g - 0.4);
        if (yRange is { } r) plot.Axes.SetLimitsY(r.Min, r.Max);
        else plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Edge.Right);
        plot.SavePng(path, Width, Height);
    }

    /// <summary>
    /// Two heatmaps side by side on one colour scale (0 to the larger maximum), one colour bar. Row 0 is drawn at the
    /// top. NaN cells (nothing there) are light grey; a panel with no number at all says "no data".
    /// </summary>
    public static void HeatmapPair(string path, string title, string leftTitle, string rightTitle, double[,] left, double[,] right,
        IReadOnlyList<string> rowLabels, IReadOnlyList<string> colLabels, string rowAxis, string colAxis, string scaleLabel)
    {
        double max = 0;
        foreach (var m in new[] { left, right })
            foreach (var v in m)
                if (!double.IsNaN(v)) max = Math.Max(max, v);
        if (max <= 0) max = 1;
        var multi = new Multiplot();
        multi.AddPlots(2);
        multi.Layout = new ScottPlot.MultiplotLayouts.Columns();
        ScottPlot.Plottables.Heatmap? last = null;
        foreach (var (k, data, sub) in new[] { (0, left, leftTitle), (1, right, rightTitle) })
        {
            var plot = multi.GetPlot(k);
            plot.Font.Set(Font.Value);
            int rows = data.GetLength(0), cols = data.GetLength(1);
            if (data.Cast<double>().All(double.IsNaN))
            {
                // ScottPlot cannot scale a heatmap without a number (one strategy has no trace): say so in the panel.
                var text = plot.Add.Text("no data", (cols - 1) / 2.0, (rows - 1) / 2.0);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = 15;
            }
            else
            {
                var hm = plot.Add.Heatmap(data);
                hm.Colormap = new ScottPlot.Colormaps.Viridis();
                hm.ManualRange = new ScottPlot.Range(0, max);
                hm.NaNCellColor = Color.FromHex("#e8e8e8");
                last = hm;
            }
            plot.Title($"{title}\n{sub}", size: 15);
            plot.XLabel(colAxis, size: 13);
            plot.YLabel(rowAxis, size: 13);
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, rows).Select(i => (double)(rows - 1 - i)).ToArray(), rowLabels.ToArray());
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, cols).Select(i => (double)i).ToArray(), colLabels.ToArray());
            plot.Axes.SetLimits(-0.5, cols - 0.5, -0.5, rows - 0.5);
        }
        if (last is not null)
        {
            var bar = multi.GetPlot(1).Add.ColorBar(last);
            bar.Label = scaleLabel;
            bar.LabelStyle.FontSize = 13;
        }
        multi.SavePng(path, Width + 300, Height + 60);
    }
}
