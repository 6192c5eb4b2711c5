using Recurrent.Layers;

namespace Recurrent.Diagnostics;

/// <summary>
/// ‖dL/dh_t‖ for every time step t of one layer and direction, from one backward pass:
/// Norms[t] is the L2 norm of the whole batch's gradient w.r.t. that layer's state h_t.
/// The loss reads the last step(s), so <see cref="ByDistance"/>[d] = Norms[T − 1 − d] puts the
/// step nearest the loss first.
/// </summary>
/// <param name="Layer">The 0-based layer of the stack.</param>
/// <param name="Direction">0 for the forward direction, 1 for the backward one of a bidirectional layer.</param>
/// <param name="Norms">‖dL/dh_t‖ for t = 0 … T − 1 (L2 over the whole batch).</param>
public sealed record LayerHiddenGradient(int Layer, int Direction, double[] Norms)
{
    /// <summary>The norms ordered by distance from the last step: element d is <c>Norms[T − 1 − d]</c>.</summary>
    /// <returns>A new array of T norms, the last step first.</returns>
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

    /// <summary>Attaches a fresh buffer of <paramref name="maxLength"/> norms (NaN until a backward pass writes them) to every layer of <paramref name="stack"/>, remembering the buffers they held.</summary>
    /// <param name="stack">The stack to observe.</param>
    /// <param name="maxLength">The longest sequence (T) a backward pass will have.</param>
    /// <exception cref="ArgumentNullException"><paramref name="stack"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxLength"/> is less than 1.</exception>
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

    /// <summary>Detaches this recorder's buffers from the layers, restoring the buffer each layer held before (unless another recorder has replaced it since).</summary>
    public void Dispose()
    {
        for (int k = 0; k < _buffers.Length; k++)
            if (ReferenceEquals(_stack.Layers[k].HiddenGradientNorms, _buffers[k])) _stack.Layers[k].HiddenGradientNorms = _previous[k];
    }
}
