using System.Runtime.CompilerServices;
using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>
/// GRU, one layer and direction, PyTorch gate order (r, z, n):
///   r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
///   h' = (1 − z) ⊙ n + z ⊙ h
/// r multiplies the already-projected hidden term including b_hn, so b_hn cannot be folded
/// into the input projection (ONNX linear_before_reset = 1).
/// </summary>
public sealed class GruLayer : RecurrentLayer
{
    private readonly Tensor _hh = new(0);        // [T or 1, B, 3H]: h_{t-1}·W_hhᵀ + b_hh
    private readonly Tensor _dGatesHh = new(0);  // [T, B, 3H]: dL/d(h·W_hhᵀ + b_hh)

    /// <summary>A GRU layer whose parameters start at zero (<see cref="RecurrentInitializer"/> fills them): weight_ih [3H, in], weight_hh [3H, H], bias_ih and bias_hh [3H], gate blocks r, z, n.</summary>
    /// <param name="suffix">Appended to the parameter names, e.g. <c>l0</c> → <c>weight_ih_l0</c>, <c>l0_reverse</c> → <c>weight_ih_l0_reverse</c>.</param>
    /// <param name="inputSize">Features per input step, ≥ 1.</param>
    /// <param name="hiddenSize">Hidden units H, ≥ 1.</param>
    /// <param name="reverse">True for the reverse direction of a bidirectional layer.</param>
    /// <param name="bias">Whether the layer has <c>bias_ih</c> and <c>bias_hh</c> (true by default).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> or <paramref name="hiddenSize"/> is below 1.</exception>
    public GruLayer(string suffix, int inputSize, int hiddenSize, bool reverse = false, bool bias = true)
        : base(suffix, 3, inputSize, hiddenSize, reverse, bias) { }

    /// <inheritdoc/>
    protected override ReadOnlySpan<float> ProjectionBias() => BiasIh!.Span;

    /// <inheritdoc/>
    protected override void PrepareForward() => _hh.Resize(StepsKept, B, 3 * HiddenSize);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Step(int time, ReadOnlySpan<float> hPrev, Span<float> output)
    {
        int H = HiddenSize, G = 3 * H;
        var gates = GatesAt(time);
        var hh = AtStep(_hh, time);
        if (BiasHh is not null) Kernels.BroadcastRows(BiasHh.Span, B, hh);
        RecurrentProduct(hPrev, hh, BiasHh is null ? 0f : 1f);
        for (int row = 0; row < B; row++)
            Kernels.GruCell(Compute.Simd, gates.Slice(row * G, G), hh.Slice(row * G, G), hPrev.Slice(row * H, H), output.Slice(row * H, H));
    }

    /// <inheritdoc/>
    protected override void PrepareBackward(ReadOnlySpan<float> dCFinal)
    {
        base.PrepareBackward(dCFinal);
        _dGatesHh.Resize(T, B, 3 * HiddenSize);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void StepBackward(int time, ReadOnlySpan<float> dh, Span<float> dhDirect)
    {
        int H = HiddenSize, G = 3 * H;
        var gates = GatesAt(time);
        var hh = AtStep(_hh, time);
        var dIh = DGates.Span.Slice(time * B * G, B * G);
        var dHh = _dGatesHh.Span.Slice(time * B * G, B * G);
        var hPrev = AtStep(HPrev, time);
        for (int row = 0; row < B; row++)
        {
            int o = row * H;
            if (!IsActive(row, time))
            {
                dIh.Slice(row * G, G).Clear();
                dHh.Slice(row * G, G).Clear();
                dhDirect.Slice(o, H).Clear();
                continue;
            }
            Kernels.GruCellBackward(gates.Slice(row * G, G), hh.Slice(row * G + 2 * H, H), hPrev.Slice(o, H),
                dh.Slice(o, H), dIh.Slice(row * G, G), dHh.Slice(row * G, G), dhDirect.Slice(o, H));
        }
        Kernels.FlushSubnormals(dHh);   // as the base class does for dIh: keep the W_hh GEMM off subnormals
    }

    /// <inheritdoc/>
    protected override ReadOnlySpan<float> RecurrentGateGrad(int time)
    {
        int size = B * 3 * HiddenSize;
        return _dGatesHh.Span.Slice(time * size, size);
    }

    /// <inheritdoc/>
    protected override ReadOnlySpan<float> RecurrentGateGradAll() => _dGatesHh.Span;
}
