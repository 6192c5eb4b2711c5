namespace Recurrent.Data;

/// <summary>Consecutive windows <c>Start … Start + Count − 1</c> of a <see cref="TimeSeriesWindows"/>.</summary>
/// <param name="Start">The index of the first window.</param>
/// <param name="Count">The number of windows (0: none).</param>
public readonly record struct WindowRange(int Start, int Count)
{
    /// <summary>One past the last window's index, <c>Start + Count</c>.</summary>
    public int End => Start + Count;
}

/// <summary>
/// A chronological split: rows <c>[0, TrainEnd)</c> are the training segment, <c>[TrainEnd, ValidEnd)</c>
/// validation and <c>[ValidEnd, Rows)</c> test; each window range holds the windows whose
/// targets lie inside that segment.
/// </summary>
/// <param name="TrainEnd">The first row after the training segment.</param>
/// <param name="ValidEnd">The first row after the validation segment (the first test row).</param>
/// <param name="Train">The windows whose targets all lie in the training rows.</param>
/// <param name="Valid">The windows whose targets all lie in the validation rows.</param>
/// <param name="Test">The windows whose targets all lie in the test rows.</param>
public sealed record TimeSeriesSplit(int TrainEnd, int ValidEnd, WindowRange Train, WindowRange Valid, WindowRange Test);

/// <summary>
/// Sliding-window forecasting examples over a <see cref="TimeSeries"/>. Window w reads the
/// inputs of rows <c>w … w + T − 1</c> and predicts the targets of the next h rows,
/// <c>w + T … w + T + h − 1</c>; there are <c>Rows − T − h + 1</c> windows. One window's input is
/// [T, InputColumns] and its target [h, TargetColumns], row-major; a batch is time-major
/// ([T, B, InputColumns] and [h, B, TargetColumns]), as the recurrent layers take it. Windows
/// are copied out on demand, never stored: consecutive windows overlap in T − 1 rows.
/// </summary>
public sealed class TimeSeriesWindows
{
    private readonly int[] _inputs, _targets; // column indices into the series

