using System.Numerics;
using Recurrent.Losses;
using Recurrent.Numerics;

namespace Recurrent.Models;

/// <summary>
/// One padded, time-major batch for a <see cref="SequenceModel"/>: B sequences of up to T steps.
/// Inputs are token ids [T·B] (index t·B + b) or features [T, B, F]; <see cref="Lengths"/> [B]
/// gives each sequence's length (null: all T). Targets, when present, are class ids
/// (<see cref="Labels"/>) or regression values (<see cref="Targets"/>), one row per prediction:
/// [B] / [B, K] for a pooled head, [T·B] / [T·B, K] for a per-step head (row t·B + b). Rows
/// that do not count have the label <see cref="SoftmaxCrossEntropy.Ignore"/> or NaN targets;
/// the factories set them past each sequence's end.
/// The engine is time-major; <see cref="FromBatchMajor"/> takes [B, T] data as most users hold it.
/// </summary>
public sealed class SequenceBatch
{
    /// <summary>Padded sequence length T (the factories use the longest sequence's length).</summary>
    public int Steps { get; }
    /// <summary>Sequences B in the batch.</summary>
    public int Size { get; }
    /// <summary>Token input: ids [T·B] (the array may be longer), time-major: step t of sequence b at t·B + b; the factories pad with 0. Null for a feature batch.</summary>
    public int[]? Ids { get; }
    /// <summary>Feature input [T, B, F], time-major; the factories pad with 0. Null for a token batch.</summary>
    public Tensor? Features { get; }
    /// <summary>Each sequence's length [B], each in 1..T; null when every sequence has all T steps.</summary>
    public int[]? Lengths { get; }
    /// <summary>Extra token fields (see <see cref="TokenField"/>): per field, ids [T·B] time-major like <see cref="Ids"/>.</summary>
    public IReadOnlyList<int[]>? FieldIds { get; init; }
    /// <summary>
    /// Class ids for a classifier: [B] for a pooled head, [T·B] for a per-step head (row t·B + b), with
    /// <see cref="SoftmaxCrossEntropy.Ignore"/> for rows that do not count; null when the batch has none.
    /// </summary>
    public int[]? Labels { get; init; }
    /// <summary>
    /// Regression targets, K values per row: [B·K] for a pooled head, [T·B·K] for a per-step head (row t·B + b),
    /// NaN for values that do not count; null when the batch has none.
    /// </summary>
    public float[]? Targets { get; init; }

    /// <summary>A batch over time-major inputs that are already padded; set <see cref="Labels"/> or <see cref="Targets"/> with an initializer.</summary>
    /// <param name="steps">Padded length T, ≥ 1.</param>
    /// <param name="size">Sequences B, ≥ 1.</param>
    /// <param name="ids">Token ids, at least T·B of them, time-major (index t·B + b); null for a feature batch.</param>
    /// <param name="features">Features [T, B, F]; null for a token batch.</param>
    /// <param name="lengths">Each sequence's length [B], each in 1..T; null when all are T. Kept, not copied.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> or <paramref name="size"/> is below 1, or a length is outside 1..T.</exception>
    /// <exception cref="ArgumentException">Both or neither of <paramref name="ids"/> and <paramref name="features"/> are given, or a shape does not match T and B.</exception>
    public SequenceBatch(int steps, int size, int[]? ids, Tensor? features, int[]? lengths)
    {
        if (steps < 1 || size < 1) throw new ArgumentOutOfRangeException(nameof(steps), $"A batch needs at least one step and one sequence; got T={steps}, B={size}.");
        if ((ids is null) == (features is null)) throw new ArgumentException("A batch holds either token ids or features.");
        if (ids is not null && ids.Length < (long)steps * size) throw new ArgumentException($"ids holds {ids.Length} values; expected T·B = {(long)steps * size}.", nameof(ids));
        if (features is not null && (features.Rank != 3 || features.Dim(0) != steps || features.Dim(1) != size))
            throw new ArgumentException($"Features must be [{steps}, {size}, F]; got {features.ShapeString}.", nameof(features));
        if (lengths is not null)
        {
            if (lengths.Length != size) throw new ArgumentException($"lengths has {lengths.Length} entries; the batch has {size} sequences.", nameof(lengths));
            foreach (int n in lengths)
                if (n < 1 || n > steps) throw new ArgumentOutOfRangeException(nameof(lengths), n, $"Every length must be in 1..{steps}.");
        }
        Steps = steps; Size = size; Ids = ids; Features = features; Lengths = lengths;
    }

