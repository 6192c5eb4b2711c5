using System.Runtime.CompilerServices;
using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>Nonlinearity of a vanilla (Elman) RNN.</summary>
public enum RnnActivation
{
    /// <summary>h_t = tanh(a_t), PyTorch's <c>nonlinearity='tanh'</c> (the default).</summary>
    Tanh,
    /// <summary>h_t = max(0, a_t), PyTorch's <c>nonlinearity='relu'</c>.</summary>
    Relu,
}

/// <summary>
/// Vanilla (Elman) RNN, one layer and direction:
///   h_t = g(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  g = tanh or ReLU.
/// Backward: da_t = dh_t ⊙ g'(h_t);  dh_{t-1} = da_t · W_hh.
/// </summary>
public sealed class RnnLayer : RecurrentLayer
{
    /// <summary>The nonlinearity g applied to the summed projections: tanh (<c>nn.RNN</c>'s default) or ReLU.</summary>
    public RnnActivation Activation { get; }

    /// <summary>A vanilla RNN layer whose parameters start at zero (<see cref="RecurrentInitializer"/> fills them): weight_ih [H, in], weight_hh [H, H], bias_ih and bias_hh [H].</summary>
    /// <param name="suffix">Appended to the parameter names, e.g. <c>l0</c> → <c>weight_ih_l0</c>, <c>l0_reverse</c> → <c>weight_ih_l0_reverse</c>.</param>
    /// <param name="inputSize">Features per input step, ≥ 1.</param>
    /// <param name="hiddenSize">Hidden units H, ≥ 1.</param>
    /// <param name="activation">The nonlinearity g (tanh by default).</param>
    /// <param name="reverse">True for the reverse direction of a bidirectional layer.</param>
    /// <param name="bias">Whether the layer has <c>bias_ih</c> and <c>bias_hh</c> (true by default).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> or <paramref name="hiddenSize"/> is below 1.</exception>
    public RnnLayer(string suffix, int inputSize, int hiddenSize, RnnActivation activation = RnnActivation.Tanh, bool reverse = false, bool bias = true)
        : base(suffix, 1, inputSize, hiddenSize, reverse, bias)
    {
        Activation = activation;
    }

    /// <inheritdoc/>
    protected override void Step(int time, ReadOnlySpan<float> hPrev, Span<float> output)
    {
        var a = GatesAt(time);
        RecurrentProduct(hPrev, a, 1f);
        if (Activation == RnnActivation.Tanh) Kernels.Tanh(Compute.Simd, a, output);
        else Kernels.Relu(Compute.Simd, a, output);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void StepBackward(int time, ReadOnlySpan<float> dh, Span<float> dhDirect)
    {
        int H = HiddenSize, bh = B * H;
        var da = DGates.Span.Slice(time * bh, bh);
        for (int row = 0; row < B; row++)
        {
            var daRow = da.Slice(row * H, H);
            if (!IsActive(row, time)) { daRow.Clear(); continue; }
            var hRow = OutputBuffer.Span.Slice(time * bh + row * H, H);
            if (Activation == RnnActivation.Tanh) Kernels.TanhBackward(hRow, dh.Slice(row * H, H), daRow);
            else Kernels.ReluBackward(hRow, dh.Slice(row * H, H), daRow);
        }
        dhDirect.Clear();
    }
}
