namespace Recurrent.Data;

/// <summary>
/// A data file cannot be read as asked: it is missing, is not valid UTF-8, or a line does not
/// have the expected shape. The message is one line, <c>path:line: what is wrong</c> (without
/// <c>:line</c> when the problem is not on one line), e.g.
/// <c>data.tsv:17: expected 2 tab-separated fields (as on line 1); found 1.</c>
/// </summary>
public sealed class DataFormatException : Exception
{
    /// <summary>A problem at line <paramref name="line"/> of <paramref name="path"/>; the message becomes <c>path:line: problem</c> (<c>path: problem</c> when <paramref name="line"/> is 0 or less), on one line.</summary>
    /// <param name="path">The file (or folder) as the caller named it.</param>
    /// <param name="line">The 1-based line number of the problem, or 0 when it is not about one line.</param>
    /// <param name="problem">What is wrong, as a sentence; line breaks in it are replaced by spaces.</param>
    /// <param name="innerException">The exception that caused this one (e.g. a decoding or I/O error), or null.</param>
    public DataFormatException(string path, int line, string problem, Exception? innerException = null)
        : base((line > 0 ? $"{path}:{line}: {problem}" : $"{path}: {problem}").ReplaceLineEndings(" "), innerException)
    {
        Path = path;
        Line = line;
    }

    /// <summary>The file (or folder) as the caller named it.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number of the problem, or 0 when it is not about one line.</summary>
    public int Line { get; }
}
