namespace Recurrent.Data;

/// <summary>One classification example: a text and its class label.</summary>

/// <summary>
/// How <see cref="LabeledTextReader.ReadDelimited"/> reads a delimited file. Fields are taken
/// verbatim (no trimming); column numbers are 0-based.
/// </summary>
public sealed record LabeledTextFormat
{
    /// <summary>The field separator; null: a comma for <c>.csv</c> files (also <c>.csv.gz</c>), a tab otherwise (<c>.tsv</c>, <c>.txt</c>).</summary>
    public char? Delimiter { get; init; }

    /// <summary>The 0-based column holding the text (default 0).</summary>
    public int TextColumn { get; init; }

    /// <summary>The 0-based column holding the label (default 1).</summary>
    public int LabelColumn { get; init; } = 1;

    /// <summary>Whether the first non-blank line is a header to skip (default false).</summary>
    public bool HasHeader { get; init; }

    /// <summary>RFC 4180 quoting (<c>"a, b"</c>, <c>""</c> for a quote); null: on for a comma delimiter, off otherwise.</summary>
    public bool? Quoting { get; init; }
}

/// <summary>
/// Reads text-classification data in the three common layouts: one delimited file
/// (text and label per line), one file per class (a line per example, e.g. the surnames data)
/// and one folder per class (a file per example, e.g. aclImdb). Files are strict UTF-8 (a BOM is
/// accepted); every problem a file can have is a <see cref="DataFormatException"/> naming the
/// file and line. Examples come out in a deterministic order, so label ids built from them are
/// reproducible.
/// </summary>
public static class LabeledTextReader
{
    /// <summary>
    /// One example per line of a CSV/TSV file. Blank lines are skipped. The first non-blank line
    /// fixes the number of fields (it must reach both the text and the label column) and every
    /// line must have that many. Empty (or all-space) text or label is an error.
    /// </summary>
    public static IReadOnlyList<Labeled<string>> ReadDelimited(string path, LabeledTextFormat? format = null)
    {
        format ??= new LabeledTextFormat();
        if (format.TextColumn < 0 || format.LabelColumn < 0 || format.TextColumn == format.LabelColumn)
            throw new ArgumentException($"TextColumn ({format.TextColumn}) and LabelColumn ({format.LabelColumn}) must be different and not negative.", nameof(format));
        char delimiter = format.Delimiter ?? (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".csv.gz", StringComparison.OrdinalIgnoreCase) ? ',' : '\t');
        if (delimiter is '"' or '\r' or '\n')
            throw new ArgumentException($"'{delimiter}' cannot be a delimiter.", nameof(format));
        bool quoting = format.Quoting ?? delimiter == ',';
        string separated = DelimitedFields.Separated(delimiter);
        int needed = Math.Max(format.TextColumn, format.LabelColumn) + 1;

