namespace Recurrent.Data;

/// <summary>
/// Caps on what a reader takes from one file, so that an endless or enormous input (<c>/dev/zero</c>,
/// a named pipe, a gzip bomb) ends with a message instead of exhausting memory.
/// </summary>
public static class InputLimits
{
    /// <summary>The most bytes read from one data or text file (after decompression): 1 GiB.</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>The message for a file past <see cref="MaxFileBytes"/>.</summary>
    public static string TooLarge(string path) =>
        $"'{path}' holds more than {MaxFileBytes >> 30} GiB (or never ends), the most Recurrent reads from one file; use a smaller file.";
}
