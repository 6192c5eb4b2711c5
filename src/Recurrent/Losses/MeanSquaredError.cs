namespace Recurrent.Losses;

/// <summary>loss = (1/N) Σ (prediction − target)²; gradient 2(prediction − target)/N, accumulated in double.</summary>
public static class MeanSquaredError
{
    /// <summary>Returns the mean loss and writes d(loss)/d(prediction) into <paramref name="gradient"/>.</summary>
    public static double ForwardBackward(ReadOnlySpan<float> prediction, ReadOnlySpan<float> target, Span<float> gradient)
    {
        if (prediction.Length != target.Length || gradient.Length != prediction.Length)
            throw new ArgumentException($"Prediction ({prediction.Length}), target ({target.Length}) and gradient ({gradient.Length}) must have the same length.");
        if (prediction.IsEmpty) return 0;
        double sum = 0;
        float scale = 2f / prediction.Length;
        for (int i = 0; i < prediction.Length; i++)
        {
            float d = prediction[i] - target[i];
            sum += (double)d * d;
            gradient[i] = scale * d;
        }
        return sum / prediction.Length;
    }
}
