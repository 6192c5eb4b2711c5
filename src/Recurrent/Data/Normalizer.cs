namespace Recurrent.Data;

/// <summary>
/// Standardizes the columns of a time series, <c>x' = (x − mean) / std</c>, with each column's
/// mean and population standard deviation computed from the training rows only (rows
/// <c>[0, TrainEnd)</c> of a <see cref="TimeSeriesSplit"/>), so nothing about the validation or
/// test period leaks into training. <see cref="Invert"/> maps a model's (normalized) predictions
/// back to the series' units. A column that is constant over the training rows gets std 1; a
/// column not chosen for normalization gets mean 0 and std 1 (left as it is, e.g. one-hot columns).
/// </summary>
public sealed class Normalizer
{
    private Normalizer(string[] columns, float[] mean, float[] std) => (Columns, Mean, Std) = (columns, mean, std);

    /// <summary>The series' columns, in order.</summary>
    public string[] Columns { get; }

    /// <summary>Per column of <see cref="Columns"/>, the mean over the training rows (0 for a column not normalized).</summary>
    public float[] Mean { get; }

    /// <summary>Per column of <see cref="Columns"/>, the population standard deviation over the training rows; 1 for a column that is constant there or not normalized.</summary>
    public float[] Std { get; }

    /// <summary>
    /// Statistics of rows <c>[0, trainEnd)</c> of <paramref name="series"/> for
    /// <paramref name="columns"/> (null: every column).
    /// </summary>
    public static Normalizer Fit(TimeSeries series, int trainEnd, IReadOnlyList<string>? columns = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (trainEnd < 1 || trainEnd > series.Rows)
            throw new ArgumentOutOfRangeException(nameof(trainEnd), trainEnd, $"The training rows must be 1..{series.Rows}.");
        int width = series.ColumnCount;
        var mean = new float[width];
        var std = new float[width];
        std.AsSpan().Fill(1);
        foreach (int c in (columns ?? series.Columns).Select(series.ColumnIndex))
        {
            double sum = 0, squares = 0;
            for (int r = 0; r < trainEnd; r++) sum += series.Values[r * width + c];
            double m = sum / trainEnd;
            for (int r = 0; r < trainEnd; r++)
            {
                double d = series.Values[r * width + c] - m;
                squares += d * d;
            }
            double s = Math.Sqrt(squares / trainEnd);
            mean[c] = (float)m;
            std[c] = s > 1e-12 * Math.Max(1, Math.Abs(m)) ? (float)s : 1;
        }
        return new Normalizer(series.Columns.ToArray(), mean, std);
    }

    /// <summary>A standardized copy of <paramref name="series"/> (which must have this normalizer's columns).</summary>
    public TimeSeries Apply(TimeSeries series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (!series.Columns.SequenceEqual(Columns))
            throw new ArgumentException($"The series' columns ({string.Join(", ", series.Columns)}) are not the normalizer's ({string.Join(", ", Columns)}).", nameof(series));
        var values = series.Values.ToArray();
        Apply(Columns, values);
        return new TimeSeries(series.Dates.ToArray(), series.Columns.ToArray(), values, series.Warnings, series.Filled?.ToArray());
    }

    /// <summary>Standardizes <paramref name="values"/> in place, row-major [n, columns.Count].</summary>
    public void Apply(IReadOnlyList<string> columns, Span<float> values) => Transform(columns, values, invert: false);

    /// <summary>Maps standardized <paramref name="values"/> (row-major [n, columns.Count], e.g. a forecast [h, TargetColumns]) back to the series' units, in place.</summary>
    public void Invert(IReadOnlyList<string> columns, Span<float> values) => Transform(columns, values, invert: true);

    private void Transform(IReadOnlyList<string> columns, Span<float> values, bool invert)
    {
        ArgumentNullException.ThrowIfNull(columns);
        int width = columns.Count;
        if (width == 0 || values.Length % width != 0)
            throw new ArgumentException($"{values.Length} values are not whole rows of {width} columns.", nameof(values));
        var index = columns.Select(name => Array.IndexOf(Columns, name) is var i and >= 0 ? i
            : throw new ArgumentException($"No column '{name}'; the columns are {string.Join(", ", Columns)}.", nameof(columns))).ToArray();
        for (int at = 0; at < values.Length; at += width)
            for (int c = 0; c < width; c++)
            {
                float m = Mean[index[c]], s = Std[index[c]];
                values[at + c] = invert ? values[at + c] * s + m : (values[at + c] - m) / s;
            }
    }
}
