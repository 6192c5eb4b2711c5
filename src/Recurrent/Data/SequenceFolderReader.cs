using System.Globalization;

namespace Recurrent.Data;

/// <summary>One numeric sequence: its id, its steps [length, features] row-major, and its label.</summary>
/// <param name="Id">The sequence's id, as in the labels file (and the sequence file's name).</param>
/// <param name="Values">The steps, [<see cref="Length"/>, FeatureSize] row-major.</param>
/// <param name="FeatureSize">The values per step (at least 1).</param>
/// <param name="Label">The sequence's class.</param>
public sealed record LabeledSequence(string Id, float[] Values, int FeatureSize, string Label)
{
    /// <summary>The number of steps, <c>Values.Length / FeatureSize</c>.</summary>
    public int Length => Values.Length / FeatureSize;
}

/// <summary>
/// Numeric sequences stored one per CSV file, with their labels in a separate CSV — the layout of
/// the UCI indoor-movement data: <c>dataset/MovementAAL_RSS_{id}.csv</c> (one step per row, the
/// same number of comma-separated values on every row; lines starting with <c>#</c> are comments)
/// and <c>MovementAAL_target.csv</c> (rows <c>id,label</c>, comment header allowed).
/// </summary>
public static class SequenceFolderReader
{
    /// <summary>Reads every sequence listed in <paramref name="labelsFile"/> from its file in <paramref name="directory"/>, in the labels file's order; all must have the same number of values per step.</summary>
    /// <param name="directory">The folder of sequence files.</param>
    /// <param name="labelsFile">CSV rows <c>id,label</c>.</param>
    /// <param name="pattern">The file name of a sequence, with <c>{id}</c> where its id goes.</param>
    /// <returns>The labeled sequences (at least one).</returns>
    /// <exception cref="DataFormatException">The folder or a file is missing or malformed, a value is not a finite number, the sequences differ in values per step, or no sequence is listed.</exception>
    /// <exception cref="ArgumentException"><paramref name="pattern"/> has no <c>{id}</c>.</exception>
    public static IReadOnlyList<LabeledSequence> Read(string directory, string labelsFile, string pattern = "{id}.csv")
    {
        if (!Directory.Exists(directory)) throw new DataFormatException(directory, 0, "the folder does not exist.");
        if (!pattern.Contains("{id}", StringComparison.Ordinal)) throw new ArgumentException($"The sequence file pattern '{pattern}' has no {{id}}.", nameof(pattern));
        var result = new List<LabeledSequence>();
        int features = 0;
        foreach (var (id, label) in ReadPairs(labelsFile))
        {
            string path = Path.Combine(directory, pattern.Replace("{id}", id, StringComparison.Ordinal));
            var (values, width) = ReadSequence(path);
            if (features == 0) features = width;
            else if (width != features) throw new DataFormatException(path, 0, $"{width} values per step; the other sequences have {features}.");
            result.Add(new LabeledSequence(id, values, width, label));
        }
        if (result.Count == 0) throw new DataFormatException(labelsFile, 0, "no labeled sequence.");
        return result;
    }

    /// <summary>Rows <c>key,value</c> of a two-column CSV (comment lines starting with # and blank lines skipped); keys must be unique.</summary>
    public static IReadOnlyList<(string Key, string Value)> ReadPairs(string path)
    {
        using var reader = new LineReader(path);
        var fields = new DelimitedFields();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pairs = new List<(string, string)>();
        while (reader.TryReadLine(out var line))
        {
            if (line.IsWhiteSpace() || line.TrimStart().StartsWith("#")) continue;
            if (fields.Split(line, ',', quoting: true) is { } problem) throw reader.Error(problem);
            if (fields.Count != 2) throw reader.Error($"expected 2 comma-separated fields (id, label); found {fields.Count}.");
            string key = fields[0].Trim().ToString(), value = fields[1].Trim().ToString();
            if (key.Length == 0 || value.Length == 0) throw reader.Error("an empty id or label.");
            if (!seen.Add(key)) throw reader.Error($"id '{key}' appears twice.");
            pairs.Add((key, value));
        }
        return pairs;
    }

    /// <summary>One sequence file (a row per step, comment lines starting with #), checked to have <paramref name="featureSize"/> values per step.</summary>
    public static float[] ReadSequenceFile(string path, int featureSize)
    {
        var (values, width) = ReadSequence(path);
        if (width != featureSize) throw new DataFormatException(path, 0, $"{width} values per step; the model reads {featureSize}.");
        return values;
    }

    private static (float[] Values, int Width) ReadSequence(string path)
    {
        using var reader = new LineReader(path);
        var fields = new DelimitedFields();
        var values = new List<float>();
        int width = 0;
        while (reader.TryReadLine(out var line))
        {
            if (line.IsWhiteSpace() || line.TrimStart().StartsWith("#")) continue;
            if (fields.Split(line, ',', quoting: false) is { } problem) throw reader.Error(problem);
            if (width == 0) width = fields.Count;
            else if (fields.Count != width) throw reader.Error($"expected {width} values like the first row; found {fields.Count}.");
            for (int i = 0; i < fields.Count; i++)
            {
                if (!float.TryParse(fields[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out float v) || !float.IsFinite(v))
                    throw reader.Error($"value {i + 1} ('{fields[i].ToString()}') is not a finite number.");
                values.Add(v);
            }
        }
        if (values.Count == 0) throw new DataFormatException(path, 0, "the sequence has no step.");
        return (values.ToArray(), width);
    }
}