    /// <summary>The length of sequence <paramref name="b"/>: <c>Lengths[b]</c>, or T when <see cref="Lengths"/> is null.</summary>
    /// <param name="b">The sequence index, 0..B−1.</param>
    /// <returns>The number of real steps of sequence <paramref name="b"/>.</returns>
    public int Length(int b) => Lengths?[b] ?? Steps;

    /// <summary>The number of real (unpadded) steps.</summary>
    public long TokenCount => Lengths is null ? (long)Steps * Size : Lengths.Sum(n => (long)n);

    /// <summary>
    /// Pads token sequences into a time-major batch (T = the longest), with one label per
    /// sequence, one tag per step, or regression targets (K per sequence, or length·K per step).
    /// </summary>
    public static SequenceBatch FromTokens(IReadOnlyList<int[]> sequences, IReadOnlyList<int>? labels = null, IReadOnlyList<int[]>? tags = null,
        IReadOnlyList<float[]>? targets = null, bool targetsPerStep = false, int outputs = 1, IReadOnlyList<int[][]>? fields = null)
    {
        var (T, lengths) = Shape(sequences, s => s.Length);
        int B = sequences.Count;
        var ids = PadIds(sequences, T);
        List<int[]>? fieldIds = null;
        if (fields is not null)
        {
            if (fields.Count != B) throw new ArgumentException($"There are {fields.Count} field sets for {B} sequences.", nameof(fields));
            int count = fields[0].Length;
            fieldIds = [];
            for (int f = 0; f < count; f++)
            {
                var column = new int[B][];
                for (int b = 0; b < B; b++)
                {
                    if (fields[b].Length != count || fields[b][f].Length != lengths[b])
                        throw new ArgumentException($"Sequence {b} must have {count} fields of {lengths[b]} ids each.", nameof(fields));
                    column[b] = fields[b][f];
                }
                fieldIds.Add(PadIds(column, T));
            }
        }
        return new SequenceBatch(T, B, ids, null, lengths)
        {
            Labels = PadLabels(labels, tags, T, lengths), Targets = PadTargets(targets, targetsPerStep, outputs, T, lengths), FieldIds = fieldIds,
        };
    }

