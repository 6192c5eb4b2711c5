using System.IO.Compression;
using System.Text;

namespace Recurrent.Data;

/// <summary>
/// Reads a data file line by line as strict UTF-8, counting lines so that every error can name
/// <c>path:line</c>. A UTF-8 BOM is skipped, <c>\n</c> and <c>\r\n</c> both end a line, a last
/// line without a newline still counts, and a <c>.gz</c> file is decompressed on the fly.
/// Each line is decoded into a reused buffer: the span returned is valid until the next read.
/// </summary>
internal sealed class LineReader : IDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private byte[] _bytes = new byte[64 * 1024];
    private int _start, _end;
    private bool _endOfStream;
    private long _total;
    private char[] _chars = new char[256];

    public LineReader(string path)
    {
        Path = path;
        _stream = Open(path);
    }

    public string Path { get; }

    /// <summary>The 1-based number of the line last read (0 before the first).</summary>
    public int LineNumber { get; private set; }

    /// <summary>An error at the line last read.</summary>
    public DataFormatException Error(string problem) => new(Path, LineNumber, problem);

    public bool TryReadLine(out ReadOnlySpan<char> line)
    {
        while (true)
        {
            int newline = _bytes.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = Decode(_start, newline);
                _start += newline + 1;
                return true;
            }
            if (_endOfStream) // the last line, without a newline after it
            {
                bool any = _start < _end;
                line = any ? Decode(_start, _end - _start) : default;
                _start = _end;
                return any;
            }
            Fill();
        }
    }

    /// <summary>The whole file with its lines joined by <c>\n</c>.</summary>
    public static string ReadAllText(string path)
    {
        using var reader = new LineReader(path);
        var text = new StringBuilder();
        while (reader.TryReadLine(out var line))
        {
            if (reader.LineNumber > 1) text.Append('\n');
            text.Append(line);
        }
        return text.ToString();
    }

    public void Dispose() => _stream.Dispose();

    private static Stream Open(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("No data file was given.", nameof(path));
        if (Directory.Exists(path)) throw new DataFormatException(path, 0, "is a folder, not a file.");
        if (!File.Exists(path)) throw new DataFormatException(path, 0, "file not found.");
        try
        {
            Stream file = File.OpenRead(path);
            return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException(path, 0, "cannot be opened: " + e.Message, e);
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            _bytes.AsSpan(_start, _end - _start).CopyTo(_bytes);
            _end -= _start;
            _start = 0;
        }
        if (_end == _bytes.Length) Array.Resize(ref _bytes, 2 * _bytes.Length); // a line longer than the buffer
        int read;
        try { read = _stream.Read(_bytes, _end, _bytes.Length - _end); }
        catch (InvalidDataException e) { throw new DataFormatException(Path, 0, "is not a valid gzip file: " + e.Message, e); }
        if (read == 0) _endOfStream = true;
        _end += read;
        _total += read;
        if (_total > InputLimits.MaxFileBytes) throw new IOException(InputLimits.TooLarge(Path));
    }

    private ReadOnlySpan<char> Decode(int start, int length)
    {
        LineNumber++;
        var bytes = _bytes.AsSpan(start, length);
        if (LineNumber == 1 && bytes.StartsWith("\uFEFF"u8)) bytes = bytes[3..];
        if (bytes.Length > 0 && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        if (_chars.Length < bytes.Length) _chars = new char[Math.Max(bytes.Length, 2 * _chars.Length)];
        try
        {
            return _chars.AsSpan(0, StrictUtf8.GetChars(bytes, _chars));
        }
        catch (DecoderFallbackException e)
        {
            string found = e.BytesUnknown is { Length: > 0 } unknown ? $" (byte 0x{unknown[0]:X2})" : "";
            throw new DataFormatException(Path, LineNumber, $"not valid UTF-8{found}.", e);
        }
    }
}

/// <summary>Returns one string instance per distinct text (labels, tags and words repeat a lot).</summary>
internal sealed class StringPool
{
    private readonly HashSet<string> _strings = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public StringPool() => _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();

    public string Get(ReadOnlySpan<char> text)
    {
        if (_lookup.TryGetValue(text, out var known)) return known;
        var s = text.ToString();
        _strings.Add(s);
        return s;
    }
}
