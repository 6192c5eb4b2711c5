using System.Globalization;

namespace Recurrent.Data;

/// <summary>What <see cref="TimeSeriesCsv"/> does with a missing value (an empty field, <c>NA</c> or <c>NaN</c>).</summary>
public enum MissingValues
{
    /// <summary>Stop with an error naming the file, line and column.</summary>
    Error,
    /// <summary>Repeat the last value seen above in the column; missing values before the first one take the first one.</summary>
    FillForward,
    /// <summary>Linear in the row index between the values above and below; at either end, the nearest value. (A one-hot column's indicators are interpolated too, which blends the two categories.)</summary>
    Interpolate,
    /// <summary>Drop every row with a missing value. The rows left are no longer evenly spaced, so a window can span a gap; a warning says how many were dropped.</summary>
    Drop,
}

/// <summary>How <see cref="TimeSeriesCsv.Read"/> reads a CSV file. Column names match the header exactly (ordinal).</summary>
public sealed record TimeSeriesFormat
{
    /// <summary>
    /// Where the time stamp is: one column of text dates (<c>yyyy-MM-dd</c>, <c>yyyy-MM</c>,
    /// <c>yyyy-MM-dd HH:mm:ss</c> or <c>yyyy-MM-ddTHH:mm:ss</c>, invariant culture), or 2–4 integer
    /// columns giving year, month[, day[, hour]]. Null: the header's <c>year</c>, <c>month</c>,
    /// <c>day</c>, <c>hour</c> columns (those present, case-insensitive) when it has <c>year</c> and
    /// <c>month</c> (as the Beijing PM2.5 file), otherwise the first column.
    /// </summary>
    public IReadOnlyList<string>? DateColumns { get; init; }

    /// <summary>The numeric columns to read, in this order; null: every column that is neither a date nor a one-hot column, in header order (a non-numeric value is then an error suggesting <see cref="OneHotColumns"/>).</summary>
    public IReadOnlyList<string>? ValueColumns { get; init; }

    /// <summary>Categorical columns to one-hot encode after the value columns: one 0/1 column <c>name=category</c> per category, categories in ordinal order.</summary>
    public IReadOnlyList<string>? OneHotColumns { get; init; }

    /// <summary>What to do with a missing value (an empty field, <c>NA</c> or <c>NaN</c>); default <see cref="Recurrent.Data.MissingValues.Error"/>.</summary>
    public MissingValues MissingValues { get; init; } = MissingValues.Error;

    /// <summary>The field separator (default a comma); fields may be quoted as in RFC 4180.</summary>
    public char Delimiter { get; init; } = ',';
}

