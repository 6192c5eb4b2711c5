using Recurrent.Serialization;
using ScottPlot;

namespace Recurrent.Cli;

/// <summary>One named line of a <see cref="LineChart"/>: points (X[i], Y[i]); non-finite Y values leave a gap.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y)
{
    /// <summary>Index into the chart's palette (null: the series' own position), so related series can share a colour.</summary>
    public int? Color { get; init; }

    /// <summary>Draw the line dashed.</summary>
    public bool Dashed { get; init; }

    /// <summary>Y against 0, 1, 2, … (e.g. a loss per training step).</summary>
    public static Series Indexed(string name, IReadOnlyList<double> y) =>
        new(name, Enumerable.Range(0, y.Count).Select(i => (double)i).ToArray(), y);
}

/// <summary>
/// Line chart with several series and a legend. With <see cref="LogY"/> the y values are
/// drawn as log10(y) with ticks labelled as powers of ten and logarithmic minor ticks, so a
/// loss or a gradient norm spanning decades stays readable; values ≤ 0 then leave a gap.
/// </summary>
public sealed class LineChart(string title, string xLabel, string yLabel)
{
    private readonly List<Series> _series = [];
    private readonly List<(string Name, double Y)> _references = [];

    public bool LogY { get; init; }

    /// <summary>Where the legend goes (upper right unless said).</summary>
    public Alignment LegendAt { get; init; } = Alignment.UpperRight;

    /// <summary>X values are dates (<see cref="DateTime.ToOADate"/>), labelled as such.</summary>
    public bool DateAxis { get; init; }

    public LineChart Add(Series series)
    {
        if (series.X.Count != series.Y.Count)
            throw new ArgumentException($"Series '{series.Name}' has {series.X.Count} x values and {series.Y.Count} y values.", nameof(series));
        _series.Add(series);
        return this;
    }

    /// <summary>A dashed horizontal reference line (e.g. a baseline loss), named in the legend.</summary>
    public LineChart AddReference(string name, double y)
    {
        _references.Add((name, y));
        return this;
    }

    /// <summary>Renders to PNG and writes it atomically (temporary file, then rename).</summary>
    public void SavePng(string path, int width = 900, int height = 560)
    {
        using var plot = new Plot();
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(LogY ? yLabel + " (log scale)" : yLabel);
        var palette = new ScottPlot.Palettes.Category10();
        for (int s = 0; s < _series.Count; s++)
        {
            var color = palette.GetColor(_series[s].Color ?? s);
            bool first = true;
            foreach (var (xs, ys) in Segments(_series[s]))
            {
                var line = xs.Length == 1 ? plot.Add.ScatterPoints(xs, ys, color) : plot.Add.ScatterLine(xs, ys, color);
                line.LineWidth = 2;
                if (_series[s].Dashed) line.LinePattern = LinePattern.Dashed;
                if (first) line.LegendText = _series[s].Name;
                first = false;
            }
        }
        foreach (var (name, y) in _references)
        {
            double v = Transform(y);
            if (!double.IsFinite(v)) continue;
            var line = plot.Add.HorizontalLine(v, 1.5f, Colors.Gray, LinePattern.Dashed);
            line.LegendText = name;
        }
        if (LogY)
        {
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                IntegerTicksOnly = true,
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                LabelFormatter = PowerOfTen,
            };
        }
        if (DateAxis)
        {
            plot.Axes.DateTimeTicksBottom();
            plot.XLabel(xLabel);   // the date axis replaces the bottom axis and its label
        }
        if (_series.Count + _references.Count > 1) plot.ShowLegend(LegendAt);
        ChartFile.Save(plot, path, width, height);
    }

    private double Transform(double y) => !LogY ? y : y > 0 ? Math.Log10(y) : double.NaN;

    /// <summary>Splits a series at non-finite values into runs of drawable points.</summary>
    private IEnumerable<(double[] X, double[] Y)> Segments(Series series)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (int i = 0; i <= series.Y.Count; i++)
        {
            double y = i < series.Y.Count ? Transform(series.Y[i]) : double.NaN;
            double x = i < series.X.Count ? series.X[i] : double.NaN;
            if (double.IsFinite(y) && double.IsFinite(x)) { xs.Add(x); ys.Add(y); continue; }
            if (xs.Count > 0) yield return (xs.ToArray(), ys.ToArray());
            xs.Clear();
            ys.Clear();
        }
    }

    internal static string PowerOfTen(double exponent)
    {
        int e = (int)Math.Round(exponent);
        return e switch { 0 => "1", 1 => "10", -1 => "0.1", _ => "1e" + e.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }
}

