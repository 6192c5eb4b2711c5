namespace Recurrent.Serialization;

/// <summary>
/// What was wrong with a safetensors file or with the tensors handed to the writer. The
/// reading kinds follow the reference implementation's error taxonomy
/// (<c>HeaderTooSmall</c>, <c>HeaderTooLarge</c>, <c>InvalidOffset</c>, ...).
/// </summary>
public enum SafeTensorsError
{
    /// <summary>Fewer than the 8 bytes of the header-length prefix.</summary>
    HeaderTooSmall,
    /// <summary>The header length exceeds the 100,000,000-byte limit.</summary>
    HeaderTooLarge,
    /// <summary>The header length runs past the end of the file.</summary>
    InvalidHeaderLength,
    /// <summary>The header is not valid UTF-8.</summary>
    InvalidHeaderUtf8,
    /// <summary>The header is not valid JSON.</summary>
    InvalidHeaderJson,
    /// <summary>The JSON is valid but not shaped like a safetensors header (not an object, a missing or mistyped field, bad metadata).</summary>
    InvalidHeaderStructure,
    /// <summary>A tensor name, or a field inside one tensor entry, appears twice.</summary>
    DuplicateKey,
    /// <summary>A dtype string that is not in the safetensors dtype list.</summary>
    UnknownDType,
    /// <summary>A negative, non-integer or unrepresentably large dimension.</summary>
    InvalidShape,
    /// <summary>Tensors sorted by offset leave a gap, overlap, or have END before BEGIN.</summary>
    InvalidOffset,
    /// <summary>END − BEGIN differs from element count × element size.</summary>
    TensorInvalidInfo,
    /// <summary>The tensors do not cover the data buffer exactly.</summary>
    IncompleteBuffer,
    /// <summary>An element count or byte count overflows 64 bits.</summary>
    ValidationOverflow,
    /// <summary>A sub-byte dtype whose tensor does not end on a byte boundary.</summary>
    MisalignedSlice,
    /// <summary>A tensor name that the file does not hold.</summary>
    TensorNotFound,
    /// <summary>The tensor's dtype cannot be converted to the requested element type.</summary>
    UnsupportedConversion,
    /// <summary>The file or tensor is larger than one .NET array can hold.</summary>
    TooLarge,
    /// <summary>The writer was handed something it cannot store (reserved or duplicate name, null tensor or value).</summary>
    InvalidInput,
}

/// <summary>
/// A safetensors file (or the tensors to be written to one) is invalid. The message is one
/// line naming the file, when known, and what is wrong.
/// </summary>
public sealed class SafeTensorsException : Exception
{
    /// <summary>Creates the exception; the message is "safetensors file '<paramref name="sourceName"/>': <paramref name="detail"/>" (or "safetensors data: …" when no name is known), with line breaks replaced by spaces.</summary>
    /// <param name="error">Which rule was broken; becomes <see cref="Error"/>.</param>
    /// <param name="sourceName">The file path or other name of the data, or null when there is none; becomes <see cref="SourceName"/>.</param>
    /// <param name="detail">What is wrong, in words.</param>
    /// <param name="innerException">The exception that caused this one (e.g. a JSON or I/O error), or null.</param>
    public SafeTensorsException(SafeTensorsError error, string? sourceName, string detail, Exception? innerException = null)
        : base(FormatMessage(sourceName, detail), innerException)
    {
        Error = error;
        SourceName = sourceName;
    }

    /// <summary>Which rule was broken.</summary>
    public SafeTensorsError Error { get; }

    /// <summary>The file path (or other name) given when reading or writing, if any.</summary>
    public string? SourceName { get; }

    private static string FormatMessage(string? sourceName, string detail)
    {
        string where = sourceName is null ? "safetensors data" : $"safetensors file '{sourceName}'";
        return $"{where}: {detail}".ReplaceLineEndings(" ");
    }
}
