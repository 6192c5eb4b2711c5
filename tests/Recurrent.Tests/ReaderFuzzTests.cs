using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization;
using Recurrent.Text;
using Recurrent.Training;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Seeded mutation fuzzing of the safetensors reader and the checkpoint reader (load, build the
/// model, read the vocabulary, resume): whatever the bytes, only the library's own exceptions
/// come out, and memory stays bounded. CI runs <see cref="DefaultIterations"/> mutations per
/// target; scripts/fuzz_readers.sh runs more through RECURRENT_FUZZ_ITERATIONS (and writes a
/// report where RECURRENT_FUZZ_REPORT says).
/// </summary>
public class ReaderFuzzTests(ITestOutputHelper output)
{
    public const int DefaultIterations = 2500;
    private const long MaxAllocatedPerTrial = 64L << 20;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(60);

    private static int Iterations => int.TryParse(Environment.GetEnvironmentVariable("RECURRENT_FUZZ_ITERATIONS"), out int n) && n > 0 ? n : DefaultIterations;
    private static ulong Seed => ulong.TryParse(Environment.GetEnvironmentVariable("RECURRENT_FUZZ_SEED"), out ulong s) ? s : 20251;

    [Fact]
    public void SafeTensorsReaderThrowsOnlyItsOwnException()
    {
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("a.weight", new Tensor(Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray(), 3, 4)),
            new("b", new Tensor(5)),
            new("empty", new Tensor(0, 3)),
        };
        byte[] good = SafeTensors.Serialize(tensors, new Dictionary<string, string> { ["format"] = "x", ["k"] = "v" });
        var report = Fuzz("safetensors", [good], mutateMetadata: false, bytes =>
        {
            var file = SafeTensorFile.Parse(bytes, "fuzz.safetensors");
            foreach (string name in file.Names)
            {
                try { _ = file.GetTensor(name); _ = file.GetFloat64(name); _ = file.Shape(name); }
                catch (SafeTensorsException) { }
            }
        }, e => e is SafeTensorsException);
        Assert.True(report.Unexpected.Count == 0, report.Describe());
    }

    [Fact]
    public void CheckpointReaderThrowsOnlyItsOwnExceptions()
    {
        using var dir = new TempDir();
        var (seeds, lmTrain) = SeedCheckpoints(dir);
        string path = dir.File("fuzz.ckpt");
        var report = Fuzz("checkpoint", seeds, mutateMetadata: true, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            var checkpoint = Checkpoint.Load(path);
            var model = checkpoint.CreateModel(path);
            if (checkpoint.Metadata.ContainsKey("vocabulary"))
            {
                var vocabulary = Vocabulary.FromJson(checkpoint.VocabularyJson);
                if (vocabulary.Count != model.Config.VocabularySize || lmTrain.Any(id => id >= vocabulary.Count)) return;
                // As `train --resume` does: the saved options, the data the run was trained on.
                var options = checkpoint.Training;
                // (A run that has done all its epochs, or a million, is resumed with more: that refusal is a user's matter, not the file's.)
                if (lmTrain.Length / options.Batch < 2 || checkpoint.Progress.Epoch >= 1_000_000) return;
                options = options with { Epochs = Math.Max(options.Epochs, checkpoint.Progress.Epoch + 1) };
                Trainer.Resume(checkpoint, path, new TokenStream(lmTrain, options.Batch, options.Bptt), null, dir.File("out"), options);
            }
        }, e => e is CheckpointException or SafeTensorsException or FormatException);
        Assert.True(report.Unexpected.Count == 0, report.Describe());
    }

    /// <summary>A language-model checkpoint (with optimizer, schedule and carried state) and a classifier's, both real.</summary>
    private static (List<byte[]> Seeds, int[] LanguageModelTrain) SeedCheckpoints(TempDir dir)
    {
        var vocab = CharVocabulary.Build("the quick brown fox jumps over the lazy dog. ");
        var ids = vocab.Encode(string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 4)));
        var options = new TrainingOptions { Batch = 2, Bptt = 5, Epochs = 1, Seed = 3, Schedule = ScheduleKind.Plateau, Patience = 1 };
        var lm = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, vocab.Count, 4, 5), new Rng(1));
        string lmDir = dir.File("lm");
        Trainer.ForLanguageModel(lm, vocab, ids[..120], ids[120..], options, lmDir).Run();
        var classifierConfig = new SequenceModelConfig { Cell = CellType.Gru, FeatureSize = 2, HiddenSize = 3, OutputSize = 3, Pooling = Pooling.Mean, Bidirectional = true };
        var classifier = new SequenceModel(classifierConfig, new Rng(2));
        var examples = Enumerable.Range(0, 12).Select(i => new SequenceExample { Features = [i, -i, 1, 2], Label = i % 3 }).ToList();
        string classDir = dir.File("classifier");
        new Trainer(classifier, new SequenceDataset(examples, 4, true, 1, 2, 3), null, options with { Schedule = ScheduleKind.Cosine }, classDir,
            new Dictionary<string, string> { ["task"] = "classifier", ["labels"] = "[\"a\",\"b\",\"c\"]" }).Run();
        return ([File.ReadAllBytes(Path.Combine(lmDir, Trainer.LatestFile)), File.ReadAllBytes(Path.Combine(classDir, Trainer.LatestFile))], ids[..120]);
    }

    internal sealed record FuzzReport(string Target, int Trials, int Accepted, Dictionary<string, int> Rejected, List<string> Unexpected, long MaxAllocated, TimeSpan Elapsed, ulong Seed)
    {
        public string Describe() => $"{Target}: {Trials} mutations (seed {Seed}) in {Elapsed.TotalSeconds:F1} s; {Accepted} read without error; " +
            $"rejected: {string.Join(", ", Rejected.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} ×{kv.Value}"))}; " +
            $"most allocated by one trial {MaxAllocated / 1e6:F1} MB; unexpected: {(Unexpected.Count == 0 ? "none" : string.Join("\n", Unexpected.Take(20)))}";
    }

    private FuzzReport Fuzz(string target, List<byte[]> seeds, bool mutateMetadata, Action<byte[]> read, Func<Exception, bool> expected)
    {
        var rng = new Random((int)(Seed % int.MaxValue) ^ target.GetHashCode(StringComparison.Ordinal) & 0x7FFFFFFF);
        var rejected = new Dictionary<string, int>();
        var unexpected = new List<string>();
        int accepted = 0, trials = 0;
        long maxAllocated = 0;
        var clock = Stopwatch.StartNew();
        int iterations = Iterations;
        bool budgeted = Environment.GetEnvironmentVariable("RECURRENT_FUZZ_ITERATIONS") is null;
        for (; trials < iterations && (!budgeted || clock.Elapsed < Budget); trials++)
        {
            var seed = seeds[rng.Next(seeds.Count)];
            byte[] bytes = mutateMetadata && rng.Next(3) == 0 ? MutateMetadata(seed, rng) : MutateBytes(seed, seeds, rng);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                read(bytes);
                accepted++;
            }
            catch (Exception e) when (expected(e))
            {
                string kind = e.GetType().Name;
                if (e is SafeTensorsException s) kind += "." + s.Error;
                else kind += ": " + string.Join(' ', System.Text.RegularExpressions.Regex.Replace(e.Message, "'[^']*'", "'…'").Split(' ').Take(7));
                rejected[kind] = rejected.GetValueOrDefault(kind) + 1;
            }
            catch (Exception e)
            {
                unexpected.Add($"trial {trials}: {e.GetType().Name}: {e.Message}\n{e.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            maxAllocated = Math.Max(maxAllocated, allocated);
            if (allocated > MaxAllocatedPerTrial) unexpected.Add($"trial {trials}: allocated {allocated:N0} bytes");
        }
        var report = new FuzzReport(target, trials, accepted, rejected, unexpected, maxAllocated, clock.Elapsed, Seed);
        output.WriteLine(report.Describe());
        if (Environment.GetEnvironmentVariable("RECURRENT_FUZZ_REPORT") is { Length: > 0 } reportPath)
            File.AppendAllText(reportPath, JsonSerializer.Serialize(new
            {
                target, trials, accepted, rejected, unexpected = unexpected.Count, max_allocated_bytes = maxAllocated, seconds = clock.Elapsed.TotalSeconds, seed = Seed,
            }) + "\n");
        Assert.True(trials >= Math.Min(iterations, 1000), $"only {trials} trials ran within the time budget");
        return report;
    }

    private static readonly string[] Interesting =
    [
        "0", "-1", "1", "255", "65536", "2147483647", "2147483648", "4294967296", "9223372036854775807", "18446744073709551616", "1e308", "-0",
        "1.5", "null", "true", "\"\"", "[]", "{}", "\"F32\"", "\"F64\"", "\"I64\"", "\"BOOL\"", "\"F4\"", "NaN", "Infinity", "\"NaN\"",
    ];

    /// <summary>Byte-level mutations: flips, overwrites, inserts, deletes, truncation, a changed header length, splices, and JSON tokens swapped for hostile ones.</summary>
    private static byte[] MutateBytes(byte[] seed, List<byte[]> all, Random rng)
    {
        var bytes = new List<byte>(seed);
        int headerEnd = (int)Math.Min((ulong)bytes.Count, 8 + BinaryPrimitives.ReadUInt64LittleEndian(seed));
        int edits = 1 + rng.Next(4);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = rng.Next(10) < 8 ? rng.Next(Math.Min(bytes.Count, Math.Max(1, headerEnd))) : rng.Next(bytes.Count);
            switch (rng.Next(9))
            {
                case 0: bytes[at] ^= (byte)(1 << rng.Next(8)); break;
                case 1: bytes[at] = (byte)rng.Next(256); break;
                case 2: bytes.Insert(at, (byte)"0123456789[]{},:\"-.eE"[rng.Next(21)]); break;
                case 3: bytes.RemoveRange(at, Math.Min(1 + rng.Next(8), bytes.Count - at)); break;
                case 4: bytes.RemoveRange(at, bytes.Count - at); break;
                case 5:
                {
                    ulong length = rng.Next(4) switch { 0 => (ulong)rng.Next(64), 1 => (ulong)(headerEnd - 8 + rng.Next(-9, 10)), 2 => 1UL << rng.Next(64), _ => ulong.MaxValue - (ulong)rng.Next(9) };
                    var prefix = new byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(prefix, length);
                    for (int i = 0; i < 8 && i < bytes.Count; i++) bytes[i] = prefix[i];
                    break;
                }
                case 6:
                {
                    var other = all[rng.Next(all.Count)];
                    int from = rng.Next(other.Length), count = Math.Min(rng.Next(64), other.Length - from);
                    bytes.InsertRange(at, other.AsSpan(from, count).ToArray());
                    break;
                }
                default:
                {
                    // A number or string token in the header replaced by an interesting one.
                    int start = at;
                    while (start < headerEnd && start < bytes.Count && !(char.IsAsciiDigit((char)bytes[start]) || bytes[start] == '"')) start++;
                    if (start >= bytes.Count) break;
                    int end = start + 1;
                    if (bytes[start] == '"') { while (end < bytes.Count && bytes[end] != '"') end++; end = Math.Min(end + 1, bytes.Count); }
                    else while (end < bytes.Count && char.IsAsciiDigit((char)bytes[end])) end++;
                    bytes.RemoveRange(start, end - start);
                    bytes.InsertRange(start, Encoding.UTF8.GetBytes(Interesting[rng.Next(Interesting.Length)]));
                    break;
                }
            }
        }
        return bytes.ToArray();
    }

    /// <summary>
    /// A checkpoint whose metadata (model config, training options, progress, schedule, RNG, vocabulary,
    /// labels) is changed and whose checksum is recomputed, so the mutation reaches past the checksum.
    /// </summary>
    private static byte[] MutateMetadata(byte[] seed, Random rng)
    {
        var file = SafeTensorFile.Parse(seed);
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        var tensors = file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))).ToList();
        var keys = meta.Keys.Where(k => k != "checksum").ToList();
        string key = keys[rng.Next(keys.Count)];
        string value = meta[key];
        switch (rng.Next(5))
        {
            case 0: meta[key] = Interesting[rng.Next(Interesting.Length)]; break;
            case 1: meta.Remove(key); break;
            case 2:
            {
                // One JSON number or string inside the entry replaced.
                var text = new StringBuilder(value);
                int at = text.Length == 0 ? 0 : rng.Next(text.Length);
                while (at < text.Length && !(char.IsAsciiDigit(text[at]) || text[at] == '"')) at++;
                if (at >= text.Length) { meta[key] = value + Interesting[rng.Next(Interesting.Length)]; break; }
                int end = at + 1;
                if (text[at] == '"') { while (end < text.Length && text[end] != '"') end++; end = Math.Min(end + 1, text.Length); }
                else while (end < text.Length && (char.IsAsciiDigit(text[end]) || text[end] is '.' or 'e' or 'E' or '-')) end++;
                text.Remove(at, end - at).Insert(at, Interesting[rng.Next(Interesting.Length)]);
                meta[key] = text.ToString();
                break;
            }
            case 3:
                if (rng.Next(2) == 0 && tensors.Count > 0)
                {
                    // A tensor's values made non-finite or its shape changed (the checksum still valid).
                    int i = rng.Next(tensors.Count);
                    var (name, t) = tensors[i];
                    var copy = t.Clone();
                    if (copy.Length > 0 && rng.Next(2) == 0) copy.Span[rng.Next(copy.Length)] = rng.Next(3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => 1e38f };
                    else copy = new Tensor(Math.Max(0, t.Length + rng.Next(-2, 3)));
                    tensors[i] = new(name, copy);
                }
                else tensors.RemoveAt(rng.Next(Math.Max(1, tensors.Count)) % Math.Max(1, tensors.Count));
                break;
            default: meta[key] = value.Length > 0 ? value[..rng.Next(value.Length)] : "x"; break;
        }
        meta["checksum"] = ReliabilityTests.CheckpointChecksum(tensors, meta);
        return SafeTensors.Serialize(tensors, meta);
    }
}
