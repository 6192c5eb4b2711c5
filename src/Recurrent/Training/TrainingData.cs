using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;

namespace Recurrent.Training;

/// <summary>
/// What a <see cref="Trainer"/> reads: a fixed number of batches per epoch, each reproducible
/// from (epoch, index) alone, so a resumed run sees exactly the batches it would have seen.
/// </summary>
public interface ITrainingData
{
    /// <summary>Batches per epoch.</summary>
    int BatchCount { get; }

    /// <summary>Batch <paramref name="index"/> of epoch <paramref name="epoch"/> (0-based); the same arguments give the same batch.</summary>
    SequenceBatch GetBatch(int epoch, int index);

    /// <summary>
    /// True when consecutive batches continue the same B streams (truncated BPTT): the trainer
    /// carries the recurrent state from one batch to the next and resets it at each epoch's start.
    /// </summary>
    bool CarriesState { get; }

    /// <summary>The most sequences B and steps T of any batch, for the memory check before training (0, 0: unknown).</summary>
    (int Batch, int Steps) LargestBatch => (0, 0);

    /// <summary>A hash of the examples (not of how they are batched), saved in checkpoints so that resume can refuse other data; null: none.</summary>
    string? Fingerprint => null;
}

/// <summary>
/// Language-model data: the ids laid out as B parallel streams cut into windows of T steps, as
/// PyTorch's word_language_model; each window's labels are its inputs shifted by one.
/// </summary>
/// <param name="ids">The token ids of the whole text, in order (kept by reference).</param>
/// <param name="batch">B, the number of parallel streams, at least 1; each stream needs at least 2 ids.</param>
/// <param name="bptt">T, the window length in steps, at least 1 (shortened to fit short streams, see <see cref="LanguageModelBatches.Bptt"/>).</param>
public sealed class TokenStream(int[] ids, int batch, int bptt) : ITrainingData
{
    private readonly LanguageModelBatches _windows = new(ids, batch, bptt);

    private string? _fingerprint;

    /// <summary>The number of windows per epoch (<see cref="LanguageModelBatches.WindowCount"/>); every epoch serves the same windows in order.</summary>
    public int BatchCount => _windows.WindowCount;
    /// <summary>Always true: window w + 1 continues the streams of window w, so the state is carried.</summary>
    public bool CarriesState => true;
    /// <summary>B, the number of parallel streams.</summary>
    public int Batch => _windows.Batch;
    /// <summary>(B, T): every window has B streams and at most T steps.</summary>
    public (int Batch, int Steps) LargestBatch => (_windows.Batch, _windows.Bptt);
    /// <summary>SHA-256 of the ids as lowercase hex (computed once, on first use).</summary>
    public string Fingerprint => _fingerprint ??= DataFingerprint.Of(ids);

    /// <summary>Evaluation streams: <paramref name="batch"/> streams, fewer when the ids are too short for that many (each stream needs 2 ids).</summary>
    public static TokenStream ForEvaluation(int[] ids, int batch, int bptt)
    {
        while (batch > 1 && ids.Length / batch < 2) batch--;
        return new TokenStream(ids, batch, bptt);
    }

    /// <summary>Window <paramref name="index"/>: T·B input ids, time-major (index t·B + b), with the next id of each stream as the label; the last window may be shorter.</summary>
    /// <param name="epoch">Ignored: every epoch serves the same windows.</param>
    /// <param name="index">The window, 0..<see cref="BatchCount"/> − 1.</param>
    /// <returns>A token batch with <see cref="SequenceBatch.Labels"/> set and no padding.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    public SequenceBatch GetBatch(int epoch, int index)
    {
        var inputs = new int[_windows.Bptt * _windows.Batch];
        var labels = new int[inputs.Length];
        int T = _windows.GetWindow(index, inputs, labels);
        int n = T * _windows.Batch;
        return new SequenceBatch(T, _windows.Batch, inputs[..n], null, null) { Labels = labels[..n] };
    }
}

