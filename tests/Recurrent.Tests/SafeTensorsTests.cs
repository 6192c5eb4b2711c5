using System.Buffers.Binary;
using System.Text;
using Recurrent.Numerics;
using Recurrent.Serialization;

namespace Recurrent.Tests;

public class SafeTensorsTests
{
    private const string Source = "bad.safetensors";

    // ---- helpers: hand-built files -------------------------------------------------------

    /// <summary>8-byte LE header length, the header bytes, then the data.</summary>
    private static byte[] Build(byte[] header, byte[] data, ulong? declaredHeaderLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredHeaderLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static byte[] Build(string headerJson, int dataLength) => Build(Encoding.UTF8.GetBytes(headerJson), new byte[dataLength]);

    private static SafeTensorsException AssertRejected(byte[] bytes, SafeTensorsError expected)
    {
        var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorFile.Parse(bytes, Source));
        Assert.Equal(expected, ex.Error);
        Assert.Contains(Source, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        return ex;
    }

    private static Tensor MakeTensor(int[] shape, int seed)
    {
        var t = new Tensor(shape);
        var rng = new Random(seed);
        for (int i = 0; i < t.Length; i++) t.Data[i] = (float)(rng.NextDouble() * 2 - 1);
        return t;
    }

    private static string TempFolder()
    {
        string dir = Path.Combine(Path.GetTempPath(), "recurrent-safetensors-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string HeaderText(byte[] file)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        return Encoding.UTF8.GetString(file, 8, (int)n);
    }

    // ---- writer and round trips -------------------------------------------------------------

    [Fact]
    public void RoundTripKeepsValuesShapesAndMetadata()
    {
        var special = new Tensor([float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0.0f, float.Epsilon, float.MaxValue], 2, 3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["weight_ih_l0"] = MakeTensor([6, 4], 1),
            ["bias_hh_l1_reverse"] = MakeTensor([6], 2),
            ["special"] = special,
            ["ünïcode name"] = MakeTensor([1, 1, 2], 3),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "quotes \" and \\ and\nnewline", ["empty"] = "" };

        var file = SafeTensorFile.Parse(SafeTensors.Serialize(tensors, metadata));

        Assert.Equal(tensors.Keys.Order(StringComparer.Ordinal), file.Names);
        Assert.Equal(metadata.OrderBy(m => m.Key), file.Metadata.OrderBy(m => m.Key));
        foreach (var (name, tensor) in tensors)
        {
            Assert.True(file.Contains(name));
            Assert.Equal("F32", file.DType(name));
            Assert.Equal(tensor.Shape, file.Shape(name));
            Tensor back = file.GetTensor(name);
            Assert.Equal(tensor.Shape, back.Shape);
            Assert.Equal(tensor.Span.ToArray().Select(BitConverter.SingleToInt32Bits), back.Span.ToArray().Select(BitConverter.SingleToInt32Bits));
            Assert.Equal(tensor.Span.ToArray().Select(v => (double)v), file.GetFloat64(name));
        }
        Assert.False(file.Contains("missing"));
    }

    [Fact]
    public void SaveAndLoadRoundTripThroughAFile()
    {
        string dir = TempFolder();
        try
        {
            string path = Path.Combine(dir, "model.safetensors");
            var tensors = new Dictionary<string, Tensor> { ["a"] = MakeTensor([3, 5], 4), ["b"] = MakeTensor([7], 5) };
            SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v" });

            Assert.Equal(SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["k"] = "v" }), File.ReadAllBytes(path));
            var file = SafeTensorFile.Load(path);
            Assert.Equal("v", file.Metadata["k"]);
            Assert.Equal(tensors["a"].Span.ToArray(), file.GetFloat32("a"));
            Assert.Equal(tensors["b"].Span.ToArray(), file.GetFloat32("b"));
            Assert.Equal(["model.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void RankZeroAndEmptyTensorsRoundTrip()
    {
        var scalar = new Tensor([2.5f]);
        var tensors = new Dictionary<string, Tensor>
        {
            ["scalar"] = scalar,
            ["empty"] = new Tensor(0, 5),
            ["also_empty"] = new Tensor(3, 0),
        };
        byte[] bytes = SafeTensors.Serialize(tensors);
        Assert.Contains("\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}", HeaderText(bytes));

        var file = SafeTensorFile.Parse(bytes);
        Assert.Empty(file.Shape("scalar"));
        Tensor back = file.GetTensor("scalar");
        Assert.Equal(0, back.Rank);
        Assert.Equal(1, back.Length);
        Assert.Equal(2.5f, back.Span[0]);
        Assert.Equal([0, 5], file.Shape("empty"));
        Assert.Empty(file.GetFloat32("empty"));
        Assert.Equal(0, file.GetTensor("also_empty").Length);
        Assert.Equal([3, 0], file.GetTensor("also_empty").Shape);
    }

    [Fact]
    public void EmptyFileWithNoTensorsRoundTrips()
    {
        byte[] bytes = SafeTensors.Serialize([]);
        Assert.Equal(16, bytes.Length);   // "{}" padded to 8
        var file = SafeTensorFile.Parse(bytes);
        Assert.Empty(file.Names);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void HeaderIsPaddedWithSpacesToAMultipleOf8()
    {
        for (int nameLength = 1; nameLength <= 17; nameLength++)
        {
            var tensors = new Dictionary<string, Tensor> { [new string('x', nameLength)] = new Tensor(2) };
            byte[] bytes = SafeTensors.Serialize(tensors);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.Equal(0UL, n % 8);
            string header = HeaderText(bytes);
            string json = header.TrimEnd(' ');
            Assert.EndsWith("}", json);
            Assert.True(header.Length - json.Length < 8);
            Assert.Equal(8 + (int)n + 8, bytes.Length);
        }
    }

    [Fact]
    public void WriterPutsMetadataFirstAndSortsTensorsByName()
    {
        var tensors = new Dictionary<string, Tensor> { ["b"] = new Tensor(1), ["a"] = new Tensor(2, 1) };
        byte[] bytes = SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["z"] = "1", ["y"] = "2" });
        Assert.Equal(
            "{\"__metadata__\":{\"y\":\"2\",\"z\":\"1\"}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
            HeaderText(bytes).TrimEnd(' '));
    }

    [Fact]
    public void WriterUsesOnlyTheTensorsLogicalLength()
    {
        var t = new Tensor(10);
        t.Span.Fill(7);
        t.Resize(2, 2);   // buffer stays 10 long
        var file = SafeTensorFile.Parse(SafeTensors.Serialize([new("t", t)]));
        Assert.Equal([2, 2], file.Shape("t"));
        Assert.Equal(4, file.GetFloat32("t").Length);
    }

    [Fact]
    public void WriterRejectsReservedDuplicateAndNullInput()
    {
        var t = new Tensor(1);
        Assert.Equal(SafeTensorsError.InvalidInput, Assert.Throws<SafeTensorsException>(() => SafeTensors.Serialize([new("__metadata__", t)])).Error);
        Assert.Equal(SafeTensorsError.InvalidInput, Assert.Throws<SafeTensorsException>(() => SafeTensors.Serialize([new("a", t), new("a", t)])).Error);
        Assert.Equal(SafeTensorsError.InvalidInput, Assert.Throws<SafeTensorsException>(() => SafeTensors.Serialize([new("a", null!)])).Error);
        Assert.Equal(SafeTensorsError.InvalidInput, Assert.Throws<SafeTensorsException>(() =>
            SafeTensors.Serialize([new("a", t)], new Dictionary<string, string> { ["k"] = null! })).Error);
    }

    [Fact]
    public void SaveIsAtomicWhenSerializationFails()
    {
        string dir = TempFolder();
        try
        {
            string path = Path.Combine(dir, "weights.safetensors");
            SafeTensors.Save(path, [new("good", MakeTensor([4], 6))]);
            byte[] before = File.ReadAllBytes(path);

            var ex = Assert.Throws<SafeTensorsException>(() =>
                SafeTensors.Save(path, [new("fine", MakeTensor([1000], 7)), new("__metadata__", new Tensor(1))]));
            Assert.Equal(SafeTensorsError.InvalidInput, ex.Error);
            Assert.Contains(path, ex.Message);

            Assert.Equal(before, File.ReadAllBytes(path));
            Assert.Equal(["weights.safetensors"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void SaveReplacesAnExistingFile()
    {
        string dir = TempFolder();
        try
        {
            string path = Path.Combine(dir, "weights.safetensors");
            SafeTensors.Save(path, [new("old", new Tensor(100))]);
            SafeTensors.Save(path, [new("new", new Tensor(1))]);
            var file = SafeTensorFile.Load(path);
            Assert.Equal(["new"], file.Names);
            Assert.Single(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void SaveIntoAMissingFolderLeavesNothingBehind()
    {
        string dir = TempFolder();
        try
        {
            string path = Path.Combine(dir, "no", "such", "folder", "w.safetensors");
            Assert.ThrowsAny<IOException>(() => SafeTensors.Save(path, [new("a", new Tensor(1))]));
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // ---- reading hand-built files -------------------------------------------------------

    [Fact]
    public void ParsesTheFormatDocumentationExample()
    {
        byte[] header = Encoding.UTF8.GetBytes("{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}");
        var data = new byte[16];
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4 * i), i - 1);

        var file = SafeTensorFile.Parse(Build(header, data));

        Assert.Equal(["test"], file.Names);
        Assert.Equal("I32", file.DType("test"));
        Assert.Equal([2, 2], file.Shape("test"));
        Assert.Equal([-1L, 0, 1, 2], file.GetInt64("test"));
        Assert.Equal([-1f, 0, 1, 2], file.GetFloat32("test"));
        Assert.Equal([-1.0, 0, 1, 2], file.GetFloat64("test"));
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void NamesAreInOffsetOrderAndUnknownFieldsAreIgnored()
    {
        var file = SafeTensorFile.Parse(Build(
            "{\"late\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}," +
            "\"early\":{\"shape\":[2],\"extra\":[1,2],\"dtype\":\"U8\",\"data_offsets\":[0,2]}," +
            "\"__metadata__\":null}", 3));
        Assert.Equal(["early", "late"], file.Names);
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void ConvertsEveryNumericDType()
    {
        static byte[] Bytes(int count, Action<Span<byte>> fill) { var b = new byte[count]; fill(b); return b; }
        var parts = new (string Name, string DType, byte[] Data)[]
        {
            ("f16", "F16", Bytes(4, b => { BinaryPrimitives.WriteHalfLittleEndian(b, (Half)1.5); BinaryPrimitives.WriteHalfLittleEndian(b[2..], (Half)(-2)); })),
            ("bf16", "BF16", Bytes(4, b => { BinaryPrimitives.WriteUInt16LittleEndian(b, 0x3FC0); BinaryPrimitives.WriteUInt16LittleEndian(b[2..], 0xC000); })),
            ("f64", "F64", Bytes(16, b => { BinaryPrimitives.WriteDoubleLittleEndian(b, 1.5); BinaryPrimitives.WriteDoubleLittleEndian(b[8..], -2); })),
            ("i64", "I64", Bytes(16, b => { BinaryPrimitives.WriteInt64LittleEndian(b, 1); BinaryPrimitives.WriteInt64LittleEndian(b[8..], -2); })),
            ("i8", "I8", [1, 0xFE]),
            ("u16", "U16", Bytes(4, b => { BinaryPrimitives.WriteUInt16LittleEndian(b, 1); BinaryPrimitives.WriteUInt16LittleEndian(b[2..], 65535); })),
            ("bool", "BOOL", [1, 0]),
            ("u64", "U64", Bytes(16, b => { BinaryPrimitives.WriteUInt64LittleEndian(b, 3); BinaryPrimitives.WriteUInt64LittleEndian(b[8..], ulong.MaxValue); })),
            ("c64", "C64", new byte[16]),
        };
        var header = new StringBuilder("{");
        var data = new List<byte>();
        foreach (var (name, dtype, bytes) in parts)
        {
            int bits = dtype is "F16" or "BF16" or "U16" ? 16 : dtype is "I8" or "BOOL" ? 8 : 64;
            int count = dtype == "C64" ? 2 : bytes.Length * 8 / bits;
            header.Append($"\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{count}],\"data_offsets\":[{data.Count},{data.Count + bytes.Length}]}},");
            data.AddRange(bytes);
        }
        header.Length--;
        header.Append('}');
        var file = SafeTensorFile.Parse(Build(Encoding.UTF8.GetBytes(header.ToString()), data.ToArray()));

        Assert.Equal([1.5f, -2f], file.GetFloat32("f16"));
        Assert.Equal([1.5f, -2f], file.GetFloat32("bf16"));
        Assert.Equal([1.5, -2.0], file.GetFloat64("bf16"));
        Assert.Equal([1.5f, -2f], file.GetFloat32("f64"));
        Assert.Equal([1.5, -2.0], file.GetFloat64("f16"));
        Assert.Equal([1f, -2f], file.GetFloat32("i64"));
        Assert.Equal([1L, -2], file.GetInt64("i64"));
        Assert.Equal([1L, -2], file.GetInt64("i8"));
        Assert.Equal([1L, 65535], file.GetInt64("u16"));
        Assert.Equal([1L, 0], file.GetInt64("bool"));
        Assert.Equal([3.0, ulong.MaxValue], file.GetFloat64("u64"));

        Assert.Equal(SafeTensorsError.UnsupportedConversion, Assert.Throws<SafeTensorsException>(() => file.GetInt64("u64")).Error);
        Assert.Equal(SafeTensorsError.UnsupportedConversion, Assert.Throws<SafeTensorsException>(() => file.GetInt64("f64")).Error);
        Assert.Equal(SafeTensorsError.UnsupportedConversion, Assert.Throws<SafeTensorsException>(() => file.GetFloat32("c64")).Error);
        Assert.Equal(SafeTensorsError.TensorNotFound, Assert.Throws<SafeTensorsException>(() => file.GetFloat32("nope")).Error);
    }

    // ---- hostile input: one test per rule ------------------------------------------------

    [Fact]
    public void RejectsFileTooSmall() => AssertRejected(new byte[7], SafeTensorsError.HeaderTooSmall);

    [Fact]
    public void RejectsHeaderLengthLargerThanFile() =>
        AssertRejected(Build(Encoding.UTF8.GetBytes("{}"), [], declaredHeaderLength: 1000), SafeTensorsError.InvalidHeaderLength);

    [Fact]
    public void RejectsHeaderTooLarge()
    {
        AssertRejected(Build(Encoding.UTF8.GetBytes("{}"), [], declaredHeaderLength: 100_000_001), SafeTensorsError.HeaderTooLarge);
        AssertRejected(Build(Encoding.UTF8.GetBytes("{}"), [], declaredHeaderLength: ulong.MaxValue), SafeTensorsError.HeaderTooLarge);
    }

    [Fact]
    public void RejectsInvalidUtf8() =>
        AssertRejected(Build([(byte)'{', (byte)'"', 0xC3, 0x28, (byte)'"', (byte)':', (byte)'1', (byte)'}'], []), SafeTensorsError.InvalidHeaderUtf8);

    [Fact]
    public void RejectsInvalidJson()
    {
        AssertRejected(Build("{\"a\":", 0), SafeTensorsError.InvalidHeaderJson);
        AssertRejected(Build("", 0), SafeTensorsError.InvalidHeaderJson);
        AssertRejected(Build("{} {}", 0), SafeTensorsError.InvalidHeaderJson);
        AssertRejected(Build(new string('[', 1000) + new string(']', 1000), 0), SafeTensorsError.InvalidHeaderJson);
    }

    [Fact]
    public void RejectsJsonThatIsNotAnObject()
    {
        AssertRejected(Build("[1,2]", 0), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("\"x\"", 0), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"a\":[1]}", 0), SafeTensorsError.InvalidHeaderStructure);
    }

    [Fact]
    public void RejectsGapBetweenTensors() =>
        AssertRejected(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12), SafeTensorsError.InvalidOffset);

    [Fact]
    public void RejectsDataNotStartingAtZero() =>
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), SafeTensorsError.InvalidOffset);

    [Fact]
    public void RejectsOverlappingTensors() =>
        AssertRejected(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), SafeTensorsError.InvalidOffset);

    [Fact]
    public void RejectsEndBeforeBegin() =>
        AssertRejected(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4), SafeTensorsError.InvalidOffset);

    [Fact]
    public void RejectsSizeThatDisagreesWithShape() =>
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.TensorInvalidInfo);

    [Fact]
    public void RejectsIncompleteBuffer()
    {
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4), SafeTensorsError.IncompleteBuffer);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12), SafeTensorsError.IncompleteBuffer);
        AssertRejected(Build("{}", 1), SafeTensorsError.IncompleteBuffer);
    }

    [Fact]
    public void RejectsUnknownDType()
    {
        AssertRejected(Build("{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", 16), SafeTensorsError.UnknownDType);
        AssertRejected(Build("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.UnknownDType);
    }

    [Fact]
    public void RejectsDuplicateKeys()
    {
        AssertRejected(Build(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), SafeTensorsError.DuplicateKey);
        AssertRejected(Build("{\"__metadata__\":{},\"__metadata__\":{}}", 0), SafeTensorsError.DuplicateKey);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.DuplicateKey);
        AssertRejected(Build("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0), SafeTensorsError.DuplicateKey);
    }

    [Fact]
    public void RejectsOverflowingShape()
    {
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.ValidationOverflow);
        // The element count fits in 64 bits but the bit count does not.
        AssertRejected(Build("{\"a\":{\"dtype\":\"F64\",\"shape\":[4294967296,1073741824],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.ValidationOverflow);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551616],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.InvalidShape);
    }

    [Fact]
    public void RejectsNegativeOrFractionalDimensions()
    {
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0), SafeTensorsError.InvalidShape);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.InvalidShape);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4), SafeTensorsError.InvalidOffset);
    }