    /// <summary>The sliding windows of <paramref name="inputLength"/> input rows and <paramref name="horizon"/> target rows over <paramref name="series"/> (which is kept, not copied).</summary>
    /// <param name="series">The series (normalized or not).</param>
    /// <param name="inputLength">T, the rows each window reads.</param>
    /// <param name="horizon">h, the rows after the window to predict (1: one step ahead).</param>
    /// <param name="targetColumns">The columns to predict.</param>
    /// <param name="inputColumns">The columns the model reads; null: all columns (the targets' past included).</param>
    /// <exception cref="ArgumentNullException"><paramref name="series"/> or <paramref name="targetColumns"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputLength"/> or <paramref name="horizon"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">No target column is named, a named column is not in the series, or the series has fewer than <c>inputLength + horizon</c> rows.</exception>
    public TimeSeriesWindows(TimeSeries series, int inputLength, int horizon, IReadOnlyList<string> targetColumns, IReadOnlyList<string>? inputColumns = null)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(targetColumns);
        if (inputLength < 1) throw new ArgumentOutOfRangeException(nameof(inputLength), inputLength, "The input window must be at least 1 row.");
        if (horizon < 1) throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "The horizon must be at least 1 row.");
        if (targetColumns.Count == 0) throw new ArgumentException("Name at least one target column.", nameof(targetColumns));
        if (series.Rows < inputLength + horizon)
            throw new ArgumentException($"The series has {series.Rows} rows: too few for a window of {inputLength} input rows and {horizon} target rows.");
        Series = series;
        InputLength = inputLength;
        Horizon = horizon;
        InputColumns = inputColumns?.ToArray() ?? series.Columns.ToArray();
        TargetColumns = targetColumns.ToArray();
        _inputs = InputColumns.Select(series.ColumnIndex).ToArray();
        _targets = TargetColumns.Select(series.ColumnIndex).ToArray();
        Count = series.Rows - inputLength - horizon + 1;
    }

    /// <summary>The series the windows are cut from (not copied).</summary>
    public TimeSeries Series { get; }

    /// <summary>T, the input rows of a window.</summary>
    public int InputLength { get; }

    /// <summary>h, the target rows of a window.</summary>
    public int Horizon { get; }

    /// <summary>The columns a window's input holds, in order (all columns of the series when none were named).</summary>
    public string[] InputColumns { get; }

    /// <summary>The columns a window's target holds, in order.</summary>
    public string[] TargetColumns { get; }

    /// <summary>The number of windows, <c>Rows − T − h + 1</c>.</summary>
    public int Count { get; }

    /// <summary>Floats in one window's input, T · InputColumns.</summary>
    public int InputSize => InputLength * InputColumns.Length;

    /// <summary>Floats in one window's target, h · TargetColumns.</summary>
    public int TargetSize => Horizon * TargetColumns.Length;

    /// <summary>Window <paramref name="window"/>'s input, [T, InputColumns].</summary>
    public float[] Input(int window)
    {
        CheckWindow(window);
        var input = new float[InputSize];
        CopyRows(window, InputLength, _inputs, input, stride: 1);
        return input;
    }

    /// <summary>Window <paramref name="window"/>'s target, [h, TargetColumns].</summary>
    public float[] Target(int window)
    {
        CheckWindow(window);
        var target = new float[TargetSize];
        CopyRows(window + InputLength, Horizon, _targets, target, stride: 1);
        return target;
    }

    /// <summary>
    /// Copies the windows listed in <paramref name="windows"/> (B of them) into time-major
    /// <paramref name="inputs"/> [T, B, InputColumns] and <paramref name="targets"/> [h, B, TargetColumns].
    /// </summary>
    public void FillBatch(ReadOnlySpan<int> windows, Span<float> inputs, Span<float> targets)
    {
        int batch = windows.Length;
        if (inputs.Length != InputSize * batch || targets.Length != TargetSize * batch)
            throw new ArgumentException($"For {batch} windows, inputs must hold {InputSize * batch} floats and targets {TargetSize * batch}; got {inputs.Length} and {targets.Length}.");
        for (int b = 0; b < batch; b++)
        {
            CheckWindow(windows[b]);
            CopyRows(windows[b], InputLength, _inputs, inputs[(b * _inputs.Length)..], batch);
            CopyRows(windows[b] + InputLength, Horizon, _targets, targets[(b * _targets.Length)..], batch);
        }
    }

    /// <summary>
    /// Splits the rows in time: the first round(Rows · train) rows are the training segment, the
    /// next ones up to round(Rows · (train + valid)) validation, the rest test. A window belongs to
    /// the segment holding all of its targets; windows whose targets straddle a boundary belong
    /// to none. So no target of a later segment is ever a target of an earlier one, while a
    /// validation or test window may read inputs from the segment before it (as a forecaster
    /// does). Fit a <see cref="Normalizer"/> on rows <c>[0, TrainEnd)</c> only. A segment with rows
    /// but too few for one window is an error.
    /// </summary>
    public TimeSeriesSplit SplitByTime(double train, double valid)
    {
        if (!(train > 0 && valid >= 0 && train + valid <= 1))
            throw new ArgumentOutOfRangeException(nameof(train), $"Fractions train = {train}, valid = {valid} must satisfy train > 0, valid >= 0, train + valid <= 1.");
        int rows = Series.Rows;
        int trainEnd = (int)Math.Round(rows * train);
        int validEnd = Math.Min(rows, (int)Math.Round(rows * (train + valid)));
        return new TimeSeriesSplit(trainEnd, validEnd,
            Segment("training", 0, trainEnd), Segment("validation", trainEnd, validEnd), Segment("test", validEnd, rows));
    }

    /// <summary>The same windows over <paramref name="normalizer"/>'s standardized copy of the series (a split made before still holds: windows depend only on the row count, T and h).</summary>
    public TimeSeriesWindows Normalize(Normalizer normalizer) =>
        new(normalizer.Apply(Series), InputLength, Horizon, TargetColumns, InputColumns);

    /// <summary>The windows whose target rows w + T … w + T + h − 1 lie in rows [start, end).</summary>
    private WindowRange Segment(string name, int start, int end)
    {
        int first = Math.Max(0, start - InputLength), last = end - InputLength - Horizon; // window indices
        if (end > start && last < first)
            throw new ArgumentException($"The {name} segment (rows {start}–{end - 1}) is too short for one window of {InputLength} input rows and {Horizon} target rows in it; change the fractions or shorten the windows.");
        return new WindowRange(first, Math.Max(0, last - first + 1));
    }

    private void CheckWindow(int window)
    {
        if ((uint)window >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(window), window, $"Window must be in 0..{Count - 1}.");
    }

    /// <summary>Copies <paramref name="count"/> rows from <paramref name="row"/> of the chosen columns, one row every <paramref name="stride"/> · columns floats.</summary>
    private void CopyRows(int row, int count, int[] columns, Span<float> destination, int stride)
    {
        var values = Series.Values;
        int width = Series.ColumnCount;
        for (int t = 0; t < count; t++)
        {
            var to = destination.Slice(t * stride * columns.Length, columns.Length);
            int from = (row + t) * width;
            for (int c = 0; c < columns.Length; c++) to[c] = values[from + columns[c]];
        }
    }
}
