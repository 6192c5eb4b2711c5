using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Recurrent.Numerics;

namespace Recurrent.Serialization;

/// <summary>
/// A whole safetensors file, read and validated by the reference implementation's rules.
/// </summary>
/// <remarks>
/// Layout: 8 bytes little-endian u64 <c>N</c>; <c>N</c> bytes of UTF-8 JSON
/// <c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, ..., "__metadata__": {"k": "v"}}</c>;
/// then one byte buffer that the tensors cover exactly, back to back, little-endian and
/// row-major. Any breach (header over 100,000,000 bytes, bad UTF-8 or JSON, a duplicate key,
/// an unknown dtype, a negative dimension, gaps or overlaps between tensors, a size that
/// disagrees with the shape, an overflowing count, bytes left over or missing) throws
/// <see cref="SafeTensorsException"/>.
/// </remarks>
public sealed class SafeTensorFile
{
    /// <summary>The reference reader's limit on the JSON header ("prevent DOS attacks").</summary>
    public const ulong MaxHeaderSize = 100_000_000;

    private const string MetadataKey = "__metadata__";

    private readonly record struct Entry(string Name, SafeTensorsDType.Info DType, int[] Shape, ulong Count, ulong Begin, ulong End);

    private readonly Dictionary<string, Entry> _entries;
    private readonly byte[] _data;
    private readonly string? _sourceName;

    private SafeTensorFile(List<Entry> entriesInFileOrder, Dictionary<string, string> metadata, byte[] data, string? sourceName)
    {
        _entries = new Dictionary<string, Entry>(entriesInFileOrder.Count, StringComparer.Ordinal);
        foreach (Entry e in entriesInFileOrder) _entries.Add(e.Name, e);
        Names = entriesInFileOrder.ConvertAll(e => e.Name).AsReadOnly();
        Metadata = metadata.AsReadOnly();
        _data = data;
        _sourceName = sourceName;
    }

    /// <summary>The <c>__metadata__</c> map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names in file order (sorted by data offset).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Reads and validates a whole file. The header is checked against the file length before the data buffer is allocated.</summary>
    /// <exception cref="SafeTensorsException">The file is not a valid safetensors file.</exception>
    /// <exception cref="IOException">The file cannot be opened or read.</exception>
    public static SafeTensorFile Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        try
        {
            long fileLength = stream.Length;
            if (fileLength < 8)
                throw new SafeTensorsException(SafeTensorsError.HeaderTooSmall, path, $"file is {fileLength} bytes, shorter than the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            stream.ReadExactly(prefix);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            CheckHeaderLength(headerLength, (ulong)fileLength, path);

            var header = new byte[headerLength];
            stream.ReadExactly(header);
            ulong bufferLength = (ulong)fileLength - 8 - headerLength;
            var (entries, metadata) = ParseHeader(header, bufferLength, path);

            if (bufferLength > (ulong)Array.MaxLength)
                throw new SafeTensorsException(SafeTensorsError.TooLarge, path, $"data buffer of {bufferLength} bytes is larger than one .NET array can hold");
            byte[] data = GC.AllocateUninitializedArray<byte>((int)bufferLength);
            stream.ReadExactly(data);
            return new SafeTensorFile(entries, metadata, data, path);
        }
        catch (EndOfStreamException ex)
        {
            throw new SafeTensorsException(SafeTensorsError.IncompleteBuffer, path, "file ended before its declared length (was it changed while being read?)", ex);
        }
    }