/// <summary>
/// Reads a time series from a CSV file with a header line: a time stamp per row, strictly
/// increasing, and numeric (or one-hot encoded categorical) value columns. Strict UTF-8 (a BOM is
/// accepted), <c>\n</c> or <c>\r\n</c> line ends, blank lines skipped. Every problem in the file is
/// a <see cref="DataFormatException"/> naming the file and line (and column, for a value).
/// </summary>
public static class TimeSeriesCsv
{
    private static readonly string[] DateFormats = ["yyyy-MM-dd", "yyyy-MM", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss"];
    private static readonly string[] DateParts = ["year", "month", "day", "hour"];

    /// <summary>
    /// Reads the CSV file at <paramref name="path"/> (a <c>.gz</c> file is decompressed on the fly) as
    /// <paramref name="format"/> says: the value columns first, then each one-hot column's
    /// <c>name=category</c> columns; missing values handled by <see cref="TimeSeriesFormat.MissingValues"/>,
    /// with a line in <see cref="TimeSeries.Warnings"/> when any were filled or dropped.
    /// </summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="format">Which columns hold the date and the values, the missing-value policy and the delimiter; null: the defaults of <see cref="TimeSeriesFormat"/>.</param>
    /// <returns>The series, one row per data line (fewer under <see cref="MissingValues.Drop"/>).</returns>
    /// <exception cref="DataFormatException">The file is missing, unreadable or not UTF-8, the header or a line is malformed, a date is invalid or not after the previous one, a value is not a number, a value is missing under <see cref="MissingValues.Error"/>, or no data row is left.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null, empty or white space, or <paramref name="format"/> names a column as two kinds (date, value, one-hot) or gives other than 1–4 date columns.</exception>
    /// <exception cref="IOException">The file holds more than <see cref="InputLimits.MaxFileBytes"/> bytes.</exception>
    public static TimeSeries Read(string path, TimeSeriesFormat? format = null)
    {
        format ??= new TimeSeriesFormat();
        var oneHotNames = format.OneHotColumns ?? [];
        if (format.ValueColumns?.Intersect(oneHotNames).FirstOrDefault() is { } both)
            throw new ArgumentException($"Column '{both}' cannot be both a value column and a one-hot column.", nameof(format));
        if (format.DateColumns is { Count: < 1 or > 4 } dateList)
            throw new ArgumentException($"DateColumns names 1 date column or 2–4 year, month, day, hour columns; got {dateList.Count}.", nameof(format));

        var fields = new DelimitedFields();
        using var reader = new LineReader(path);
        var header = ReadHeader(reader, fields, format.Delimiter);
        int headerLine = reader.LineNumber;
        int Find(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i
            : throw new DataFormatException(path, headerLine, $"no column '{name}' in the header; the columns are {string.Join(", ", header)}.");

        int[] dateFields = format.DateColumns?.Select(Find).ToArray()
            ?? (header.Any(h => h.Equals("year", StringComparison.OrdinalIgnoreCase)) && header.Any(h => h.Equals("month", StringComparison.OrdinalIgnoreCase))
                ? DateParts.Select(p => Array.FindIndex(header, h => h.Equals(p, StringComparison.OrdinalIgnoreCase))).Where(i => i >= 0).ToArray()
                : [0]);
        int[] oneHotFields = oneHotNames.Select(Find).ToArray();
        int[] valueFields = format.ValueColumns?.Select(Find).ToArray()
            ?? Enumerable.Range(0, header.Length).Where(i => !dateFields.Contains(i) && !oneHotFields.Contains(i)).ToArray();
        if (valueFields.Concat(oneHotFields).Intersect(dateFields).Any()) throw new ArgumentException("A date column cannot also be a value or one-hot column.", nameof(format));
        if (valueFields.Length + oneHotFields.Length == 0) throw new DataFormatException(path, headerLine, "has no value columns besides the date.");

        var dates = new List<DateTime>();
        var values = new List<float>(); // row-major over valueFields, NaN where missing
        var categories = oneHotFields.Select(_ => new Dictionary<string, int>(StringComparer.Ordinal)).ToArray();
        var categoryOfRow = oneHotFields.Select(_ => new List<int>()).ToArray(); // -1 where missing
        int missing = 0;
        while (reader.TryReadLine(out var line))
        {
            if (line.IsWhiteSpace()) continue;
            if (fields.Split(line, format.Delimiter, quoting: true) is { } problem) throw reader.Error(problem);
            if (fields.Count != header.Length)
                throw reader.Error($"expected {header.Length} fields (as in the header); found {fields.Count}.");
            var date = ParseDate(reader, fields, header, dateFields);
            if (dates.Count > 0 && date <= dates[^1])
                throw reader.Error($"date {date:s} is not after the previous row's {dates[^1]:s}; dates must be strictly increasing.");
            dates.Add(date);
            foreach (int f in valueFields)
            {
                var text = fields[f].Trim();
                if (IsMissing(reader, text, header[f], format.MissingValues))
                {
                    values.Add(float.NaN);
                    missing++;
                }
                else if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) && float.IsFinite(value))
                    values.Add(value);
                else
                    throw reader.Error(format.ValueColumns is null
                        ? $"column '{header[f]}': '{text}' is not a number; list the column in OneHotColumns to one-hot encode it, or leave it out of ValueColumns."
                        : $"column '{header[f]}': '{text}' is not a number.");
            }
            for (int k = 0; k < oneHotFields.Length; k++)
            {
                var text = fields[oneHotFields[k]].Trim();
                int id = -1;
                if (IsMissing(reader, text, header[oneHotFields[k]], format.MissingValues)) missing++;
                else if (!categories[k].GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out id))
                    categories[k].Add(text.ToString(), id = categories[k].Count);
                categoryOfRow[k].Add(id);
            }
        }
        if (dates.Count == 0) throw new DataFormatException(path, 0, "has a header but no data rows.");

