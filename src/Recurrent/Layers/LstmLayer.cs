using System.Runtime.CompilerServices;
using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>
/// LSTM, one layer and direction, PyTorch gate order (i, f, g, o):
///   i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
///   g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
///   c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
/// The cell state c is carried separately from the output h.
/// </summary>
public sealed class LstmLayer : RecurrentLayer
{
    private readonly Tensor _cell = new(0);      // [T or 1, B, H]: c_t
    private readonly Tensor _cellPrev = new(0);  // [T or 1, B, H]: c_{t-1} as each step read it
    private readonly Tensor _tanhCell = new(0);  // [T or 1, B, H]
    private readonly Tensor _cFinal = new(0);    // [B, H]
    private readonly Tensor _dc = new(0);        // [B, H]

    /// <summary>An LSTM layer whose parameters start at zero (<see cref="RecurrentInitializer"/> fills them): weight_ih [4H, in], weight_hh [4H, H], bias_ih and bias_hh [4H], gate blocks i, f, g, o.</summary>
    /// <param name="suffix">Appended to the parameter names, e.g. <c>l0</c> → <c>weight_ih_l0</c>, <c>l0_reverse</c> → <c>weight_ih_l0_reverse</c>.</param>
    /// <param name="inputSize">Features per input step, ≥ 1.</param>
    /// <param name="hiddenSize">Hidden units H (and cell units), ≥ 1.</param>
    /// <param name="reverse">True for the reverse direction of a bidirectional layer.</param>
    /// <param name="bias">Whether the layer has <c>bias_ih</c> and <c>bias_hh</c> (true by default).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> or <paramref name="hiddenSize"/> is below 1.</exception>
    public LstmLayer(string suffix, int inputSize, int hiddenSize, bool reverse = false, bool bias = true)
        : base(suffix, 4, inputSize, hiddenSize, reverse, bias) { }

    /// <inheritdoc/>
    public override Tensor? FinalCell => _cFinal;

    /// <summary>After Forward: the cell state c_t of every step, [T, B, H] (a workspace, valid until the next Forward).</summary>
    public Tensor CellStates => _cell;
    /// <inheritdoc/>
    public override Tensor? InitialCellGrad => _dc;

    /// <inheritdoc/>
    protected override void PrepareForward()
    {
        _cell.Resize(StepsKept, B, HiddenSize);
        _cellPrev.Resize(StepsKept, B, HiddenSize);
        _tanhCell.Resize(StepsKept, B, HiddenSize);
        _cFinal.Resize(B, HiddenSize);
    }

    /// <summary>Sets the running cell state to <paramref name="c0"/> [B, H], or to zeros when it is empty.</summary>
    /// <param name="c0">The initial cell state, or empty.</param>
    protected override void InitCell(ReadOnlySpan<float> c0)
    {
        if (c0.IsEmpty) _cFinal.Clear(); else c0.CopyTo(_cFinal.Span);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Step(int time, ReadOnlySpan<float> hPrev, Span<float> output)
    {
        int H = HiddenSize, G = 4 * H;
        var gates = GatesAt(time);
        RecurrentProduct(hPrev, gates, 1f);
        var cPrev = AtStep(_cellPrev, time);
        _cFinal.Span.CopyTo(cPrev);
        var c = AtStep(_cell, time);
        var tc = AtStep(_tanhCell, time);
        for (int row = 0; row < B; row++)
        {
            int o = row * H;
            Kernels.LstmCell(Compute.Simd, gates.Slice(row * G, G), cPrev.Slice(o, H), c.Slice(o, H), tc.Slice(o, H), output.Slice(o, H));
        }
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void CommitCell(int time, bool allActive)
    {
        int H = HiddenSize;
        var c = AtStep(_cell, time);
        var state = _cFinal.Span;
        if (allActive) { c.CopyTo(state); return; }
        for (int row = 0; row < B; row++)
            if (IsActive(row, time)) c.Slice(row * H, H).CopyTo(state.Slice(row * H, H));
    }

    /// <summary>Sizes the running dL/dc [B, H] and starts it at <paramref name="dCFinal"/>, or at zero when it is empty.</summary>
    /// <param name="dCFinal">dL/dc_n [B, H], or empty.</param>
    protected override void PrepareBackward(ReadOnlySpan<float> dCFinal)
    {
        _dc.Resize(B, HiddenSize);
        if (dCFinal.IsEmpty) _dc.Clear(); else dCFinal.CopyTo(_dc.Span);
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void StepBackward(int time, ReadOnlySpan<float> dh, Span<float> dhDirect)
    {
        int H = HiddenSize, G = 4 * H;
        var gates = GatesAt(time);
        var dGates = DGates.Span.Slice(time * B * G, B * G);
        var cPrev = AtStep(_cellPrev, time);
        var tc = AtStep(_tanhCell, time);
        var dc = _dc.Span;
        for (int row = 0; row < B; row++)
        {
            int o = row * H;
            if (!IsActive(row, time)) { dGates.Slice(row * G, G).Clear(); continue; }
            Kernels.LstmCellBackward(gates.Slice(row * G, G), cPrev.Slice(o, H), tc.Slice(o, H), dh.Slice(o, H), dc.Slice(o, H), dGates.Slice(row * G, G));
        }
        dhDirect.Clear();
    }
}