        var examples = new List<Labeled<string>>();
        var labels = new StringPool();
        var fields = new DelimitedFields();
        int expected = 0, firstLine = 0;
        bool skipHeader = format.HasHeader;
        using var reader = new LineReader(path);
        while (reader.TryReadLine(out var line))
        {
            if (line.IsWhiteSpace()) continue;
            if (fields.Split(line, delimiter, quoting) is { } problem) throw reader.Error(problem);
            if (expected == 0)
            {
                if (fields.Count < needed)
                    throw reader.Error($"expected at least {needed} {separated} fields (text in field {format.TextColumn + 1}, label in field {format.LabelColumn + 1}); found {fields.Count}.");
                (expected, firstLine) = (fields.Count, reader.LineNumber);
            }
            else if (fields.Count != expected)
                throw reader.Error($"expected {expected} {separated} fields (as on line {firstLine}); found {fields.Count}.");
            if (skipHeader)
            {
                skipHeader = false;
                continue;
            }
            var text = fields[format.TextColumn];
            var label = fields[format.LabelColumn];
            if (text.IsWhiteSpace()) throw reader.Error($"the text (field {format.TextColumn + 1}) is empty.");
            if (label.IsWhiteSpace()) throw reader.Error($"the label (field {format.LabelColumn + 1}) is empty.");
            examples.Add(new Labeled<string>(text.ToString(), labels.Get(label)));
        }
        if (examples.Count == 0) throw new DataFormatException(path, 0, "has no examples.");
        return examples;
    }

    /// <summary>
    /// One file per class, named <c>&lt;label&gt;.txt</c>, one example per non-blank line (the
    /// layout of the PyTorch surnames data: <c>names/Arabic.txt</c>, …). The label is the file name
    /// without its extension. Files are read in ordinal order of their names, lines in file order.
    /// </summary>
    public static IReadOnlyList<Labeled<string>> ReadFilePerClass(string directory, string pattern = "*.txt")
    {
        var files = ListSorted(directory, pattern, folders: false);
        if (files.Length == 0) throw new DataFormatException(directory, 0, $"has no files matching '{pattern}'.");
        var examples = new List<Labeled<string>>();
        foreach (var file in files)
        {
            string label = Path.GetFileNameWithoutExtension(file);
            if (label.Length == 0) throw new DataFormatException(file, 0, "the file name gives an empty label.");
            int before = examples.Count;
            using var reader = new LineReader(file);
            while (reader.TryReadLine(out var line))
                if (!line.IsWhiteSpace()) examples.Add(new Labeled<string>(line.ToString(), label));
            if (examples.Count == before) throw new DataFormatException(file, 0, "has no examples (every line is blank).");
        }
        return examples;
    }

    /// <summary>
    /// One folder per class, one file per example (the aclImdb layout: <c>train/neg/*.txt</c>,
    /// <c>train/pos/*.txt</c>). The label is the folder's name; the text is the whole file, line
    /// ends normalized to <c>\n</c>, trimmed. Folders and files are read in ordinal order of their
    /// names; names starting with '.' are skipped. <paramref name="classes"/> restricts the folders
    /// read (e.g. <c>["neg", "pos"]</c> to leave out aclImdb's <c>unsup</c>); each must exist.
    /// </summary>
    public static IReadOnlyList<Labeled<string>> ReadFolderPerClass(string directory, string pattern = "*", IReadOnlyList<string>? classes = null)
    {
        var folders = ListSorted(directory, "*", folders: true);
        if (classes is not null)
        {
            foreach (var wanted in classes)
                if (!folders.Any(f => Path.GetFileName(f) == wanted))
                    throw new DataFormatException(directory, 0, $"has no class folder '{wanted}'.");
            folders = folders.Where(f => classes.Contains(Path.GetFileName(f))).ToArray();
        }
        if (folders.Length == 0) throw new DataFormatException(directory, 0, "has no class folders.");
        var examples = new List<Labeled<string>>();
        foreach (var folder in folders)
        {
            string label = Path.GetFileName(folder);
            var files = ListSorted(folder, pattern, folders: false);
            if (files.Length == 0) throw new DataFormatException(folder, 0, $"has no files matching '{pattern}'.");
            foreach (var file in files)
            {
                string text = LineReader.ReadAllText(file).Trim();
                if (text.Length == 0) throw new DataFormatException(file, 0, "is empty.");
                examples.Add(new Labeled<string>(text, label));
            }
        }
        return examples;
    }

    private static string[] ListSorted(string directory, string pattern, bool folders)
    {
        if (!Directory.Exists(directory)) throw new DataFormatException(directory, 0, "folder not found.");
        var paths = (folders ? Directory.GetDirectories(directory, pattern) : Directory.GetFiles(directory, pattern))
            .Where(p => !Path.GetFileName(p).StartsWith('.')).ToArray();
        Array.Sort(paths, StringComparer.Ordinal);
        return paths;
    }
}