/// <summary>
/// One example of a sequence task: token ids or features [length, F] (row-major), and its
/// target — a class (<see cref="Label"/>), a tag per step (<see cref="Tags"/>), or regression
/// values (<see cref="Target"/>: K values, or length·K for a per-step head).
/// </summary>
public sealed record SequenceExample
{
    /// <summary>Token input: one token id per step (the sequence's length is its length); null for a feature example.</summary>
    public int[]? Ids { get; init; }
    /// <summary>Extra token fields (see <see cref="TokenField"/>): per field, one id per step.</summary>
    public int[][]? Fields { get; init; }
    /// <summary>Feature input: length·F values, row-major [length, F]; null for a token example.</summary>
    public float[]? Features { get; init; }
    /// <summary>Sequence classification: the class id, 0..K − 1; <see cref="SoftmaxCrossEntropy.Ignore"/> (the default, −1) when the example has no class (it then does not count in the loss).</summary>
    public int Label { get; init; } = SoftmaxCrossEntropy.Ignore;
    /// <summary>Tagging: one class id per step (as many as the sequence's steps); null for other tasks.</summary>
    public int[]? Tags { get; init; }
    /// <summary>Regression: K values for the sequence, or length·K (K per step, in step order) for a per-step head; null for other tasks.</summary>
    public float[]? Target { get; init; }
}

/// <summary>
/// A set of variable-length examples served as padded batches. Training order (with
/// <c>shuffle</c>): each epoch the examples are shuffled from (seed, epoch), cut into pools of
/// 50 batches, each pool sorted by length and cut into batches, and the batches shuffled — so a
/// batch holds sequences of similar length and little compute goes to padding (bucketing).
/// Without shuffling (evaluation, prediction) the examples are sorted by length once;
/// <see cref="IndicesOf"/> maps each batch row back to its example.
/// With <see cref="TokenDropout"/> (training), token ids are replaced by 0 (a lexicon's unknown
/// id) at random, drawn from (seed, epoch, index) like the order, so a resumed run sees the same batches.
/// </summary>
public sealed class SequenceDataset : ITrainingData
{
    private const int PoolBatches = 50;
    private readonly IReadOnlyList<SequenceExample> _examples;
    private readonly int _batchSize;
    private readonly bool _shuffle;
    private readonly ulong _seed;
    private int _planEpoch = -1;
    private int[][] _plan = [];

    private string? _fingerprint;

    /// <summary>F, the values per step of feature examples; 0 when the examples hold token ids.</summary>
    public int FeatureSize { get; }
    /// <summary>K, the regression values per prediction (not used for class labels or tags).</summary>
    public int OutputSize { get; }
    /// <summary>Whether regression targets are given per step (length·K each) rather than per sequence (K each).</summary>
    public bool TargetsPerStep { get; }
    /// <summary>The number of examples.</summary>
    public int Count => _examples.Count;
    /// <summary>Batches per epoch, ⌈<see cref="Count"/> / batch size⌉.</summary>
    public int BatchCount { get; }
    /// <summary>Always false: the batches hold independent sequences, each starting from a zero state.</summary>
    public bool CarriesState => false;
    /// <summary>The examples as given to the constructor, in their original order (the indices of <see cref="IndicesOf"/>).</summary>
    public IReadOnlyList<SequenceExample> Examples => _examples;

    /// <summary>
    /// Word dropout: with shuffling on, each real token id (not the extra fields) is replaced by 0
    /// with this probability in every batch served (0: never). Teaches a model what to do with unknown tokens.
    /// </summary>
    public float TokenDropout
    {
        get;
        init => field = value >= 0f && value < 1f ? value : throw new ArgumentOutOfRangeException(nameof(TokenDropout), value, "Token dropout must be in [0, 1).");
    }