    /// <summary>Parses and validates a whole file held in memory. The data are copied.</summary>
    /// <param name="bytes">The complete file.</param>
    /// <param name="sourceName">A name for error messages (e.g. the file path), or null.</param>
    /// <exception cref="SafeTensorsException">The bytes are not a valid safetensors file.</exception>
    public static SafeTensorFile Parse(ReadOnlySpan<byte> bytes, string? sourceName = null)
    {
        if (bytes.Length < 8)
            throw new SafeTensorsException(SafeTensorsError.HeaderTooSmall, sourceName, $"data is {bytes.Length} bytes, shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        CheckHeaderLength(headerLength, (ulong)bytes.Length, sourceName);
        int headerEnd = 8 + (int)headerLength;
        byte[] header = bytes[8..headerEnd].ToArray();
        var (entries, metadata) = ParseHeader(header, (ulong)(bytes.Length - headerEnd), sourceName);
        return new SafeTensorFile(entries, metadata, bytes[headerEnd..].ToArray(), sourceName);
    }

    /// <summary>Whether the file holds a tensor with this exact (ordinal, case-sensitive) name; <c>__metadata__</c> is not a tensor.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>True if <paramref name="name"/> is one of <see cref="Names"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>The dtype string as stored ("F32", "F64", "I64", ...).</summary>
    public string DType(string name) => Find(name).DType.Name;

    /// <summary>A copy of the tensor's shape (empty for a rank-0 scalar).</summary>
    public int[] Shape(string name) => (int[])Find(name).Shape.Clone();

    /// <summary>The values as float32, converted from F16, BF16, F32, F64 or any integer or BOOL dtype.</summary>
    public float[] GetFloat32(string name)
    {
        Entry e = Find(name);
        ReadOnlySpan<byte> src = Bytes(e);
        var dst = new float[CountAsInt(e)];
        switch (e.DType.Name)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
                break;
            case "BF16":
                for (int i = 0; i < dst.Length; i++) dst[i] = BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]));
                break;
            case "F64":
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]);
                break;
            default:
                if (!IsInteger(e.DType.Name)) throw Unsupported(e, "float32");
                for (int i = 0; i < dst.Length; i++) dst[i] = (float)ReadInteger(e.DType.Name, src, i);
                break;
        }
        return dst;
    }

    /// <summary>The values as float64, converted from F16, BF16, F32, F64 or any integer or BOOL dtype.</summary>
    public double[] GetFloat64(string name)
    {
        Entry e = Find(name);
        ReadOnlySpan<byte> src = Bytes(e);
        var dst = new double[CountAsInt(e)];
        switch (e.DType.Name)
        {
            case "F64":
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, double>(src).CopyTo(dst);
                else for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadDoubleLittleEndian(src[(8 * i)..]);
                break;
            case "F32":
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
                break;
            case "F16":
                for (int i = 0; i < dst.Length; i++) dst[i] = (double)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
                break;
            case "BF16":
                for (int i = 0; i < dst.Length; i++) dst[i] = BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]));
                break;
            default:
                if (!IsInteger(e.DType.Name)) throw Unsupported(e, "float64");
                for (int i = 0; i < dst.Length; i++) dst[i] = (double)ReadInteger(e.DType.Name, src, i);
                break;
        }
        return dst;
    }

    /// <summary>The values as int64, from an integer dtype (I8..I64, U8..U64) or BOOL (0 or 1). U64 values above <see cref="long.MaxValue"/> throw.</summary>
    public long[] GetInt64(string name)
    {
        Entry e = Find(name);
        ReadOnlySpan<byte> src = Bytes(e);
        if (!IsInteger(e.DType.Name)) throw Unsupported(e, "int64");
        var dst = new long[CountAsInt(e)];
        for (int i = 0; i < dst.Length; i++)
        {
            Int128 v = ReadInteger(e.DType.Name, src, i);
            if (v > long.MaxValue)
                throw new SafeTensorsException(SafeTensorsError.UnsupportedConversion, _sourceName, $"tensor '{e.Name}' element {i} = {v} does not fit in int64");
            dst[i] = (long)v;
        }
        return dst;
    }

    /// <summary>The tensor as a float32 <see cref="Tensor"/> with the file's shape (rank 0 gives shape []).</summary>
    public Tensor GetTensor(string name)
    {
        Entry e = Find(name);
        return new Tensor(GetFloat32(name), e.Shape);
    }

    private Entry Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_entries.TryGetValue(name, out Entry e))
            throw new SafeTensorsException(SafeTensorsError.TensorNotFound, _sourceName, $"no tensor named '{name}'");
        return e;
    }

    private ReadOnlySpan<byte> Bytes(Entry e) => _data.AsSpan((int)e.Begin, (int)(e.End - e.Begin));

    private int CountAsInt(Entry e)
    {
        if (e.Count > (ulong)Array.MaxLength)
            throw new SafeTensorsException(SafeTensorsError.TooLarge, _sourceName, $"tensor '{e.Name}' has {e.Count} elements, more than one .NET array can hold");
        return (int)e.Count;
    }

    private SafeTensorsException Unsupported(Entry e, string target) =>
        new(SafeTensorsError.UnsupportedConversion, _sourceName, $"tensor '{e.Name}' has dtype {e.DType.Name}, which cannot be read as {target}");

    private static bool IsInteger(string dtype) =>
        dtype is "BOOL" or "U8" or "I8" or "I16" or "U16" or "I32" or "U32" or "I64" or "U64";

    // Element i of an integer or BOOL tensor; Int128 holds every I64 and U64 value exactly.
    private static Int128 ReadInteger(string dtype, ReadOnlySpan<byte> src, int i) => dtype switch
    {
        "BOOL" => src[i] != 0 ? 1 : 0,
        "U8" => src[i],
        "I8" => (sbyte)src[i],
        "I16" => BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]),
        "U16" => BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]),
        "I32" => BinaryPrimitives.ReadInt32LittleEndian(src[(4 * i)..]),
        "U32" => BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]),
        "I64" => BinaryPrimitives.ReadInt64LittleEndian(src[(8 * i)..]),
        "U64" => BinaryPrimitives.ReadUInt64LittleEndian(src[(8 * i)..]),
        _ => throw new InvalidOperationException($"{dtype} is not an integer dtype."),
    };

    private static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    private static void CheckHeaderLength(ulong headerLength, ulong totalLength, string? sourceName)
    {
        if (headerLength > MaxHeaderSize)
            throw new SafeTensorsException(SafeTensorsError.HeaderTooLarge, sourceName, $"header length {headerLength} exceeds the limit of {MaxHeaderSize} bytes");
        if (8 + headerLength > totalLength)
            throw new SafeTensorsException(SafeTensorsError.InvalidHeaderLength, sourceName, $"header length {headerLength} runs past the end of the {totalLength}-byte file");
    }

    // Validates the JSON header against a data buffer of bufferLength bytes; returns the entries in file order.
    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(byte[] header, ulong bufferLength, string? sourceName)
    {
        if (!Utf8.IsValid(header))
            throw new SafeTensorsException(SafeTensorsError.InvalidHeaderUtf8, sourceName, "header is not valid UTF-8");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException ex)
        {
            throw new SafeTensorsException(SafeTensorsError.InvalidHeaderJson, sourceName, $"header is not valid JSON ({ex.Message})", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Structure(sourceName, $"header is a JSON {Describe(root.ValueKind)}, not an object");

            var entries = new List<Entry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new SafeTensorsException(SafeTensorsError.DuplicateKey, sourceName, $"key '{property.Name}' appears more than once in the header");
                if (property.Name == MetadataKey)
                    ReadMetadata(property.Value, metadata, sourceName);
                else
                    entries.Add(ReadEntry(property.Name, property.Value, sourceName));
            }

            CheckLayout(entries, bufferLength, sourceName);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string? sourceName)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Structure(sourceName, $"'{MetadataKey}' is a JSON {Describe(value.ValueKind)}, not an object of strings");
        foreach (JsonProperty item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw Structure(sourceName, $"metadata value for '{item.Name}' is a JSON {Describe(item.Value.ValueKind)}, not a string");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw new SafeTensorsException(SafeTensorsError.DuplicateKey, sourceName, $"metadata key '{item.Name}' appears more than once");
        }
    }

    private static Entry ReadEntry(string name, JsonElement value, string? sourceName)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw Structure(sourceName, $"entry for tensor '{name}' is a JSON {Describe(value.ValueKind)}, not an object");

        // Unknown fields are ignored, as the reference reader does; known ones must appear once.
        JsonElement? dtypeField = null, shapeField = null, offsetsField = null;
        foreach (JsonProperty field in value.EnumerateObject())
        {
            switch (field.Name)
            {
                case "dtype": SetOnce(ref dtypeField, field); break;
                case "shape": SetOnce(ref shapeField, field); break;
                case "data_offsets": SetOnce(ref offsetsField, field); break;
            }
        }

        void SetOnce(ref JsonElement? slot, JsonProperty field)
        {
            if (slot is not null)
                throw new SafeTensorsException(SafeTensorsError.DuplicateKey, sourceName, $"field '{field.Name}' appears more than once in tensor '{name}'");
            slot = field.Value;
        }

        if (dtypeField is not { } dtypeElement) throw Structure(sourceName, $"tensor '{name}' has no 'dtype'");
        if (shapeField is not { } shapeElement) throw Structure(sourceName, $"tensor '{name}' has no 'shape'");
        if (offsetsField is not { } offsetsElement) throw Structure(sourceName, $"tensor '{name}' has no 'data_offsets'");

        if (dtypeElement.ValueKind != JsonValueKind.String)
            throw Structure(sourceName, $"'dtype' of tensor '{name}' is a JSON {Describe(dtypeElement.ValueKind)}, not a string");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDType.TryGet(dtypeName, out SafeTensorsDType.Info dtype))
            throw new SafeTensorsException(SafeTensorsError.UnknownDType, sourceName, $"tensor '{name}' has unknown dtype '{dtypeName}'");

        if (shapeElement.ValueKind != JsonValueKind.Array)
            throw Structure(sourceName, $"'shape' of tensor '{name}' is a JSON {Describe(shapeElement.ValueKind)}, not an array");
        var dims = new ulong[shapeElement.GetArrayLength()];
        for (int i = 0; i < dims.Length; i++)
            dims[i] = ReadUnsigned(shapeElement[i], $"dimension {i} of tensor '{name}'", SafeTensorsError.InvalidShape, sourceName);

        if (offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw Structure(sourceName, $"'data_offsets' of tensor '{name}' is not an array of two integers");
        ulong begin = ReadUnsigned(offsetsElement[0], $"BEGIN offset of tensor '{name}'", SafeTensorsError.InvalidOffset, sourceName);
        ulong end = ReadUnsigned(offsetsElement[1], $"END offset of tensor '{name}'", SafeTensorsError.InvalidOffset, sourceName);

        // Element count with overflow checks, as the reference does before comparing sizes.
        ulong count = 1;
        foreach (ulong d in dims)
        {
            if (d != 0 && count > ulong.MaxValue / d)
                throw new SafeTensorsException(SafeTensorsError.ValidationOverflow, sourceName, $"element count of tensor '{name}' with shape {FormatShape(dims)} overflows 64 bits");
            count *= d;
        }
        if (count > ulong.MaxValue / (ulong)dtype.Bits)
            throw new SafeTensorsException(SafeTensorsError.ValidationOverflow, sourceName, $"bit count of tensor '{name}' with shape {FormatShape(dims)} and dtype {dtype.Name} overflows 64 bits");

        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] > int.MaxValue)
                throw new SafeTensorsException(SafeTensorsError.InvalidShape, sourceName, $"dimension {i} of tensor '{name}' is {dims[i]}, larger than {int.MaxValue}");
            shape[i] = (int)dims[i];
        }
        return new Entry(name, dtype, shape, count, begin, end);
    }

    // Sorted by offset, tensors must tile the data buffer exactly, each spanning count × size bytes.
    private static void CheckLayout(List<Entry> entries, ulong bufferLength, string? sourceName)
    {
        entries.Sort(static (a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0) c = a.End.CompareTo(b.End);
            return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
        });

        ulong expected = 0;
        foreach (Entry e in entries)
        {
            if (e.Begin != expected || e.End < e.Begin)
            {
                string what = e.End < e.Begin ? "END is before BEGIN"
                    : e.Begin > expected ? $"leaves a gap: previous tensor ends at {expected}"
                    : $"overlaps the previous tensor, which ends at {expected}";
                throw new SafeTensorsException(SafeTensorsError.InvalidOffset, sourceName, $"tensor '{e.Name}' has data_offsets [{e.Begin}, {e.End}]: {what}");
            }
            expected = e.End;

            ulong bits = e.Count * (ulong)e.DType.Bits;
            if (bits % 8 != 0)
                throw new SafeTensorsException(SafeTensorsError.MisalignedSlice, sourceName, $"tensor '{e.Name}' of dtype {e.DType.Name} with {e.Count} elements does not end on a byte boundary");
            ulong size = bits / 8;
            if (e.End - e.Begin != size)
                throw new SafeTensorsException(SafeTensorsError.TensorInvalidInfo, sourceName,
                    $"tensor '{e.Name}' of dtype {e.DType.Name} and shape {FormatShape(e.Shape)} needs {size} bytes but data_offsets [{e.Begin}, {e.End}] span {e.End - e.Begin}");
        }

        if (expected != bufferLength)
            throw new SafeTensorsException(SafeTensorsError.IncompleteBuffer, sourceName, $"tensors cover {expected} bytes but the data buffer holds {bufferLength}");
    }

    private static ulong ReadUnsigned(JsonElement element, string what, SafeTensorsError error, string? sourceName)
    {
        if (element.ValueKind != JsonValueKind.Number)
            throw Structure(sourceName, $"{what} is a JSON {Describe(element.ValueKind)}, not an integer");
        if (element.TryGetUInt64(out ulong value)) return value;
        string raw = element.GetRawText();
        string reason = raw.StartsWith('-') ? "is negative" : "is not a non-negative 64-bit integer";
        throw new SafeTensorsException(error, sourceName, $"{what} ({raw}) {reason}");
    }

    private static SafeTensorsException Structure(string? sourceName, string detail) =>
        new(SafeTensorsError.InvalidHeaderStructure, sourceName, detail);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => kind.ToString(),
    };

    private static string FormatShape<T>(T[] dims) => "[" + string.Join(", ", dims) + "]";
}
