using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using Recurrent.Numerics;

namespace Recurrent.Serialization;

/// <summary>
/// Writes float32 tensors as a safetensors file, laid out as the reference writer does:
/// tensors sorted by dtype alignment (descending) then name, <c>__metadata__</c> first in the
/// header, the header padded with spaces to a multiple of 8 bytes so the data are 8-byte aligned.
/// Read files back with <see cref="SafeTensorFile"/>.
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const int HeaderAlignment = 8;

    /// <summary>
    /// Writes the tensors (as F32) to <paramref name="path"/> atomically: everything is validated
    /// first, then written to a temporary file in the same folder, flushed to disk and renamed over
    /// the target, so a failure leaves any existing file untouched and no temporary file behind.
    /// </summary>
    /// <exception cref="SafeTensorsException">A name is reserved (<c>__metadata__</c>), duplicated or null, a tensor or metadata value is null.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        Layout layout = Plan(tensors, metadata, path);
        AtomicFile.Write(path, layout.WriteTo);
    }

    /// <summary>The bytes of a safetensors file holding the tensors (as F32) and the metadata.</summary>
    /// <exception cref="SafeTensorsException">A name is reserved, duplicated or null, a value is null, or the result exceeds one .NET array.</exception>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Layout layout = Plan(tensors, metadata, sourceName: null);
        if (layout.TotalLength > Array.MaxLength)
            throw new SafeTensorsException(SafeTensorsError.TooLarge, null, $"serialized size {layout.TotalLength} bytes is larger than one .NET array can hold");
        var bytes = new byte[layout.TotalLength];
        using (var stream = new MemoryStream(bytes, writable: true))
            layout.WriteTo(stream);
        return bytes;
    }

    // The validated, ordered tensors and the padded header; everything that can fail is checked here, before any I/O.
    private sealed class Layout(List<KeyValuePair<string, Tensor>> tensors, byte[] header)
    {
        public long TotalLength { get; } = 8 + header.LongLength + tensors.Sum(t => 4L * t.Value.Length);

        public void WriteTo(Stream stream)
        {
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (var (_, tensor) in tensors) WriteFloats(stream, tensor.Span);
        }
    }

    private static Layout Plan(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata, string? sourceName)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<KeyValuePair<string, Tensor>>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in tensors)
        {
            if (pair.Key is null) throw Invalid(sourceName, "a tensor name is null");
            if (pair.Key == MetadataKey) throw Invalid(sourceName, $"'{MetadataKey}' is reserved for metadata and cannot name a tensor");
            if (!names.Add(pair.Key)) throw Invalid(sourceName, $"tensor name '{pair.Key}' appears more than once");
            if (pair.Value is null) throw Invalid(sourceName, $"tensor '{pair.Key}' is null");
            list.Add(pair);
        }
        if (metadata is not null)
            foreach (var (key, value) in metadata)
                if (value is null) throw Invalid(sourceName, $"metadata value for '{key}' is null");

        // Reference order: dtype alignment descending, then name. Every tensor here is F32, so by name.
        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new Layout(list, BuildHeader(list, metadata));
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                long end = offset + 4L * tensor.Length;
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (int d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }
            json.WriteEndObject();
        }

        int padded = (buffer.WrittenCount + HeaderAlignment - 1) / HeaderAlignment * HeaderAlignment;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> chunk = stackalloc byte[4096];
        while (!values.IsEmpty)
        {
            int n = Math.Min(values.Length, chunk.Length / 4);
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(chunk[(4 * i)..], values[i]);
            stream.Write(chunk[..(4 * n)]);
            values = values[n..];
        }
    }

    private static SafeTensorsException Invalid(string? sourceName, string detail) =>
        new(SafeTensorsError.InvalidInput, sourceName, detail);
}
