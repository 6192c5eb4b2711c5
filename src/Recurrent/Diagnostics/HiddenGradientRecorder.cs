using Recurrent.Layers;

namespace Recurrent.Diagnostics;

/// <summary>
/// ‖dL/dh_t‖ for every time step t of one layer and direction, from one backward pass:
/// Norms[t] is the L2 norm of the whole batch's gradient w.r.t. that layer's state h_t.
/// The loss reads the last step(s), so <see cref="ByDistance"/>[d] = Norms[T − 1 − d] puts the
/// step nearest the loss first.
/// </summary>
public sealed record LayerHiddenGradient(int Layer, int Direction, double[] Norms)
{
    public double[] ByDistance()
    {
        var d = new double[Norms.Length];
        for (int i = 0; i < d.Length; i++) d[i] = Norms[Norms.Length - 1 - i];
        return d;
    }
}

/// <summary>
/// Attaches a <see cref="RecurrentLayer.HiddenGradientNorms"/> buffer to every layer of a
/// stack, so each <see cref="RecurrentStack.Backward"/> records ‖dL/dh_t‖ from the BPTT loop
/// itself; <see cref="Snapshot"/> copies out the last pass. Dispose detaches the buffers
/// (restoring any a previous recorder had attached, so recorders nest).
/// </summary>
public sealed class HiddenGradientRecorder : IDisposable
{
    private readonly RecurrentStack _stack;
    private readonly double[][] _buffers;
    private readonly double[]?[] _previous;   // what the layers held before, restored by Dispose

    /// <param name="stack">The stack to observe.</param>
    /// <param name="maxLength">The longest sequence (T) a backward pass will have.</param>
    public HiddenGradientRecorder(RecurrentStack stack, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(stack);
        if (maxLength < 1) throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "The maximum sequence length must be at least 1.");
        _stack = stack;
        _buffers = new double[stack.Layers.Count][];
        _previous = new double[]?[stack.Layers.Count];
        for (int k = 0; k < _buffers.Length; k++)
        {
            _buffers[k] = new double[maxLength];
            Array.Fill(_buffers[k], double.NaN);
            _previous[k] = stack.Layers[k].HiddenGradientNorms;
            stack.Layers[k].HiddenGradientNorms = _buffers[k];
        }
    }

    /// <summary>The norms of the last backward pass, for a sequence of <paramref name="length"/> steps, layer-major and direction-minor.</summary>
    public IReadOnlyList<LayerHiddenGradient> Snapshot(int length)
    {
        if (length < 1 || length > _buffers[0].Length)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"Length must be in 1..{_buffers[0].Length} (the recorder's maximum).");
        int D = _stack.Options.Directions;
        var result = new LayerHiddenGradient[_buffers.Length];
        for (int k = 0; k < _buffers.Length; k++) result[k] = new LayerHiddenGradient(k / D, k % D, _buffers[k][..length]);
        return result;
    }

    public void Dispose()
    {
        for (int k = 0; k < _buffers.Length; k++)
            if (ReferenceEquals(_stack.Layers[k].HiddenGradientNorms, _buffers[k])) _stack.Layers[k].HiddenGradientNorms = _previous[k];
    }
}
