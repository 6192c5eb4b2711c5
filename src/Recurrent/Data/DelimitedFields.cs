namespace Recurrent.Data;

/// <summary>
/// Splits one line of a delimited file into fields; the one splitter behind every CSV/TSV reader.
/// With quoting (RFC 4180), a field that starts with <c>"</c> runs to the next lone <c>"</c>,
/// may hold the delimiter, and writes a quote as <c>""</c>; a quote elsewhere is an ordinary
/// character. A quoted field cannot span lines. Fields are spans into a reused buffer, valid
/// until the next <see cref="Split"/>.
/// </summary>
internal sealed class DelimitedFields
{
    private char[] _chars = new char[256];
    private (int Start, int Length)[] _fields = new (int, int)[16];

    public int Count { get; private set; }

    public ReadOnlySpan<char> this[int index] => _chars.AsSpan(_fields[index].Start, _fields[index].Length);

    /// <summary>Splits <paramref name="line"/>; returns null, or what is wrong with it.</summary>
    public string? Split(ReadOnlySpan<char> line, char delimiter, bool quoting)
    {
        if (_chars.Length < line.Length) _chars = new char[Math.Max(line.Length, 2 * _chars.Length)];
        Count = 0;
        int i = 0, written = 0;
        while (true)
        {
            int start = written;
            if (quoting && i < line.Length && line[i] == '"')
            {
                for (i++; ; i++)
                {
                    if (i == line.Length)
                        return $"field {Count + 1} opens a quote that is not closed on this line (quoted fields cannot span lines).";
                    if (line[i] != '"') _chars[written++] = line[i];
                    else if (i + 1 < line.Length && line[i + 1] == '"') _chars[written++] = line[++i];
                    else break;
                }
                i++; // past the closing quote
                if (i < line.Length && line[i] != delimiter)
                    return $"field {Count + 1} has '{line[i]}' after its closing quote; expected {Name(delimiter)} or the end of the line.";
            }
            else
            {
                int length = line[i..].IndexOf(delimiter);
                if (length < 0) length = line.Length - i;
                line.Slice(i, length).CopyTo(_chars.AsSpan(written));
                written += length;
                i += length;
            }
            if (Count == _fields.Length) Array.Resize(ref _fields, 2 * _fields.Length);
            _fields[Count++] = (start, written - start);
            if (i == line.Length) return null;
            i++; // past the delimiter
        }
    }

    /// <summary>"a tab", "a comma", or the character quoted.</summary>
    public static string Name(char delimiter) => delimiter switch { '\t' => "a tab", ',' => "a comma", _ => $"'{delimiter}'" };

    /// <summary>"tab-separated", "comma-separated", or "'x'-separated".</summary>
    public static string Separated(char delimiter) => delimiter switch { '\t' => "tab", ',' => "comma", _ => $"'{delimiter}'" } + "-separated";
}