    /// <summary>Checks the examples and sizes the epoch (<see cref="BatchCount"/> = ⌈examples / <paramref name="batchSize"/>⌉); the examples are kept by reference, and batches are padded when served.</summary>
    /// <param name="examples">The examples (all token ids, or all features with <paramref name="featureSize"/> values per step).</param>
    /// <param name="batchSize">Sequences per batch (the last batch of an epoch may be smaller).</param>
    /// <param name="shuffle">Shuffle and bucket per epoch (training), or serve in length order (evaluation).</param>
    /// <param name="seed">The shuffling seed.</param>
    /// <param name="featureSize">F for feature examples; 0 for token ids.</param>
    /// <param name="outputSize">Regression values per prediction K (ignored for classes).</param>
    /// <param name="targetsPerStep">Regression targets per step (length·K each) rather than per sequence.</param>
    /// <exception cref="ArgumentException"><paramref name="examples"/> is empty, or an example is empty, holds both or neither of ids and features (or not the kind <paramref name="featureSize"/> says), or has a tag count unlike its length.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batchSize"/> is outside 1..65536.</exception>
    public SequenceDataset(IReadOnlyList<SequenceExample> examples, int batchSize, bool shuffle, ulong seed = 1, int featureSize = 0, int outputSize = 1, bool targetsPerStep = false)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("The data set is empty.", nameof(examples));
        if (batchSize < 1 || batchSize > 65536) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be between 1 and 65536.");
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            if ((e.Ids is null) == (e.Features is null) || (featureSize > 0) != (e.Features is not null))
                throw new ArgumentException($"Example {i} must hold {(featureSize > 0 ? "features" : "token ids")} only.", nameof(examples));
            if (Length(e, featureSize) < 1) throw new ArgumentException($"Example {i} is empty.", nameof(examples));
            if (e.Tags is not null && e.Tags.Length != Length(e, featureSize)) throw new ArgumentException($"Example {i} has {Length(e, featureSize)} steps but {e.Tags.Length} tags.", nameof(examples));
        }
        _examples = examples;
        _batchSize = batchSize;
        _shuffle = shuffle;
        _seed = seed;
        FeatureSize = featureSize;
        OutputSize = outputSize;
        TargetsPerStep = targetsPerStep;
        BatchCount = (examples.Count + batchSize - 1) / batchSize;
        int longest = 0;
        foreach (var e in examples) longest = Math.Max(longest, Length(e, featureSize));
        LargestBatch = (Math.Min(batchSize, examples.Count), longest);
    }

    /// <summary>(min(batch size, <see cref="Count"/>), the longest example's length): an upper bound on any batch's B and T.</summary>
    public (int Batch, int Steps) LargestBatch { get; }

    /// <summary>SHA-256 as lowercase hex over every example's ids, features, tags, targets, fields and label, in order (computed once, on first use); the batch size, shuffling and seed do not enter it.</summary>
    public string Fingerprint => _fingerprint ??= DataFingerprint.Of(_examples);

    /// <summary>
    /// Batch <paramref name="index"/> of <paramref name="epoch"/>: the examples of <see cref="IndicesOf"/>, padded to the
    /// longest of them, with their labels, tags or regression targets (by what the first example holds); with shuffling
    /// and <see cref="TokenDropout"/>, some token ids replaced by 0. The same arguments give the same batch.
    /// </summary>
    /// <param name="epoch">The 0-based epoch; decides the order when shuffling, ignored otherwise.</param>
    /// <param name="index">The batch, 0..<see cref="BatchCount"/> − 1.</param>
    /// <returns>A padded, time-major batch.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is out of range.</exception>
    /// <exception cref="ArgumentException">The examples of the batch mix kinds of target (labels, tags, regression values).</exception>
    public SequenceBatch GetBatch(int epoch, int index)
    {
        var chosen = IndicesOf(epoch, index).Select(i => _examples[i]).ToList();
        var first = chosen[0];
        var tags = first.Tags is not null ? chosen.Select(e => e.Tags ?? throw Mixed()).ToList() : null;
        var targets = first.Target is not null ? chosen.Select(e => e.Target ?? throw Mixed()).ToList() : null;
        var labels = tags is null && targets is null ? chosen.Select(e => e.Label).ToList() : null;
        if (FeatureSize > 0) return SequenceBatch.FromFeatures(chosen.Select(e => e.Features!).ToList(), FeatureSize, labels, tags, targets, TargetsPerStep, OutputSize);
        var batch = SequenceBatch.FromTokens(chosen.Select(e => e.Ids!).ToList(), labels, tags, targets, TargetsPerStep, OutputSize,
            first.Fields is null ? null : chosen.Select(e => e.Fields ?? throw Mixed()).ToList());
        if (_shuffle && TokenDropout > 0f) DropTokens(batch, epoch, index);
        return batch;
    }

    /// <summary>Sets each real id of the (freshly padded) batch to 0 with probability <see cref="TokenDropout"/>, from a generator of (seed, epoch, index).</summary>
    private void DropTokens(SequenceBatch batch, int epoch, int index)
    {
        var rng = new Rng((_seed * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)epoch << 32 | (uint)index) ^ 0xD1B54A32D192ED03UL);
        var ids = batch.Ids!;
        int B = batch.Size;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < batch.Length(b); t++)
                if (rng.NextFloat() < TokenDropout) ids[t * B + b] = 0;
    }

    private static ArgumentException Mixed() => new("The examples mix kinds of target (labels, tags, regression values); each data set holds one kind.");

    /// <summary>The example index of each row of batch <paramref name="index"/> in <paramref name="epoch"/>.</summary>
    public int[] IndicesOf(int epoch, int index)
    {
        if ((uint)index >= (uint)BatchCount) throw new ArgumentOutOfRangeException(nameof(index), index, $"Batch must be in 0..{BatchCount - 1}.");
        if (_planEpoch != (_shuffle ? epoch : 0)) { _plan = Plan(_shuffle ? epoch : 0); _planEpoch = _shuffle ? epoch : 0; }
        return _plan[index];
    }

    private int[][] Plan(int epoch)
    {
        int n = _examples.Count;
        var order = Enumerable.Range(0, n).ToArray();
        var rng = new Rng(_seed * 0x9E3779B97F4A7C15UL + (ulong)epoch + 1);
        if (_shuffle) Shuffle(order, rng);
        var batches = new List<int[]>(BatchCount);
        int pool = _shuffle ? PoolBatches * _batchSize : n;
        for (int start = 0; start < n; start += pool)
        {
            var part = order.AsSpan(start, Math.Min(pool, n - start)).ToArray();
            // Stable sort by length (ties keep their shuffled or original order).
            var sorted = part.Select((ex, k) => (ex, k)).OrderBy(p => Length(_examples[p.ex], FeatureSize)).ThenBy(p => p.k).Select(p => p.ex).ToArray();
            for (int b = 0; b < sorted.Length; b += _batchSize) batches.Add(sorted[b..Math.Min(sorted.Length, b + _batchSize)]);
        }
        // Every pool but the last holds a whole number of batches, so there are ⌈n / batch⌉ in all.
        var plan = batches.ToArray();
        if (_shuffle) Shuffle(plan, rng);
        return plan;
    }

    private static int Length(SequenceExample e, int featureSize) => e.Ids?.Length ?? (featureSize > 0 ? e.Features!.Length / featureSize : 0);

    private static void Shuffle<T>(T[] items, Rng rng)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}

/// <summary>SHA-256 over training data, as lowercase hex.</summary>
internal static class DataFingerprint
{
    public static string Of(int[] ids)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static string Of(IReadOnlyList<SequenceExample> examples)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        Span<int> header = stackalloc int[1];
        foreach (var e in examples)
        {
            Add(hash, e.Ids);
            Add(hash, e.Features);
            Add(hash, e.Tags);
            Add(hash, e.Target);
            foreach (var field in e.Fields ?? []) Add(hash, field);
            header[0] = e.Label;
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(header));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Add<T>(System.Security.Cryptography.IncrementalHash hash, T[]? values) where T : unmanaged
    {
        Span<int> length = [values?.Length ?? -1];
        hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(length));
        if (values is not null) hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }
}
