namespace Recurrent.Data;

/// <summary>
/// A table of float values over strictly increasing times: <see cref="Rows"/> rows (one per
/// date) by <see cref="ColumnCount"/> named columns, stored row-major in <see cref="Values"/>
/// (value of row r, column c at <c>r · ColumnCount + c</c>).
/// </summary>
public sealed class TimeSeries
{
    /// <summary>A series over <paramref name="dates"/>; the arrays are kept, not copied.</summary>
    /// <param name="dates">The time of each row, strictly increasing.</param>
    /// <param name="columns">The column names: at least one, distinct (ordinal).</param>
    /// <param name="values">The values, row-major [dates.Length, columns.Length].</param>
    /// <param name="warnings">What the reader changed that a user should know; null: none.</param>
    /// <param name="filled">Row-major like <paramref name="values"/>: true where a missing value was filled in; null: nothing was filled.</param>
    /// <exception cref="ArgumentNullException"><paramref name="dates"/>, <paramref name="columns"/> or <paramref name="values"/> is null.</exception>
    /// <exception cref="ArgumentException">There is no column, two columns share a name, <paramref name="values"/> or <paramref name="filled"/> does not have rows × columns entries, or the dates are not strictly increasing.</exception>
    public TimeSeries(DateTime[] dates, string[] columns, float[] values, IReadOnlyList<string>? warnings = null, bool[]? filled = null)
    {
        ArgumentNullException.ThrowIfNull(dates);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(values);
        if (columns.Length == 0) throw new ArgumentException("A time series needs at least one column.", nameof(columns));
        if (columns.Distinct(StringComparer.Ordinal).Count() != columns.Length) throw new ArgumentException("Column names must be distinct.", nameof(columns));
        if (values.Length != (long)dates.Length * columns.Length)
            throw new ArgumentException($"{dates.Length} rows × {columns.Length} columns need {(long)dates.Length * columns.Length} values; got {values.Length}.", nameof(values));
        if (filled is not null && filled.Length != values.Length)
            throw new ArgumentException($"The filled-cell mask has {filled.Length} entries for {values.Length} values.", nameof(filled));
        for (int r = 1; r < dates.Length; r++)
            if (dates[r] <= dates[r - 1]) throw new ArgumentException($"Dates must be strictly increasing; row {r} ({dates[r]:s}) is not after row {r - 1} ({dates[r - 1]:s}).", nameof(dates));
        Dates = dates;
        Columns = columns;
        Values = values;
        Warnings = warnings ?? [];
        Filled = filled;
    }

    /// <summary>The time of each row, strictly increasing.</summary>
    public DateTime[] Dates { get; }

    /// <summary>The column names (one-hot columns are named <c>column=category</c>).</summary>
    public string[] Columns { get; }

    /// <summary>Row-major [Rows, ColumnCount].</summary>
    public float[] Values { get; }

    /// <summary>The number of rows (dates).</summary>
    public int Rows => Dates.Length;

    /// <summary>The number of columns (at least 1).</summary>
    public int ColumnCount => Columns.Length;

    /// <summary>What the reader changed that a user should know (rows dropped, values filled); for the caller to print.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// Row-major like <see cref="Values"/>: true where the reader filled in a missing value
    /// (<see cref="MissingValues.FillForward"/> or <see cref="MissingValues.Interpolate"/>); null when
    /// nothing was filled. A forecaster reads filled inputs but neither trains on nor scores a filled target.
    /// </summary>
    public bool[]? Filled { get; }

    /// <summary>Whether the value at (<paramref name="row"/>, <paramref name="column"/>) was missing and filled in.</summary>
    public bool IsFilled(int row, int column) => Filled is { } f && f[row * ColumnCount + column];

    /// <summary>The value at row <paramref name="row"/>, column <paramref name="column"/>.</summary>
    /// <param name="row">The 0-based row, 0 … <see cref="Rows"/> − 1.</param>
    /// <param name="column">The 0-based column, 0 … <see cref="ColumnCount"/> − 1 (see <see cref="ColumnIndex"/>).</param>
    /// <returns>The value, <c>Values[row · ColumnCount + column]</c>.</returns>
    public float this[int row, int column] => Values[row * ColumnCount + column];

    /// <summary>The values of one row.</summary>
    public ReadOnlySpan<float> Row(int row) => Values.AsSpan(row * ColumnCount, ColumnCount);

    /// <summary>The index of the column named <paramref name="name"/> (ordinal match).</summary>
    public int ColumnIndex(string name)
    {
        int index = Array.IndexOf(Columns, name);
        return index >= 0 ? index : throw new ArgumentException($"No column '{name}'; the columns are {string.Join(", ", Columns)}.", nameof(name));
    }
}
