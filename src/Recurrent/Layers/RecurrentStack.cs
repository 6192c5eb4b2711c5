using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>
/// A stacked, optionally bidirectional recurrent network: PyTorch's nn.RNN / nn.LSTM / nn.GRU.
/// Layer l reads layer l−1's output sequence (after dropout in training); each layer runs a
/// forward and, when bidirectional, a reverse direction, whose outputs are concatenated.
///
/// Shapes (time-major): input [T, B, in]; lengths [B] in 1..T or null for all T;
/// h0, c0 [L·D, B, H] (layer-major, direction-minor) or null for zeros;
/// output [T, B, D·H] (zero past each sequence's end); h_n, c_n [L·D, B, H].
/// Returned tensors are this stack's workspaces, valid until the next Forward/Backward.
///
/// With two or more threads (<see cref="Compute"/>), the two directions of a bidirectional layer
/// run at the same time, each on its own thread, forward and backward: they share nothing but the
/// layer's input, and no time step waits for the other direction. Their products then run on
/// their own thread (the GEMM pool is taken), which gives the same bits as running them one after
/// the other.
/// </summary>
public sealed class RecurrentStack
{
    private readonly RecurrentLayer[] _layers;   // index l·D + d
    private readonly Dropout[] _dropouts;        // between layers: index l for the input of layer l+1
    private readonly Tensor[] _layerInputs;      // input of layer l ≥ 1: [T, B, D·H] (index 0 unused)
    private readonly Tensor _output = new(0);
    private readonly Tensor _hN = new(0);
    private readonly Tensor _cN = new(0);
    private readonly Tensor _dLayerOutput = new(0); // [T, B, D·H] gradient flowing into a layer's output
    private readonly Tensor[] _dDirection = [new(0), new(0)]; // [T, B, H] each direction's share of it
    private readonly DirectionWork _directions = new();
    private readonly Tensor _dLayerInput = new(0);  // [T, B, D·H] gradient w.r.t. a layer's input (l ≥ 1)
    private readonly Tensor _dInput = new(0);
    private readonly Tensor _dH0 = new(0);
    private readonly Tensor _dC0 = new(0);
    private int _t, _b;
    private Compute _compute = Compute.SingleThread;

    /// <summary>The stack's shape: cell, sizes, layers, directions, dropout and bias (validated).</summary>
    public RecurrentOptions Options { get; }

    /// <summary>Builds the L·D layers and initialises their parameters.</summary>
    /// <param name="options">The shape, checked with <see cref="RecurrentOptions.Validate"/>.</param>
    /// <param name="rng">Draws the initial weights.</param>
    /// <param name="init">How the weights start; null for <see cref="RecurrentInit.Default"/> (PyTorch's).</param>
    /// <exception cref="ArgumentOutOfRangeException">A field of <paramref name="options"/> or <see cref="RecurrentInit.RecurrentScale"/> is out of range.</exception>
    public RecurrentStack(RecurrentOptions options, Rng rng, RecurrentInit? init = null)
    {
        options.Validate();
        Options = options;
        int D = options.Directions, H = options.HiddenSize;
        _layers = new RecurrentLayer[options.NumLayers * D];
        for (int l = 0; l < options.NumLayers; l++)
        {
            int inSize = l == 0 ? options.InputSize : D * H;
            for (int d = 0; d < D; d++)
            {
                string suffix = "l" + l + (d == 1 ? "_reverse" : "");
                bool reverse = d == 1;
                _layers[l * D + d] = options.Cell switch
                {
                    CellType.RnnTanh => new RnnLayer(suffix, inSize, H, RnnActivation.Tanh, reverse, options.Bias),
                    CellType.RnnRelu => new RnnLayer(suffix, inSize, H, RnnActivation.Relu, reverse, options.Bias),
                    CellType.Lstm => new LstmLayer(suffix, inSize, H, reverse, options.Bias),
                    _ => new GruLayer(suffix, inSize, H, reverse, options.Bias),
                };
            }
        }
        _dropouts = new Dropout[Math.Max(0, options.NumLayers - 1)];
        _layerInputs = new Tensor[options.NumLayers];
        for (int l = 0; l < _dropouts.Length; l++) _dropouts[l] = new Dropout(options.Dropout);
        for (int l = 0; l < options.NumLayers; l++) _layerInputs[l] = new Tensor(0);
        RecurrentInitializer.Apply(this, rng, init ?? RecurrentInit.Default);
    }

    /// <summary>Thread count and SIMD level for every layer.</summary>
    public Compute Compute
    {
        get => _compute;
        set { _compute = value; foreach (var layer in _layers) layer.Compute = value; }
    }

    /// <summary>The L·D layers, at index l·D + d (layer-major, direction-minor; d = 1 the reverse direction), as PyTorch orders h_n.</summary>
    public IReadOnlyList<RecurrentLayer> Layers => _layers;

