using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>Nonlinearity of a vanilla (Elman) RNN.</summary>
public enum RnnActivation { Tanh, Relu }

/// <summary>
/// Vanilla (Elman) RNN, one layer and direction:
///   h_t = g(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  g = tanh or ReLU.
/// Backward: da_t = dh_t ⊙ g'(h_t);  dh_{t-1} = da_t · W_hh.
/// </summary>
public sealed class RnnLayer : RecurrentLayer
{
    public RnnActivation Activation { get; }

    public RnnLayer(string suffix, int inputSize, int hiddenSize, RnnActivation activation = RnnActivation.Tanh, bool reverse = false, bool bias = true)
        : base(suffix, 1, inputSize, hiddenSize, reverse, bias)
    {
        Activation = activation;
    }

    protected override void Step(int time, ReadOnlySpan<float> hPrev, Span<float> output)
    {
        var a = GatesAt(time);
        RecurrentProduct(hPrev, a, 1f);
        if (Activation == RnnActivation.Tanh) Kernels.Tanh(Compute.Simd, a, output);
        else Kernels.Relu(Compute.Simd, a, output);
    }

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