        // The table: value columns, then each one-hot column's categories in ordinal order.
        var columns = valueFields.Select(f => header[f]).ToList();
        var ranks = new int[oneHotFields.Length][];
        for (int k = 0; k < oneHotFields.Length; k++)
        {
            var sorted = categories[k].Keys.Order(StringComparer.Ordinal).ToArray();
            ranks[k] = new int[sorted.Length];
            for (int rank = 0; rank < sorted.Length; rank++) ranks[k][categories[k][sorted[rank]]] = rank;
            columns.AddRange(sorted.Select(c => $"{header[oneHotFields[k]]}={c}"));
        }
        if (columns.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new DataFormatException(path, headerLine, $"column '{twice.Key}' would appear twice in the series; check ValueColumns and OneHotColumns.");
        int rows = dates.Count, width = columns.Count, numeric = valueFields.Length;
        var table = new float[rows * width];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < numeric; c++) table[r * width + c] = values[r * numeric + c];
            int offset = numeric;
            for (int k = 0; k < oneHotFields.Length; offset += ranks[k].Length, k++)
            {
                int id = categoryOfRow[k][r];
                if (id < 0) table.AsSpan(r * width + offset, ranks[k].Length).Fill(float.NaN);
                else table[r * width + offset + ranks[k][id]] = 1;
            }
        }
        var warnings = new List<string>();
        var (dateArray, repaired, mask) = missing > 0
            ? Repair(path, format.MissingValues, missing, dates.ToArray(), columns, table, warnings)
            : (dates.ToArray(), table, null);
        return new TimeSeries(dateArray, columns.ToArray(), repaired, warnings, mask);
    }

    private static string[] ReadHeader(LineReader reader, DelimitedFields fields, char delimiter)
    {
        ReadOnlySpan<char> line;
        do
        {
            if (!reader.TryReadLine(out line)) throw new DataFormatException(reader.Path, 0, "is empty (a header line is needed).");
        } while (line.IsWhiteSpace());
        if (fields.Split(line, delimiter, quoting: true) is { } problem) throw reader.Error(problem);
        var header = new string[fields.Count];
        for (int i = 0; i < header.Length; i++)
        {
            header[i] = fields[i].Trim().ToString();
            if (header[i].Length == 0) throw reader.Error($"column {i + 1} of the header has no name.");
            if (Array.IndexOf(header, header[i], 0, i) >= 0) throw reader.Error($"column name '{header[i]}' appears twice in the header.");
        }
        return header;
    }

    private static DateTime ParseDate(LineReader reader, DelimitedFields fields, string[] header, int[] dateFields)
    {
        if (dateFields.Length == 1)
        {
            var text = fields[dateFields[0]].Trim();
            return DateTime.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date
                : throw reader.Error($"column '{header[dateFields[0]]}': '{text}' is not a date ({string.Join(", ", DateFormats)}).");
        }
        Span<int> parts = [1, 1, 1, 0]; // year, month, day, hour
        for (int p = 0; p < dateFields.Length; p++)
        {
            var text = fields[dateFields[p]].Trim();
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out parts[p]))
                throw reader.Error($"column '{header[dateFields[p]]}': '{text}' is not an integer {DateParts[p]}.");
        }
        (int year, int month, int day, int hour) = (parts[0], parts[1], parts[2], parts[3]);
        if (year is < 1 or > 9999 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour is < 0 or > 23)
            throw reader.Error($"year {year}, month {month}, day {day}, hour {hour} is not a valid time.");
        return new DateTime(year, month, day, hour, 0, 0);
    }

    /// <summary>Whether a value is missing (empty, NA or NaN); under <see cref="MissingValues.Error"/> a missing value is an error.</summary>
    private static bool IsMissing(LineReader reader, ReadOnlySpan<char> text, string column, MissingValues policy)
    {
        if (!(text.IsEmpty || text is "NA" || text.Equals("NaN", StringComparison.OrdinalIgnoreCase))) return false;
        if (policy == MissingValues.Error)
            throw reader.Error($"column '{column}': missing value '{text}'; set MissingValues to FillForward, Interpolate or Drop to accept missing values.");
        return true;
    }

    /// <summary>Fills (in place, returning which cells it filled) or drops the NaN cells of <paramref name="table"/> [dates.Length, columns.Count] as <paramref name="policy"/> says.</summary>
    private static (DateTime[] Dates, float[] Table, bool[]? Filled) Repair(string path, MissingValues policy, int missing, DateTime[] dates, List<string> columns, float[] table, List<string> warnings)
    {
        int rows = dates.Length, width = columns.Count;
        if (policy == MissingValues.Drop)
        {
            var keep = new List<int>(rows);
            for (int r = 0; r < rows; r++)
                if (!HasNaN(table.AsSpan(r * width, width))) keep.Add(r);
            if (keep.Count == 0) throw new DataFormatException(path, 0, "every row has a missing value; nothing is left after dropping them.");
            var kept = new float[keep.Count * width];
            var keptDates = new DateTime[keep.Count];
            for (int i = 0; i < keep.Count; i++)
            {
                table.AsSpan(keep[i] * width, width).CopyTo(kept.AsSpan(i * width));
                keptDates[i] = dates[keep[i]];
            }
            warnings.Add($"{path}: dropped {rows - keep.Count} of {rows} rows with missing values; the rows left are not evenly spaced in time, so a window can span a gap.");
            return (keptDates, kept, null);
        }
        var filled = new bool[table.Length];
        for (int i = 0; i < table.Length; i++) filled[i] = float.IsNaN(table[i]);
        for (int c = 0; c < width; c++)
        {
            int previous = -1; // last row with a value in column c
            for (int r = 0; r <= rows; r++)
            {
                if (r < rows && float.IsNaN(table[r * width + c])) continue;
                // rows previous+1 .. r-1 are missing; previous and/or r (when < rows) hold values
                if (r == rows && previous < 0) throw new DataFormatException(path, 0, $"column '{columns[c]}' has no values at all.");
                for (int m = previous + 1; m < r; m++)
                {
                    float before = previous >= 0 ? table[previous * width + c] : table[r * width + c];
                    float after = r < rows ? table[r * width + c] : before;
                    table[m * width + c] = policy == MissingValues.FillForward || previous < 0 || r == rows
                        ? before
                        : before + (after - before) * (m - previous) / (r - previous);
                }
                previous = r;
            }
        }
        warnings.Add($"{path}: filled {missing} missing values ({policy}).");
        return (dates, table, filled);
    }

    private static bool HasNaN(ReadOnlySpan<float> values)
    {
        foreach (float v in values) if (float.IsNaN(v)) return true;
        return false;
    }
}