    /// <summary>All parameters in PyTorch state_dict order (layer-major, direction-minor; weight_ih, weight_hh, bias_ih, bias_hh).</summary>
    public IEnumerable<Parameter> Parameters() => _layers.SelectMany(l => l.Parameters());

    /// <summary>True for an LSTM stack: it takes c0 and returns c_n besides h0 and h_n.</summary>
    public bool HasCellState => Options.Cell == CellType.Lstm;

    /// <summary>Whether the last Forward kept the activations <see cref="Backward"/> needs (false after an inference forward).</summary>
    public bool KeepsForBackward { get; private set; }

    /// <summary>
    /// Runs the stack. <paramref name="training"/> turns dropout on (then <paramref name="rng"/> is needed).
    /// <paramref name="keepForBackward"/> false makes it an inference forward: no activations are kept
    /// for <see cref="Backward"/> (which then throws), so besides the output sequences memory does not
    /// grow with T·G·H; the results have the same bits either way.
    /// </summary>
    public RecurrentResult Forward(Tensor input, int[]? lengths = null, Tensor? h0 = null, Tensor? c0 = null, bool training = false, Rng? rng = null,
        bool keepForBackward = true)
    {
        if (input.Rank != 3 || input.Dim(2) != Options.InputSize)
            throw new ArgumentException($"Input must be [T, B, {Options.InputSize}]; got {input.ShapeString}.", nameof(input));
        int T = input.Dim(0), B = input.Dim(1), H = Options.HiddenSize, D = Options.Directions, L = Options.NumLayers;
        if (T < 1 || B < 1) throw new ArgumentException($"Input must have at least one step and one sequence; got {input.ShapeString}.", nameof(input));
        var lens = ValidateLengths(lengths, T, B);
        CheckState(h0, "h0", L * D, B, H);
        if (c0 is not null && !HasCellState) throw new ArgumentException("Only an LSTM takes an initial cell state c0.", nameof(c0));
        CheckState(c0, "c0", L * D, B, H);
        _t = T; _b = B;
        KeepsForBackward = keepForBackward;

        _hN.Resize(L * D, B, H);
        if (HasCellState) _cN.Resize(L * D, B, H);
        int bh = B * H;
        Tensor layerInput = input;
        for (int l = 0; l < L; l++)
        {
            Tensor layerOutput = l == L - 1 ? _output : _layerInputs[l + 1];
            layerOutput.Resize(T, B, D * H);
            int k0 = l * D;
            Tensor x = layerInput;
            RunDirections(d =>
            {
                int k = k0 + d;
                var layer = _layers[k];
                var h0k = h0 is null ? ReadOnlySpan<float>.Empty : h0.Span.Slice(k * bh, bh);
                var c0k = c0 is null ? ReadOnlySpan<float>.Empty : c0.Span.Slice(k * bh, bh);
                layer.Forward(x, T, B, lens, h0k, c0k, keepForBackward);
                Interleave(layer.Output.Span, layerOutput.Span, T * B, H, d, D);
                layer.FinalHidden.Span.CopyTo(_hN.Span.Slice(k * bh, bh));
                if (HasCellState) layer.FinalCell!.Span.CopyTo(_cN.Span.Slice(k * bh, bh));
            });
            if (l < L - 1) _dropouts[l].Forward(layerOutput.Span, layerOutput.Span, training, rng);
            layerInput = layerOutput;
        }
        return new RecurrentResult(_output, _hN, HasCellState ? _cN : null);
    }

    /// <summary>
    /// BPTT through the whole stack. Gradients w.r.t. the output [T, B, D·H] and optionally the
    /// final states [L·D, B, H]. Accumulates every parameter gradient; returns the gradients
    /// w.r.t. the input and the initial states.
    /// </summary>
    public RecurrentGradients Backward(Tensor dOutput, Tensor? dHN = null, Tensor? dCN = null)
    {
        int T = _t, B = _b, H = Options.HiddenSize, D = Options.Directions, L = Options.NumLayers, bh = B * H;
        if (T == 0) throw new InvalidOperationException("Backward called before Forward.");
        if (!KeepsForBackward)
            throw RecurrentLayer.NoActivationsForBackward();
        if (dOutput.Length != T * B * D * H)
            throw new ArgumentException($"Output gradient must be [{T}, {B}, {D * H}]; got {dOutput.ShapeString}.", nameof(dOutput));
        CheckState(dHN, "dHN", L * D, B, H);
        CheckState(dCN, "dCN", L * D, B, H);
        _dH0.Resize(L * D, B, H);
        if (HasCellState) _dC0.Resize(L * D, B, H);
        _dLayerOutput.Resize(T, B, D * H);
        dOutput.Span.CopyTo(_dLayerOutput.Span);
        for (int d = 0; d < D; d++) _dDirection[d].Resize(T, B, H);

        for (int l = L - 1; l >= 0; l--)
        {
            int inSize = l == 0 ? Options.InputSize : D * H;
            var dIn = l == 0 ? _dInput : _dLayerInput;
            dIn.Resize(T, B, inSize);
            int k0 = l * D;
            RunDirections(d =>
            {
                int k = k0 + d;
                var layer = _layers[k];
                Deinterleave(_dLayerOutput.Span, _dDirection[d].Span, T * B, H, d, D);
                var dh = dHN is null ? ReadOnlySpan<float>.Empty : dHN.Span.Slice(k * bh, bh);
                var dc = dCN is null ? ReadOnlySpan<float>.Empty : dCN.Span.Slice(k * bh, bh);
                layer.Backward(_dDirection[d].Span, dh, dc);
                layer.InitialHiddenGrad.Span.CopyTo(_dH0.Span.Slice(k * bh, bh));
                if (HasCellState) layer.InitialCellGrad!.Span.CopyTo(_dC0.Span.Slice(k * bh, bh));
            });
            // The directions' input gradients are summed after both are done, forward first.
            _layers[k0].InputGrad.Span.CopyTo(dIn.Span);
            if (D == 2) System.Numerics.Tensors.TensorPrimitives.Add(dIn.Span, _layers[k0 + 1].InputGrad.Span, dIn.Span);
            if (l > 0)
            {
                _dropouts[l - 1].Backward(dIn.Span, dIn.Span);
                dIn.Span.CopyTo(_dLayerOutput.Span);
            }
        }
        return new RecurrentGradients(_dInput, _dH0, HasCellState ? _dC0 : null);
    }

