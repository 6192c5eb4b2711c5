using System.Text.Json.Serialization;

namespace Recurrent.Losses;

/// <summary>The loss of a regression output, as PyTorch's nn.MSELoss, nn.L1Loss and nn.HuberLoss (mean reduction).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RegressionLossKind>))]
public enum RegressionLossKind
{
    /// <summary>Mean squared error, d² (PyTorch's <c>nn.MSELoss</c>).</summary>
    Mse,
    /// <summary>Mean absolute error, |d| (PyTorch's <c>nn.L1Loss</c>); less sensitive to outliers than MSE.</summary>
    Mae,
    /// <summary>Huber loss with threshold δ (default 1): d²/2 for |d| ≤ δ, else δ(|d| − δ/2) (PyTorch's <c>nn.HuberLoss</c>).</summary>
    Huber
}

/// <summary>
/// Element-wise regression losses averaged over the counted elements. A NaN target means
/// "no value here" (padding past a sequence's end, a step without a readout, a missing
/// observation): it does not count, and its gradient is 0. With d = prediction − target,
///   MSE: d², gradient 2d;  MAE: |d|, gradient sign(d) (0 at 0, as PyTorch);
///   Huber(δ): d²/2 for |d| ≤ δ, else δ(|d| − δ/2); gradient d, or δ·sign(d);
/// each divided by the number N of counted elements. Sums are accumulated in double.
/// </summary>
public static class RegressionLoss
{
    /// <summary>Loss only: (sum over counted elements, their count).</summary>
    public static (double Sum, int Count) Evaluate(RegressionLossKind kind, ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, float huberDelta = 1f)
    {
        CheckShapes(prediction, target, prediction.Length);
        double sum = 0;
        int count = 0;
        for (int i = 0; i < prediction.Length; i++)
        {
            if (float.IsNaN(target[i])) continue;
            sum += Value(kind, prediction[i] - target[i], huberDelta);
            count++;
        }
        return (sum, count);
    }

    /// <summary>Mean loss over counted elements; writes d(mean loss)/d(prediction) into <paramref name="gradient"/> (may be the prediction span itself).</summary>
    public static (double Loss, int Count) ForwardBackward(RegressionLossKind kind, ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> gradient, float huberDelta = 1f)
    {
        CheckShapes(prediction, target, gradient.Length);
        if (!(huberDelta > 0f && float.IsFinite(huberDelta))) throw new ArgumentOutOfRangeException(nameof(huberDelta), huberDelta, "The Huber delta must be a positive finite number.");
        int count = 0;
        foreach (float t in target) if (!float.IsNaN(t)) count++;
        if (count == 0) { gradient.Clear(); return (0, 0); }
        float scale = 1f / count;
        double sum = 0;
        for (int i = 0; i < prediction.Length; i++)
        {
            if (float.IsNaN(target[i])) { gradient[i] = 0f; continue; }
            float d = prediction[i] - target[i];
            sum += Value(kind, d, huberDelta);
            gradient[i] = scale * kind switch
            {
                RegressionLossKind.Mse => 2f * d,
                RegressionLossKind.Mae => MathF.Sign(d),
                _ => MathF.Abs(d) <= huberDelta ? d : huberDelta * MathF.Sign(d),
            };
        }
        return (sum / count, count);
    }

    private static double Value(RegressionLossKind kind, float d, float delta)
    {
        double a = Math.Abs((double)d);
        return kind switch
        {
            RegressionLossKind.Mse => a * a,
            RegressionLossKind.Mae => a,
            _ => a <= delta ? 0.5 * a * a : delta * (a - 0.5 * delta),
        };
    }

    private static void CheckShapes(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, int gradient)
    {
        if (prediction.Length != target.Length || gradient != prediction.Length)
            throw new ArgumentException($"Prediction ({prediction.Length}), target ({target.Length}) and gradient ({gradient}) must have the same length.");
    }
}
