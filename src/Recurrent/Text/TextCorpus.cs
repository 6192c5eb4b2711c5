using System.Text;

namespace Recurrent.Text;

/// <summary>Reading text files for training: strict UTF-8, clear errors, splits.</summary>
public static class TextCorpus
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads a whole UTF-8 file (a BOM is skipped). Invalid UTF-8 is an error naming the file and byte offset.</summary>
    public static string ReadFile(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("No text file was given.");
        if (Directory.Exists(path)) throw new ArgumentException($"'{path}' is a directory, not a text file.");
        if (!File.Exists(path)) throw new FileNotFoundException($"Text file '{path}' does not exist.", path);
        byte[] bytes = ReadCapped(path);
        int start = bytes.AsSpan().StartsWith(new byte[] { 0xEF, 0xBB, 0xBF }) ? 3 : 0;
        try
        {
            return StrictUtf8.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException($"'{path}' is not valid UTF-8 (at byte {start + e.Index}).", e);
        }
    }

    /// <summary>The file's bytes, read in chunks up to <see cref="Data.InputLimits.MaxFileBytes"/> (a device or pipe reports no length).</summary>
    private static byte[] ReadCapped(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + read > Data.InputLimits.MaxFileBytes) throw new IOException(Data.InputLimits.TooLarge(path));
            buffer.Write(chunk, 0, read);
        }
        return buffer.Length == buffer.GetBuffer().Length ? buffer.GetBuffer() : buffer.ToArray();
    }

    /// <summary>Splits ids at a fraction: the first part for training, the rest for validation (contiguous, as nanoGPT's 90/10).</summary>
    public static (int[] Train, int[] Valid) SplitIds(int[] ids, double trainFraction)
    {
        if (!(trainFraction > 0 && trainFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(trainFraction), trainFraction, "The training fraction must be between 0 and 1 (exclusive).");
        int cut = (int)Math.Round(ids.Length * trainFraction);
        cut = Math.Clamp(cut, 0, ids.Length);
        return (ids[..cut], ids[cut..]);
    }
}

/// <summary>
/// Truncated-BPTT batches, as PyTorch's word_language_model (<c>batchify</c> + <c>get_batch</c>):
/// the id stream is cut into B equal contiguous streams (the remainder is dropped); window w
/// holds steps [w·T, w·T + T) of every stream as inputs and the following ids as targets.
/// Consecutive windows continue each stream, so carrying the state across them is exact.
/// Layout is time-major: index t·B + b.
/// </summary>
public sealed class LanguageModelBatches
{
    private readonly int[] _ids;

    /// <summary>B, the number of parallel streams (the batch size of every window).</summary>
    public int Batch { get; }
    /// <summary>Window length T: the requested one, or a whole stream when that is shorter.</summary>
    public int Bptt { get; }
    /// <summary>Ids per stream.</summary>
    public int StreamLength { get; }
    /// <summary>The number of windows, ⌈(<see cref="StreamLength"/> − 1) / <see cref="Bptt"/>⌉: every id of a stream but its last is an input once.</summary>
    public int WindowCount { get; }

    /// <summary>Cuts <paramref name="ids"/> into <paramref name="batch"/> streams of <c>ids.Length / batch</c> ids each.</summary>
    /// <param name="ids">The token ids of the whole text, in order; kept by reference, not copied.</param>
    /// <param name="batch">B, the number of parallel streams, at least 1.</param>
    /// <param name="bptt">The requested window length T, at least 1; reduced to <see cref="StreamLength"/> − 1 when the streams are shorter.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> or <paramref name="bptt"/> is below 1.</exception>
    /// <exception cref="ArgumentException">The streams would hold fewer than 2 ids each.</exception>
    public LanguageModelBatches(int[] ids, int batch, int bptt)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "Batch size must be at least 1.");
        if (bptt < 1) throw new ArgumentOutOfRangeException(nameof(bptt), bptt, "BPTT length must be at least 1.");
        StreamLength = ids.Length / batch;
        if (StreamLength < 2)
            throw new ArgumentException($"The text has {ids.Length} tokens: too few for {batch} parallel streams (each needs at least 2 tokens). Use a smaller --batch or more text.");
        _ids = ids;
        Batch = batch;
        // A window longer than a stream would never be filled: it is the stream (so B·T ≤ the ids, never an overflow).
        Bptt = Math.Min(bptt, StreamLength - 1);
        WindowCount = (StreamLength - 1 + Bptt - 1) / Bptt;
    }

    /// <summary>Fills inputs/targets (each at least Bptt·Batch long) with window w; returns its length T (the last may be shorter).</summary>
    public int GetWindow(int w, Span<int> inputs, Span<int> targets)
    {
        if ((uint)w >= (uint)WindowCount) throw new ArgumentOutOfRangeException(nameof(w), w, $"Window must be in 0..{WindowCount - 1}.");
        int start = w * Bptt;
        int T = Math.Min(Bptt, StreamLength - 1 - start);
        for (int t = 0; t < T; t++)
            for (int b = 0; b < Batch; b++)
            {
                int at = b * StreamLength + start + t;
                inputs[t * Batch + b] = _ids[at];
                targets[t * Batch + b] = _ids[at + 1];
            }
        return T;
    }
}