    private static int[] PadIds(IReadOnlyList<int[]> sequences, int T)
    {
        int B = sequences.Count;
        var ids = new int[T * B];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < sequences[b].Length; t++) ids[t * B + b] = sequences[b][t];
        return ids;
    }

    /// <summary>Pads feature sequences (each [length, F] row-major) into a time-major batch; targets as <see cref="FromTokens"/>.</summary>
    public static SequenceBatch FromFeatures(IReadOnlyList<float[]> sequences, int featureSize, IReadOnlyList<int>? labels = null, IReadOnlyList<int[]>? tags = null,
        IReadOnlyList<float[]>? targets = null, bool targetsPerStep = false, int outputs = 1)
    {
        if (featureSize < 1) throw new ArgumentOutOfRangeException(nameof(featureSize), featureSize, "Feature size must be at least 1.");
        foreach (var s in sequences)
            if (s.Length == 0 || s.Length % featureSize != 0) throw new ArgumentException($"A feature sequence holds {s.Length} values: not a positive multiple of the feature size {featureSize}.", nameof(sequences));
        var (T, lengths) = Shape(sequences, s => s.Length / featureSize);
        int B = sequences.Count, F = featureSize;
        var x = new Tensor(T, B, F);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < lengths[b]; t++) sequences[b].AsSpan(t * F, F).CopyTo(x.Span.Slice((t * B + b) * F, F));
        return new SequenceBatch(T, B, null, x, lengths) { Labels = PadLabels(labels, tags, T, lengths), Targets = PadTargets(targets, targetsPerStep, outputs, T, lengths) };
    }

    /// <summary>
    /// A batch from batch-major data as users usually hold it: ids [B, T] row-major (sequence b's
    /// step t at b·T + t), lengths of any integer type (empty: all T). Per-step labels, when given,
    /// are batch-major [B, T] too.
    /// </summary>
    public static SequenceBatch FromBatchMajor<TLength>(ReadOnlySpan<int> ids, int batch, int steps, ReadOnlySpan<TLength> lengths, ReadOnlySpan<int> stepLabels = default)
        where TLength : IBinaryInteger<TLength>
    {
        if (ids.Length != (long)batch * steps) throw new ArgumentException($"ids holds {ids.Length} values; expected B·T = {(long)batch * steps}.", nameof(ids));
        var timeMajor = new int[ids.Length];
        Transpose(ids, timeMajor, batch, steps);
        int[]? labels = null;
        if (!stepLabels.IsEmpty)
        {
            if (stepLabels.Length != ids.Length) throw new ArgumentException($"Per-step labels hold {stepLabels.Length} values; expected B·T = {ids.Length}.", nameof(stepLabels));
            labels = new int[ids.Length];
            Transpose(stepLabels, labels, batch, steps);
        }
        var lens = ToInt32(lengths, batch, steps);
        if (labels is not null && lens is not null)
            for (int b = 0; b < batch; b++)
                for (int t = lens[b]; t < steps; t++) labels[t * batch + b] = SoftmaxCrossEntropy.Ignore;
        return new SequenceBatch(steps, batch, timeMajor, null, lens) { Labels = labels };
    }

    /// <summary>Lengths of any integer type as int, each checked to be in 1..T (empty: null, all T).</summary>
    public static int[]? ToInt32<TLength>(ReadOnlySpan<TLength> lengths, int batch, int steps) where TLength : IBinaryInteger<TLength>
    {
        if (lengths.IsEmpty) return null;
        if (lengths.Length != batch) throw new ArgumentException($"lengths has {lengths.Length} entries; the batch has {batch} sequences.", nameof(lengths));
        var result = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            if (lengths[b] < TLength.One || lengths[b] > TLength.CreateSaturating(steps))
                throw new ArgumentOutOfRangeException(nameof(lengths), lengths[b], $"Every length must be in 1..{steps}.");
            result[b] = int.CreateChecked(lengths[b]);
        }
        return result;
    }

    private static void Transpose(ReadOnlySpan<int> batchMajor, Span<int> timeMajor, int batch, int steps)
    {
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < steps; t++) timeMajor[t * batch + b] = batchMajor[b * steps + t];
    }

    private static (int T, int[] Lengths) Shape<TSeq>(IReadOnlyList<TSeq> sequences, Func<TSeq, int> length)
    {
        if (sequences.Count == 0) throw new ArgumentException("A batch needs at least one sequence.", nameof(sequences));
        var lengths = new int[sequences.Count];
        for (int b = 0; b < lengths.Length; b++)
        {
            lengths[b] = length(sequences[b]);
            if (lengths[b] < 1) throw new ArgumentException($"Sequence {b} is empty; every sequence needs at least one step.", nameof(sequences));
        }
        return (lengths.Max(), lengths);
    }

    private static int[]? PadLabels(IReadOnlyList<int>? labels, IReadOnlyList<int[]>? tags, int T, int[] lengths)
    {
        int B = lengths.Length;
        if (labels is not null && tags is not null) throw new ArgumentException("Give either one label per sequence or one tag per step, not both.");
        if (labels is not null)
        {
            if (labels.Count != B) throw new ArgumentException($"There are {labels.Count} labels for {B} sequences.", nameof(labels));
            return [.. labels];
        }
        if (tags is null) return null;
        if (tags.Count != B) throw new ArgumentException($"There are {tags.Count} tag sequences for {B} sequences.", nameof(tags));
        var result = new int[T * B];
        Array.Fill(result, SoftmaxCrossEntropy.Ignore);
        for (int b = 0; b < B; b++)
        {
            if (tags[b].Length != lengths[b]) throw new ArgumentException($"Sequence {b} has {lengths[b]} steps but {tags[b].Length} tags.", nameof(tags));
            for (int t = 0; t < lengths[b]; t++) result[t * B + b] = tags[b][t];
        }
        return result;
    }

    private static float[]? PadTargets(IReadOnlyList<float[]>? targets, bool perStep, int outputs, int T, int[] lengths)
    {
        if (targets is null) return null;
        int B = lengths.Length;
        if (outputs < 1) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Outputs per prediction must be at least 1.");
        if (targets.Count != B) throw new ArgumentException($"There are {targets.Count} targets for {B} sequences.", nameof(targets));
        long count = (long)(perStep ? T * B : B) * outputs;
        if (count > Array.MaxLength) throw new ArgumentException($"The batch's targets ({count:N0} values) are too large for one array.", nameof(targets));
        var y = new float[count];
        Array.Fill(y, float.NaN);
        for (int b = 0; b < B; b++)
        {
            int expected = perStep ? lengths[b] * outputs : outputs;
            if (targets[b].Length != expected) throw new ArgumentException($"Sequence {b} has {targets[b].Length} target values; expected {expected}.", nameof(targets));
            if (!perStep) targets[b].CopyTo(y, b * outputs);
            else for (int t = 0; t < lengths[b]; t++) targets[b].AsSpan(t * outputs, outputs).CopyTo(y.AsSpan((t * B + b) * outputs, outputs));
        }
        return y;
    }
}
