using System.Runtime.CompilerServices;
using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>
/// Inverted dropout: in training each value is zeroed with probability p and the survivors
/// are scaled by 1/(1 − p), so evaluation is the identity. The mask is kept for Backward.
/// </summary>
public sealed class Dropout
{
    private readonly Tensor _mask = new(0);
    private bool _active;

    /// <summary>The probability p in [0, 1) that a value is zeroed in training; 0 makes the layer the identity.</summary>
    public float Probability { get; }

    /// <summary>An inverted-dropout layer that zeroes each value with probability <paramref name="probability"/> in training.</summary>
    /// <param name="probability">Drop probability p, in [0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="probability"/> is outside [0, 1) or NaN.</exception>
    public Dropout(float probability)
    {
        if (!(probability >= 0f && probability < 1f))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "Dropout probability must be in [0, 1).");
        Probability = probability;
    }

    /// <summary>y = x ⊙ mask in training (p &gt; 0), y = x otherwise. x and y may be the same span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(ReadOnlySpan<float> x, Span<float> y, bool training, Rng? rng)
    {
        _active = training && Probability > 0f;
        if (!_active) { x.CopyTo(y); return; }
        if (rng is null) throw new ArgumentNullException(nameof(rng), "Dropout in training needs the run's random generator.");
        _mask.Resize(x.Length);
        var mask = _mask.Span;
        float keep = 1f - Probability, scale = 1f / keep;
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextFloat() < keep ? scale : 0f;
        System.Numerics.Tensors.TensorPrimitives.Multiply(x, mask, y);
    }

    /// <summary>dx = dy ⊙ mask (identity when the forward pass did not drop). dx and dy may be the same span.</summary>
    public void Backward(ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (!_active) { dy.CopyTo(dx); return; }
        System.Numerics.Tensors.TensorPrimitives.Multiply(dy, _mask.Span, dx);
    }
}