/// <summary>
/// Heatmap of a matrix with a colour bar: <c>values[row, column]</c> is drawn at x = column
/// (from <paramref name="xMin"/> to <paramref name="xMax"/>) and y = row (row 0 at the bottom,
/// from <paramref name="yMin"/> to <paramref name="yMax"/>). NaN cells are drawn light grey.
/// </summary>
public sealed class HeatmapChart(string title, string xLabel, string yLabel, string colorBarLabel,
    double[,] values, double xMin, double xMax, double yMin, double yMax)
{
    /// <summary>Fixed colour range (for several heatmaps compared side by side); null for the data's own range.</summary>
    public (double Min, double Max)? ColorRange { get; init; }

    public void SavePng(string path, int width = 900, int height = 560)
    {
        using var plot = new Plot();
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (!values.Cast<double>().Any(double.IsFinite))
        {
            // Nothing to colour (e.g. every value overflowed): an empty frame that says so.
            plot.Title(title + " (no finite values)");
            plot.Axes.SetLimits(xMin, xMax, yMin, yMax);
            ChartFile.Save(plot, path, width, height);
            return;
        }
        plot.Title(title);
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.FlipVertically = true;   // row 0 at the bottom
        heatmap.Extent = new CoordinateRect(xMin, xMax, yMin, yMax);
        heatmap.NaNCellColor = Colors.LightGray;
        if (ColorRange is { } range) heatmap.ManualRange = new ScottPlot.Range(range.Min, range.Max);
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = colorBarLabel;
        plot.Axes.Margins(0, 0);
        ChartFile.Save(plot, path, width, height);
    }
}

internal static class ChartFile
{
    /// <summary>Renders <paramref name="plot"/> to PNG bytes and writes them next to <paramref name="path"/>, then renames over it.</summary>
    public static void Save(Plot plot, string path, int width, int height)
    {
        if (width < 16 || height < 16) throw new ArgumentOutOfRangeException(nameof(width), $"A chart must be at least 16×16 pixels; got {width}×{height}.");
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ImageFormat.Png));
    }
}

/// <summary>
/// A confusion matrix: rows are the true classes (first at the top), columns the predicted ones;
/// each cell is coloured by the fraction of its row (recall) and shows its count.
/// </summary>
public sealed class ConfusionChart(string title, IReadOnlyList<string> labels, long[,] counts)
{
    public void SavePng(string path)
    {
        int K = labels.Count;
        var fractions = new double[K, K];
        for (int i = 0; i < K; i++)
        {
            long row = 0;
            for (int j = 0; j < K; j++) row += counts[i, j];
            for (int j = 0; j < K; j++) fractions[i, j] = row == 0 ? double.NaN : (double)counts[i, j] / row;
        }
        using var plot = new Plot();
        plot.Title(title);
        plot.XLabel("predicted");
        plot.YLabel("true");
        var heatmap = plot.Add.Heatmap(fractions);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Rectangle = new CoordinateRect(0, K, 0, K);   // the cells' outer edges: cell (i, j) spans x j..j+1, y K−1−i..K−i: row 0 at the top
        heatmap.NaNCellColor = Colors.LightGray;
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        plot.Add.ColorBar(heatmap).Label = "fraction of the true class";
        var positions = Enumerable.Range(0, K).Select(k => k + 0.5).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. labels]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions.Select(p => K - p).ToArray(), [.. labels]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 90;
        if (K <= 30)
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++)
                {
                    if (counts[i, j] == 0) continue;
                    var text = plot.Add.Text(counts[i, j].ToString(System.Globalization.CultureInfo.InvariantCulture), j + 0.5, K - 0.5 - i);
                    text.LabelAlignment = Alignment.MiddleCenter;
                    text.LabelFontSize = K > 12 ? 9 : 12;
                    text.LabelFontColor = fractions[i, j] > 0.5 ? Colors.Black : Colors.White;
                }
        plot.Axes.Margins(0, 0);
        int size = Math.Clamp(140 + 38 * K, 420, 1200);
        ChartFile.Save(plot, path, size + 160, size);
    }
}
