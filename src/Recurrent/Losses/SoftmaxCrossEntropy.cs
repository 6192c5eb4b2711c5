using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace Recurrent.Losses;

/// <summary>
/// Fused, numerically stable softmax cross-entropy over rows of logits [N, V]:
///   loss = (1/M) Σ_{n: target_n ≠ ignore} −log softmax(logits_n)[target_n]
/// with M the number of counted rows. The gradient, written over the logits in place, is
///   dlogits_n = (softmax(logits_n) − onehot(target_n)) / M, and 0 for ignored rows.
/// Each row subtracts its max before exponentiating; sums are accumulated in double.
/// </summary>
public static class SoftmaxCrossEntropy
{
    /// <summary>Target value for rows that do not count (padding).</summary>
    public const int Ignore = -1;

    /// <summary>Loss only (no gradient), for evaluation. Returns (sum of −log p over counted rows, count).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double Sum, int Count) Evaluate(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabulary)
    {
        CheckShapes(logits, targets, vocabulary);
        double sum = 0;
        int count = 0;
        for (int n = 0; n < targets.Length; n++)
        {
            int target = targets[n];
            if (target == Ignore) continue;
            CheckTarget(target, vocabulary);
            var row = logits.Slice(n * vocabulary, vocabulary);
            sum += LogSumExp(row) - row[target];
            count++;
        }
        return (sum, count);
    }

    /// <summary>
    /// Mean loss over counted rows; replaces <paramref name="logits"/> with d(mean loss)/d(logits).
    /// Returns (mean loss, counted rows). With no counted rows the loss and gradient are 0.
    /// With <paramref name="classWeights"/> [V] (empty: all 1) the mean is weighted as PyTorch's
    /// cross_entropy(weight=…): Σ w_{target_n}·loss_n / Σ w_{target_n} over counted rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double Loss, int Count) ForwardBackward(Span<float> logits, ReadOnlySpan<int> targets, int vocabulary, ReadOnlySpan<float> classWeights = default)
    {
        CheckShapes(logits, targets, vocabulary);
        bool weighted = !classWeights.IsEmpty;
        if (weighted && classWeights.Length != vocabulary)
            throw new ArgumentException($"Class weights hold {classWeights.Length} values; expected one per class ({vocabulary}).", nameof(classWeights));
        int count = 0;
        double weightSum = 0;
        foreach (int t in targets) if (t != Ignore) { CheckTarget(t, vocabulary); count++; weightSum += weighted ? classWeights[t] : 1; }
        if (count == 0 || weightSum <= 0) { logits.Clear(); return (0, count); }
        double sum = 0;
        for (int n = 0; n < targets.Length; n++)
        {
            var row = logits.Slice(n * vocabulary, vocabulary);
            int target = targets[n];
            if (target == Ignore) { row.Clear(); continue; }
            float scale = (float)((weighted ? classWeights[target] : 1) / weightSum);
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, row);
            float shiftedTarget = row[target];
            TensorPrimitives.Exp(row, row);
            double z = Sum(row);
            sum += (weighted ? classWeights[target] : 1) * (Math.Log(z) - shiftedTarget);
            TensorPrimitives.Multiply(row, (float)(scale / z), row);
            row[target] -= scale;
        }
        return (sum / weightSum, count);
    }

    /// <summary>log Σ exp(row), stable.</summary>
    public static double LogSumExp(ReadOnlySpan<float> row)
    {
        float max = TensorPrimitives.Max(row);
        double z = 0;
        foreach (float v in row) z += Math.Exp(v - max);
        return max + Math.Log(z);
    }

    private static double Sum(ReadOnlySpan<float> row)
    {
        double s = 0;
        foreach (float v in row) s += v;
        return s;
    }

    private static void CheckShapes(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int vocabulary)
    {
        if (vocabulary < 1) throw new ArgumentOutOfRangeException(nameof(vocabulary), vocabulary, "Vocabulary size must be at least 1.");
        if (logits.Length != targets.Length * vocabulary)
            throw new ArgumentException($"Logits hold {logits.Length} values; expected {targets.Length} rows × {vocabulary}.", nameof(logits));
    }

    private static void CheckTarget(int target, int vocabulary)
    {
        if ((uint)target >= (uint)vocabulary)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"Target ids must be in 0..{vocabulary - 1} (or {Ignore} to ignore).");
    }
}