    [Fact]
    public void RejectsDimensionTooLargeForThisReader() =>
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[3000000000,0],\"data_offsets\":[0,0]}}", 0), SafeTensorsError.InvalidShape);

    [Fact]
    public void RejectsMissingOrMistypedFields()
    {
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4), SafeTensorsError.InvalidHeaderStructure);
    }

    [Fact]
    public void RejectsMetadataThatIsNotStringToString()
    {
        AssertRejected(Build("{\"__metadata__\":{\"k\":1}}", 0), SafeTensorsError.InvalidHeaderStructure);
        AssertRejected(Build("{\"__metadata__\":[\"k\"]}", 0), SafeTensorsError.InvalidHeaderStructure);
    }

    [Fact]
    public void RejectsMisalignedSubByteTensor() =>
        AssertRejected(Build("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2), SafeTensorsError.MisalignedSlice);

    [Fact]
    public void CorruptedFilesThrowOnlySafeTensorsException()
    {
        var tensors = new Dictionary<string, Tensor> { ["a"] = MakeTensor([3, 2], 8), ["b"] = new Tensor(), ["c"] = new Tensor(0, 4) };
        byte[] good = SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["k"] = "v" });

        for (int length = 0; length < good.Length; length++)
            Assert.Throws<SafeTensorsException>(() => SafeTensorFile.Parse(good.AsSpan(0, length)));

        var rng = new Random(12345);
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] bad = (byte[])good.Clone();
            int edits = 1 + rng.Next(3);
            for (int e = 0; e < edits; e++)
            {
                // Mostly mutate the prefix and header, where the structure lives.
                int at = rng.Next(100) < 90 ? rng.Next(Math.Min(bad.Length, 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(good))) : rng.Next(bad.Length);
                bad[at] = rng.Next(4) == 0 ? (byte)"0123456789[]{},:\"-"[rng.Next(18)] : (byte)rng.Next(256);
            }
            try
            {
                var file = SafeTensorFile.Parse(bad);
                foreach (string name in file.Names)
                {
                    try { _ = file.GetTensor(name); _ = file.GetFloat64(name); }
                    catch (SafeTensorsException) { }
                }
            }
            catch (SafeTensorsException) { }
        }
    }

    // ---- Load: checks against the file length before allocating ----------------------------

    [Fact]
    public void LoadRejectsHostileFilesWithTheFileName()
    {
        string dir = TempFolder();
        try
        {
            string path = Path.Combine(dir, "hostile.safetensors");
            void Expect(byte[] bytes, SafeTensorsError error)
            {
                File.WriteAllBytes(path, bytes);
                var ex = Assert.Throws<SafeTensorsException>(() => SafeTensorFile.Load(path));
                Assert.Equal(error, ex.Error);
                Assert.Contains("hostile.safetensors", ex.Message);
                Assert.Equal(path, ex.SourceName);
            }

            Expect([1, 2, 3], SafeTensorsError.HeaderTooSmall);
            Expect(Build(Encoding.UTF8.GetBytes("{}"), [], declaredHeaderLength: 50), SafeTensorsError.InvalidHeaderLength);
            Expect(Build(Encoding.UTF8.GetBytes("{}"), [], declaredHeaderLength: 1UL << 60), SafeTensorsError.HeaderTooLarge);
            // Claims a 4 GB tensor in a tiny file: must be refused from the header, not by running out of memory.
            Expect(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000],\"data_offsets\":[0,4000000000]}}", 16), SafeTensorsError.IncompleteBuffer);
            Expect(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12), SafeTensorsError.IncompleteBuffer);

            SafeTensors.Save(path, [new("x", new Tensor(3))]);
            var file = SafeTensorFile.Load(path);
            var missing = Assert.Throws<SafeTensorsException>(() => file.GetFloat32("y"));
            Assert.Equal(SafeTensorsError.TensorNotFound, missing.Error);
            Assert.Contains("hostile.safetensors", missing.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // ---- PyTorch reference fixtures (scripts/make_fixtures.py) --------------------------------

    private static readonly string[] Modes = ["rnn_tanh", "rnn_relu", "lstm", "gru"];

    /// <summary>Every fixture the script writes: 4 modes × 3 depths × uni/bi × equal/ragged × h0/zero, plus one large file per mode.</summary>
    private static List<string> AllFixtureNames()
    {
        var names = new List<string>();
        foreach (string mode in Modes)
            foreach (int layers in new[] { 1, 2, 3 })
                foreach (string dir in new[] { "uni", "bi" })
                    foreach (string lengths in new[] { "equal", "ragged" })
                        foreach (string state in new[] { "h0", "zero" })
                            names.Add($"{mode}_l{layers}_{dir}_{lengths}_{state}");
        foreach (string mode in Modes) names.Add($"{mode}_large");
        return names;
    }

    public static TheoryData<string> FixtureNames() => new(AllFixtureNames());

    [Fact]
    public void FixtureFolderHoldsExactlyTheExpectedFiles()
    {
        string folder = TestPaths.Fixture("rnn");
        Assert.True(Directory.Exists(folder), $"missing {folder}: run /usr/bin/python3 scripts/make_fixtures.py");
        var expected = AllFixtureNames().Select(name => name + ".safetensors").Order(StringComparer.Ordinal);
        Assert.Equal(100, expected.Count());
        var actual = Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [MemberData(nameof(FixtureNames))]
    public void FixtureIsCompleteAndShapesAreConsistent(string fixture)
    {
        var file = SafeTensorFile.Load(TestPaths.Fixture($"rnn/{fixture}.safetensors"));
        var meta = file.Metadata;
        foreach (string key in new[] { "mode", "num_layers", "bidirectional", "input_size", "hidden_size", "batch", "seq_len", "torch_version", "seed", "loss_definition" })
            Assert.True(meta.ContainsKey(key), $"{fixture}: metadata lacks '{key}'");

        string mode = meta["mode"];
        bool large = fixture.EndsWith("_large", StringComparison.Ordinal);
        Assert.StartsWith(mode.ToLowerInvariant() + "_", fixture);
        int L = int.Parse(meta["num_layers"]), I = int.Parse(meta["input_size"]), H = int.Parse(meta["hidden_size"]);
        int B = int.Parse(meta["batch"]), T = int.Parse(meta["seq_len"]);
        Assert.Contains(meta["bidirectional"], new[] { "true", "false" });
        bool bidirectional = meta["bidirectional"] == "true";
        int D = bidirectional ? 2 : 1;
        bool ragged = large || fixture.Contains("_ragged_");
        bool withH0 = large || fixture.EndsWith("_h0", StringComparison.Ordinal);
        bool lstm = mode == "LSTM";
        int G = mode switch { "RNN_TANH" or "RNN_RELU" => 1, "LSTM" => 4, "GRU" => 3, _ => throw new Xunit.Sdk.XunitException($"{fixture}: unknown mode {mode}") };
        if (large) Assert.Equal((2, true, 33, 70, 6, 17), (L, bidirectional, I, H, B, T));
        else
        {
            Assert.Contains($"_l{L}_{(bidirectional ? "bi" : "uni")}_", fixture);
            Assert.Equal((7, 13, 5, 9), (I, H, B, T));
        }

        // Every tensor the fixture must hold, with its dtype and shape; nothing else.
        var expected = new Dictionary<string, (string DType, int[] Shape)>();
        for (int layer = 0; layer < L; layer++)
            for (int d = 0; d < D; d++)
            {
                string suffix = $"_l{layer}" + (d == 1 ? "_reverse" : "");
                var shapes = new (string Name, int[] Shape)[]
                {
                    ("weight_ih" + suffix, [G * H, layer == 0 ? I : D * H]),
                    ("weight_hh" + suffix, [G * H, H]),
                    ("bias_ih" + suffix, [G * H]),
                    ("bias_hh" + suffix, [G * H]),
                };
                foreach (var (name, shape) in shapes)
                {
                    expected["param." + name] = ("F32", shape);
                    expected["grad.param." + name] = ("F64", shape);
                }
            }
        expected["input"] = ("F32", [T, B, I]);
        expected["lengths"] = ("I64", [B]);
        expected["output"] = ("F64", [T, B, D * H]);
        expected["h_n"] = ("F64", [L * D, B, H]);
        expected["dloss.output"] = ("F32", [T, B, D * H]);
        expected["dloss.h_n"] = ("F32", [L * D, B, H]);
        expected["loss"] = ("F64", []);
        expected["grad.input"] = ("F64", [T, B, I]);
        if (lstm)
        {
            expected["c_n"] = ("F64", [L * D, B, H]);
            expected["dloss.c_n"] = ("F32", [L * D, B, H]);
        }
        if (withH0)
        {
            expected["h0"] = ("F32", [L * D, B, H]);
            expected["grad.h0"] = ("F64", [L * D, B, H]);
            if (lstm)
            {
                expected["c0"] = ("F32", [L * D, B, H]);
                expected["grad.c0"] = ("F64", [L * D, B, H]);
            }
        }

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), file.Names.Order(StringComparer.Ordinal));
        foreach (var (name, (dtype, shape)) in expected)
        {
            Assert.True(dtype == file.DType(name), $"{fixture}: {name} is {file.DType(name)}, expected {dtype}");
            Assert.True(shape.SequenceEqual(file.Shape(name)), $"{fixture}: {name} has shape [{string.Join(",", file.Shape(name))}], expected [{string.Join(",", shape)}]");
            Assert.All(file.GetFloat64(name), v => Assert.True(double.IsFinite(v), $"{fixture}: {name} holds a non-finite value"));
        }

        long[] lengths = file.GetInt64("lengths");
        Assert.All(lengths, n => Assert.InRange(n, 1, T));
        Assert.Equal(T, lengths.Max());
        if (!ragged) Assert.All(lengths, n => Assert.Equal(T, n));
        else Assert.Contains(lengths, n => n < T);
        Assert.Equal(string.Join(",", lengths), meta["lengths"]);

        // Padded output: zero past each sequence's end.
        double[] output = file.GetFloat64("output");
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                if (t >= lengths[b])
                    for (int j = 0; j < D * H; j++)
                        Assert.Equal(0.0, output[(t * B + b) * D * H + j]);

        // Top layer's final states are the output at each sequence's last real step (forward)
        // and at step 0 (reverse): packed-sequence semantics, bit for bit.
        double[] hN = file.GetFloat64("h_n");
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++)
            {
                Assert.Equal(output[((lengths[b] - 1) * B + b) * D * H + j], hN[(((L - 1) * D) * B + b) * H + j]);
                if (bidirectional)
                    Assert.Equal(output[b * D * H + H + j], hN[(((L - 1) * D + 1) * B + b) * H + j]);
            }

        // The stored loss is the stated definition applied to the stored tensors.
        static double Dot(double[] a, float[] w) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * w[i]; return s; }
        double loss = Dot(output, file.GetFloat32("dloss.output")) + Dot(hN, file.GetFloat32("dloss.h_n"));
        if (lstm) loss += Dot(file.GetFloat64("c_n"), file.GetFloat32("dloss.c_n"));
        double stored = file.GetFloat64("loss")[0];
        Assert.True(Math.Abs(loss - stored) <= 1e-12 * Math.Max(1, Math.Abs(stored)), $"{fixture}: loss {stored} but the definition gives {loss}");
    }
}