    /// <summary>
    /// Runs <paramref name="direction"/> for d = 0..D−1: the two directions of a bidirectional layer at
    /// the same time when the stack has two or more threads, else one after the other.
    /// </summary>
    private void RunDirections(Action<int> direction)
    {
        if (Options.Directions == 1 || _compute.Threads == 1)
        {
            for (int d = 0; d < Options.Directions; d++) direction(d);
            return;
        }
        _directions.Body = direction;
        try { GemmWorkers.Run(_directions, 2); }
        finally { _directions.Body = null; }
    }

    /// <summary>One direction per band, for <see cref="GemmWorkers"/>.</summary>
    private sealed class DirectionWork : IBandWork
    {
        public Action<int>? Body;
        public void Execute(int part) => Body!(part);
    }

    /// <summary>Sets every parameter gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad.Clear();
    }

    private static int[] ValidateLengths(int[]? lengths, int T, int B)
    {
        if (lengths is null) return [];
        if (lengths.Length != B) throw new ArgumentException($"lengths has {lengths.Length} entries; the batch has {B} sequences.", nameof(lengths));
        bool allFull = true;
        foreach (int len in lengths)
        {
            if (len < 1 || len > T) throw new ArgumentOutOfRangeException(nameof(lengths), len, $"Every length must be in 1..{T} (the padded sequence length).");
            allFull &= len == T;
        }
        return allFull ? [] : lengths;
    }

    private static void CheckState(Tensor? state, string name, int layersTimesDirections, int B, int H)
    {
        if (state is null) return;
        if (state.Length != layersTimesDirections * B * H)
            throw new ArgumentException($"{name} must be [{layersTimesDirections}, {B}, {H}] (layers·directions, batch, hidden); got {state.ShapeString}.", name);
    }

    // dst[r, d·H + j] = src[r, j] for r in 0..rows
    private static void Interleave(ReadOnlySpan<float> src, Span<float> dst, int rows, int H, int d, int D)
    {
        if (D == 1) { src[..(rows * H)].CopyTo(dst); return; }
        for (int r = 0; r < rows; r++) src.Slice(r * H, H).CopyTo(dst.Slice(r * D * H + d * H, H));
    }

    private static void Deinterleave(ReadOnlySpan<float> src, Span<float> dst, int rows, int H, int d, int D)
    {
        if (D == 1) { src[..(rows * H)].CopyTo(dst); return; }
        for (int r = 0; r < rows; r++) src.Slice(r * D * H + d * H, H).CopyTo(dst.Slice(r * H, H));
    }
}

/// <summary>Output [T, B, D·H], final hidden state h_n [L·D, B, H], final cell state c_n (LSTM only).</summary>
/// <param name="Output">The last layer's output sequence [T, B, D·H], zero past each sequence's end.</param>
/// <param name="HN">The final hidden states h_n [L·D, B, H], layer-major, direction-minor.</param>
/// <param name="CN">The final cell states c_n [L·D, B, H] of an LSTM; null for the other cells.</param>
public sealed record RecurrentResult(Tensor Output, Tensor HN, Tensor? CN);

/// <summary>dL/dInput [T, B, in], dL/dh0 [L·D, B, H], dL/dc0 (LSTM only).</summary>
/// <param name="Input">dL/dInput [T, B, in].</param>
/// <param name="H0">dL/dh0 [L·D, B, H].</param>
/// <param name="C0">dL/dc0 [L·D, B, H] of an LSTM; null for the other cells.</param>
public sealed record RecurrentGradients(Tensor Input, Tensor H0, Tensor? C0);
