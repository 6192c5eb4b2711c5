using System.Runtime.CompilerServices;
using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>
/// One layer, one direction of a recurrent network over a time-major batch.
/// Shapes: x [T, B, in], output [T, B, H], states [B, H]. Weights as in PyTorch:
/// weight_ih [G·H, in], weight_hh [G·H, H], bias_ih [G·H], bias_hh [G·H], where G is the
/// number of gate blocks (1 RNN, 4 LSTM, 3 GRU).
///
/// Variable lengths follow PyTorch's packed sequences: row b is active at time t iff
/// t &lt; lengths[b]; an inactive row keeps its state and outputs zero, so the final state
/// is the one after the row's last real step, and a reverse layer starts each row at its
/// own last step.
///
/// Forward computes the input projection of every step as one GEMM; only h·W_hhᵀ runs per
/// step. Backward runs the time loop for the gate gradients and then forms dW_ih, dW_hh
/// and dX as whole-sequence GEMMs. Workspaces are sized once per (T, B) and reused; the
/// time loops allocate nothing. The output, final states and input gradient live in this
/// layer's workspaces and are overwritten by the next call.
///
/// An inference forward (<c>keepForBackward: false</c>) keeps nothing for backward: it projects
/// the input a chunk of steps at a time into a [chunk, B, G·H] buffer and reuses one step's
/// buffers for everything else, so apart from the output sequence its memory does not grow
/// with T. It gives the same bits as the training forward.
/// </summary>
public abstract class RecurrentLayer
{
    /// <summary>Features per step of the input x [T, B, in] (PyTorch's <c>input_size</c> for layer 0, D·H above it); at least 1.</summary>
    public int InputSize { get; }
    /// <summary>Units H of the hidden state h [B, H] and of each output step [B, H]; at least 1.</summary>
    public int HiddenSize { get; }
    /// <summary>True for the reverse direction of a bidirectional layer: steps run from each row's last real step back to t = 0.</summary>
    public bool Reverse { get; }
    /// <summary>Gate blocks G stacked in the weights' rows: 1 (vanilla RNN), 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n).</summary>
    public int GateCount { get; }
    /// <summary>True for an <see cref="LstmLayer"/>, the only cell with a cell state c besides h.</summary>
    public bool HasCellState => this is LstmLayer;

    /// <summary>Input-to-hidden weights W_ih [G·H, in], gate blocks stacked in PyTorch's order; named <c>weight_ih_&lt;suffix&gt;</c> (e.g. <c>weight_ih_l0</c>).</summary>
    public Parameter WeightIh { get; }
    /// <summary>Hidden-to-hidden weights W_hh [G·H, H], gate blocks stacked in PyTorch's order; named <c>weight_hh_&lt;suffix&gt;</c>.</summary>
    public Parameter WeightHh { get; }
    /// <summary>Input bias b_ih [G·H], named <c>bias_ih_&lt;suffix&gt;</c>; null when the layer was made without biases.</summary>
    public Parameter? BiasIh { get; }
    /// <summary>Hidden bias b_hh [G·H], named <c>bias_hh_&lt;suffix&gt;</c>; null when the layer was made without biases.</summary>
    public Parameter? BiasHh { get; }

    /// <summary>Thread count and SIMD level of this layer's GEMMs and cell kernels; <see cref="Numerics.Compute.SingleThread"/> by default.</summary>
    public Compute Compute { get; set; } = Compute.SingleThread;

    /// <summary>
    /// Diagnostics hook (see Recurrent.Diagnostics.HiddenGradientRecorder): when set, each
    /// <see cref="Backward"/> writes ‖dL/dh_t‖ into element t, the L2 norm over the active rows
    /// of the whole batch's gradient w.r.t. this layer's state h_t (its recurrent path plus the
    /// output's own gradient), taken from the BPTT loop itself. Must hold at least T elements.
    /// Null (the default) costs one null test per step.
    /// </summary>
    public double[]? HiddenGradientNorms { get; set; }

    /// <summary>
    /// Rows (steps × B) an inference forward projects at once: enough for the GEMM to run at full
    /// speed (packing W_ih costs a pass over it per chunk), few enough that the chunk's gate buffer
    /// stays small. Chunks hold between <see cref="MinChunkSteps"/> and <see cref="MaxChunkSteps"/> steps.
    /// </summary>
    internal const int ChunkRows = 1024;
    internal const int MinChunkSteps = 16, MaxChunkSteps = 64;

    // Forward workspaces. Gates is indexed by time − _gatesFirstStep; the other per-step workspaces
    // by time t (not by processing order) when keeping activations for backward, else they hold
    // one step ([1, B, ·], see AtStep).
    /// <summary>
    /// Gate workspace [T, B, G·H] (training) or [chunk, B, G·H] (inference): the input projection
    /// x·W_ihᵀ + bias, which <see cref="Step"/> turns into the step's activations; read a step's slice with <see cref="GatesAt"/>.
    /// </summary>
    protected readonly Tensor Gates = new(0);      // [T or chunk, B, G·H]: pre-activations, then activations
    /// <summary>The hidden state each step read, [<see cref="StepsKept"/>, B, H]; read a step's slice with <see cref="AtStep"/>.</summary>
    protected readonly Tensor HPrev = new(0);      // [T or 1, B, H]: the state each step read
    /// <summary>The output sequence [T, B, H], indexed by time; rows past their sequence's end are zero. Exposed as <see cref="Output"/>.</summary>
    protected readonly Tensor OutputBuffer = new(0); // [T, B, H]
    /// <summary>The running hidden state [B, H]; after Forward the final state. Exposed as <see cref="FinalHidden"/>.</summary>
    protected readonly Tensor HFinal = new(0);     // [B, H]
    // Backward workspaces.
    /// <summary>Gate gradients [T, B, G·H], indexed by time: dL/d(x·W_ihᵀ + b_ih), which <see cref="StepBackward"/> writes.</summary>
    protected readonly Tensor DGates = new(0);     // [T, B, G·H]: dL/d(x·W_ihᵀ + b_ih)
    /// <summary>The running gradient dL/dh [B, H] during Backward; afterwards dL/dh0. Exposed as <see cref="InitialHiddenGrad"/>.</summary>
    protected readonly Tensor DH = new(0);         // [B, H]: running dL/dh
    /// <summary>Scratch [B, H] for dL/dh_{t-1} while a step's gradient is formed.</summary>
    protected readonly Tensor DHNext = new(0);     // [B, H]
    /// <summary>dL/dx [T, B, in] after Backward. Exposed as <see cref="InputGrad"/>.</summary>
    protected readonly Tensor DInputBuffer = new(0); // [T, B, in]

    private Tensor? _input;
    private int[] _lengths = [];
    // W_hhᵀ packed once per Forward for the per-step products (same bits as packing it every step).
    private readonly PackedMatrix _weightHhPacked = new();
    private bool _useWeightHhPacked;
    private int _gatesFirstStep;
    /// <summary>Steps T (padded sequence length) of the last Forward.</summary>
    protected int T { get; private set; }
    /// <summary>Sequences B (batch size) of the last Forward.</summary>
    protected int B { get; private set; }

    /// <summary>Whether the last Forward kept the activations <see cref="Backward"/> needs (false after an inference forward).</summary>
    public bool KeepsForBackward { get; private set; }

    /// <summary>Steps the per-step workspaces hold: T when keeping activations for backward, else 1.</summary>
    protected int StepsKept => KeepsForBackward ? T : 1;

    /// <summary>Creates the layer's parameters, all zero (<see cref="RecurrentInitializer"/> fills them).</summary>
    /// <param name="suffix">Appended to the parameter names, as in PyTorch: <c>l0</c> gives <c>weight_ih_l0</c>, <c>l1_reverse</c> gives <c>weight_ih_l1_reverse</c>.</param>
    /// <param name="gateCount">Gate blocks G: 1 (RNN), 4 (LSTM) or 3 (GRU).</param>
    /// <param name="inputSize">Features per input step, ≥ 1.</param>
    /// <param name="hiddenSize">Hidden units H, ≥ 1.</param>
    /// <param name="reverse">True for the reverse direction (runs from the last step to the first).</param>
    /// <param name="bias">Whether the layer has <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> or <paramref name="hiddenSize"/> is below 1.</exception>
    protected RecurrentLayer(string suffix, int gateCount, int inputSize, int hiddenSize, bool reverse, bool bias)
    {
        if (inputSize < 1) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "Input size must be at least 1.");
        if (hiddenSize < 1) throw new ArgumentOutOfRangeException(nameof(hiddenSize), hiddenSize, "Hidden size must be at least 1.");
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        Reverse = reverse;
        GateCount = gateCount;
        int gh = gateCount * hiddenSize;
        WeightIh = new Parameter("weight_ih_" + suffix, new Tensor(gh, inputSize));
        WeightHh = new Parameter("weight_hh_" + suffix, new Tensor(gh, hiddenSize));
        if (bias)
        {
            BiasIh = new Parameter("bias_ih_" + suffix, new Tensor(gh));
            BiasHh = new Parameter("bias_hh_" + suffix, new Tensor(gh));
        }
    }

    /// <summary>Parameters in PyTorch state_dict order: weight_ih, weight_hh, bias_ih, bias_hh.</summary>
    public IEnumerable<Parameter> Parameters()
    {
        yield return WeightIh;
        yield return WeightHh;
        if (BiasIh is not null) yield return BiasIh;
        if (BiasHh is not null) yield return BiasHh;
    }

    /// <summary>
    /// After <see cref="Forward"/>: the output sequence h_t [T, B, H], indexed by time t (not processing
    /// order), zero past each row's length. A workspace, overwritten by the next Forward.
    /// </summary>
    public Tensor Output => OutputBuffer;

    /// <summary>
    /// After <see cref="Forward"/>: the gate values of every step, [T, B, G·H], indexed by time t
    /// (not processing order), gate-major within a row in PyTorch's order. LSTM: i, f, g, o after
    /// σ/tanh; GRU: r, z, n after σ/tanh (n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))); vanilla
    /// RNN: the pre-activation W_ih x + b_ih + W_hh h + b_hh (h_t = g of it). Rows past their
    /// sequence's end hold values computed from the carried state and mean nothing. A workspace:
    /// valid until the next Forward (Backward only reads it).
    /// </summary>
    public Tensor GateActivations => Gates;
    /// <summary>
    /// After <see cref="Forward"/>: the final hidden state h_n [B, H], each row's state after its last real
    /// step (for a reverse layer, after t = 0). A workspace, overwritten by the next Forward.
    /// </summary>
    public Tensor FinalHidden => HFinal;
    /// <summary>After <see cref="Forward"/>: the final cell state c_n [B, H] of an LSTM; null for the other cells.</summary>
    public virtual Tensor? FinalCell => null;
    /// <summary>After <see cref="Backward"/>: dL/dx [T, B, in]. A workspace, overwritten by the next Backward.</summary>
    public Tensor InputGrad => DInputBuffer;
    /// <summary>After <see cref="Backward"/>: dL/dh0 [B, H], the gradient w.r.t. the initial hidden state.</summary>
    public Tensor InitialHiddenGrad => DH;
    /// <summary>After <see cref="Backward"/>: dL/dc0 [B, H] of an LSTM; null for the other cells.</summary>
    public virtual Tensor? InitialCellGrad => null;

    /// <summary>The time index processed at step s.</summary>
    protected int TimeAt(int s) => Reverse ? T - 1 - s : s;

    /// <summary>Whether row b has a real step at time t (rows are not sorted by length).</summary>
    protected bool IsActive(int b, int t) => _lengths.Length == 0 || t < _lengths[b];

    private bool AllActive(int t)
    {
        if (_lengths.Length == 0) return true;
        foreach (int len in _lengths) if (t >= len) return false;
        return true;
    }

    /// <summary>
    /// Runs the layer over <paramref name="x"/> [T, B, in]. <paramref name="lengths"/> is empty
    /// (all rows have length T) or holds B lengths in 1..T. <paramref name="h0"/> and
    /// <paramref name="c0"/> are [B, H] or empty for zeros. With <paramref name="keepForBackward"/>
    /// (training), the activations of every step are kept and <paramref name="x"/> must stay
    /// unchanged until <see cref="Backward"/>; without it (inference), only one step's buffers
    /// are used and <see cref="Backward"/> cannot follow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(Tensor x, int t, int b, int[] lengths, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, bool keepForBackward = true)
    {
        if (x.Length != t * b * InputSize)
            throw new ArgumentException($"Input has {x.Length} values; expected T·B·in = {t}·{b}·{InputSize}.", nameof(x));
        _input = x;
        _lengths = lengths;
        T = t;
        B = b;
        KeepsForBackward = keepForBackward;
        int H = HiddenSize, gh = GateCount * H;
        int chunks = keepForBackward ? 1 : ChunkCount(t, b);
        Gates.Resize((t + chunks - 1) / chunks, b, gh);
        HPrev.Resize(StepsKept, b, H);
        OutputBuffer.Resize(t, b, H);
        HFinal.Resize(b, H);
        PrepareForward();

        // With more than a few rows the per-step product packs op(B) = W_hhᵀ; do that once here instead.
        _useWeightHhPacked = b > GemmMatrixVector.MaxRows && gh > 1;
        if (_useWeightHhPacked) Gemm.Pack(Compute, true, H, gh, WeightHh.Span, H, _weightHhPacked);

        var h = HFinal.Span;
        if (h0.IsEmpty) h.Clear(); else h0.CopyTo(h);
        InitCell(c0);

        int bh = b * H;
        for (int i = 0; i < chunks; i++)
        {
            // Chunk k holds steps [T·k/n, T·(k+1)/n); a reverse layer takes the chunks from the end.
            int chunk = Reverse ? chunks - 1 - i : i;
            int first = (int)((long)t * chunk / chunks), end = (int)((long)t * (chunk + 1) / chunks);
            ProjectInput(x, first, end);
            for (int s = 0; s < end - first; s++)
            {
                int time = Reverse ? end - 1 - s : first + s;
                var hPrev = AtStep(HPrev, time);
                h.CopyTo(hPrev);
                var outT = OutputBuffer.Span.Slice(time * bh, bh);
                Step(time, hPrev, outT);
                if (AllActive(time))
                {
                    outT.CopyTo(h);
                    CommitCell(time, allActive: true);
                }
                else
                {
                    for (int row = 0; row < b; row++)
                    {
                        if (IsActive(row, time)) outT.Slice(row * H, H).CopyTo(h.Slice(row * H, H));
                        else outT.Slice(row * H, H).Clear();
                    }
                    CommitCell(time, allActive: false);
                }
            }
        }
    }

    /// <summary>
    /// How many chunks an inference forward cuts T steps into: about <see cref="ChunkRows"/> rows each.
    /// Every chunk of a cut sequence has more than <see cref="GemmMatrixVector.MaxRows"/> rows (at least
    /// ⌊T/n⌋ ≥ MinChunkSteps/2 steps), so its projection runs the packed kernel as the whole sequence's
    /// does, and that kernel's result for an element depends only on the depth k, not on the row count
    /// (see <see cref="IGemmKernel"/>): chunked or not, the gates get the same bits.
    /// </summary>
    internal static int ChunkCount(int t, int b)
    {
        int steps = Math.Clamp((ChunkRows + b - 1) / b, MinChunkSteps, MaxChunkSteps);
        return (t + steps - 1) / steps;
    }

    /// <summary>The input projection of steps [first, end): Gates[time − first] = x_time·W_ihᵀ + bias.</summary>
    private void ProjectInput(Tensor x, int first, int end)
    {
        int gh = GateCount * HiddenSize, rows = (end - first) * B;
        var gates = Gates.Span[..(rows * gh)];
        if (BiasIh is not null) Kernels.BroadcastRows(ProjectionBias(), rows, gates);
        Gemm.Multiply(Compute, false, true, rows, gh, InputSize, 1f, x.Span.Slice(first * B * InputSize, rows * InputSize), InputSize,
            WeightIh.Span, InputSize, BiasIh is null ? 0f : 1f, gates, gh);
        _gatesFirstStep = first;
    }

    /// <summary>The gates [B, G·H] of the step at <paramref name="time"/> (its chunk's projection must be current).</summary>
    protected Span<float> GatesAt(int time)
    {
        int size = B * GateCount * HiddenSize;
        return Gates.Span.Slice((time - _gatesFirstStep) * size, size);
    }

    /// <summary>The slice of a per-step workspace [<see cref="StepsKept"/>, B, n] that the step at <paramref name="time"/> uses.</summary>
    protected Span<float> AtStep(Tensor perStep, int time)
    {
        int size = perStep.Length / StepsKept;
        return perStep.Span.Slice(KeepsForBackward ? time * size : 0, size);
    }

    /// <summary>
    /// Backpropagation through time. <paramref name="dOutput"/> is dL/dOutput [T, B, H];
    /// <paramref name="dHFinal"/>/<paramref name="dCFinal"/> are dL/d(final state) [B, H] or empty.
    /// Accumulates into every parameter's Grad; leaves dL/dx in <see cref="InputGrad"/> and
    /// dL/dh0 (dL/dc0) in <see cref="InitialHiddenGrad"/> (<see cref="InitialCellGrad"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(ReadOnlySpan<float> dOutput, ReadOnlySpan<float> dHFinal, ReadOnlySpan<float> dCFinal)
    {
        var x = _input ?? throw new InvalidOperationException("Backward called before Forward.");
        if (!KeepsForBackward)
            throw NoActivationsForBackward();
        int t = T, b = B, H = HiddenSize, gh = GateCount * H, bh = b * H;
        if (dOutput.Length != t * bh)
            throw new ArgumentException($"Output gradient has {dOutput.Length} values; expected T·B·H = {t}·{b}·{H}.", nameof(dOutput));
        DGates.Resize(t, b, gh);
        DH.Resize(b, H);
        DHNext.Resize(b, H);
        DInputBuffer.Resize(t, b, InputSize);
        PrepareBackward(dCFinal);

        var dh = DH.Span;
        if (dHFinal.IsEmpty) dh.Clear(); else dHFinal.CopyTo(dh);
        var normSink = HiddenGradientNorms;
        if (normSink is not null && normSink.Length < t)
            throw new InvalidOperationException($"HiddenGradientNorms holds {normSink.Length} values; this batch has T = {t} steps.");
        var dhNext = DHNext.Span;

        for (int s = t - 1; s >= 0; s--)
        {
            int time = TimeAt(s);
            var dOutT = dOutput.Slice(time * bh, bh);
            var dGatesT = DGates.Span.Slice(time * b * gh, b * gh);
            // dh now holds dL/dh_t through the recurrence; add the output's own gradient.
            for (int row = 0; row < b; row++)
            {
                if (IsActive(row, time))
                {
                    var dhRow = dh.Slice(row * H, H);
                    System.Numerics.Tensors.TensorPrimitives.Add(dhRow, dOutT.Slice(row * H, H), dhRow);
                }
            }
            if (normSink is not null) normSink[time] = ActiveRowsNorm(dh, time);
            // Gate gradients; writes the part of dL/dh_{t-1} that bypasses W_hh into dhNext.
            StepBackward(time, dh, dhNext);
            // dL/dh_{t-1} += dGates_hh · W_hh
            // Long sequences drive gradients into the subnormal range, where every GEMM operation is
            // slow; the GRU flushes its separate hh gate gradients in its own StepBackward.
            Kernels.FlushSubnormals(dGatesT);
            var dGatesHhT = RecurrentGateGrad(time);
            Gemm.Multiply(Compute, false, false, b, H, gh, 1f, dGatesHhT, gh, WeightHh.Span, H, 1f, dhNext, H);
            for (int row = 0; row < b; row++)
            {
                if (IsActive(row, time)) dhNext.Slice(row * H, H).CopyTo(dh.Slice(row * H, H));
                // inactive rows: the state was carried unchanged, so dh passes through as it is.
            }
            Kernels.FlushSubnormals(dh);
        }

        // Whole-sequence GEMMs: dW_ih += dGatesᵀ·x, dx = dGates·W_ih, dW_hh += dGates_hhᵀ·HPrev.
        int rows = t * b;
        var dGates = DGates.Span;
        AddTransposedProduct(dGates, gh, x.Span, InputSize, rows, WeightIh.GradSpan);
        Gemm.Multiply(Compute, false, false, rows, InputSize, gh, 1f, dGates, gh, WeightIh.Span, InputSize, 0f, DInputBuffer.Span, InputSize);
        var dGatesHh = RecurrentGateGradAll();
        AddTransposedProduct(dGatesHh, gh, HPrev.Span, H, rows, WeightHh.GradSpan);
        if (BiasIh is not null) Kernels.AddRows(dGates, rows, gh, BiasIh.GradSpan);
        if (BiasHh is not null) Kernels.AddRows(dGatesHh, rows, gh, BiasHh.GradSpan);
        FinishBackward();
    }

    /// <summary>What Backward throws after an inference forward.</summary>
    internal static InvalidOperationException NoActivationsForBackward() =>
        new("Backward needs the activations of a training forward; the last Forward ran with keepForBackward: false (inference) and kept none.");
    private readonly Tensor _chunkProduct = new(0);
    private double[] _gradientSum = [];

    private void AddTransposedProduct(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int rows, Span<float> grad) =>
        GradientSums.AddTransposedProduct(Compute, a, m, b, n, rows, grad, ref _gradientSum, _chunkProduct);

    /// <summary>L2 norm of the active rows of a [B, H] matrix, accumulated in double (diagnostics hook).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double ActiveRowsNorm(ReadOnlySpan<float> m, int time)
    {
        int H = HiddenSize;
        double sum = 0;
        for (int row = 0; row < B; row++)
        {
            if (!IsActive(row, time)) continue;
            foreach (float v in m.Slice(row * H, H)) sum += (double)v * v;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>The bias folded into the input projection: b_ih + b_hh (GRU overrides: b_ih only).</summary>
    protected virtual ReadOnlySpan<float> ProjectionBias()
    {
        var sum = ProjectionBiasBuffer();
        BiasIh!.Span.CopyTo(sum);
        if (BiasHh is not null) System.Numerics.Tensors.TensorPrimitives.Add(sum, BiasHh.Span, sum);
        return sum;
    }

    private float[] _biasSum = [];
    /// <summary>A [G·H] buffer owned by the layer for the folded projection bias, reused by every call (reallocated only when G·H changes).</summary>
    /// <returns>The buffer, with whatever it held before.</returns>
    protected Span<float> ProjectionBiasBuffer()
    {
        int gh = GateCount * HiddenSize;
        if (_biasSum.Length != gh) _biasSum = new float[gh];
        return _biasSum;
    }

    /// <summary>
    /// y = hPrev·W_hhᵀ + beta·y for one time step, hPrev [B, H], y [B, G·H]: from W_hhᵀ packed once
    /// per Forward when B is large enough for the product to pack it, else directly.
    /// </summary>
    protected void RecurrentProduct(ReadOnlySpan<float> hPrev, Span<float> y, float beta)
    {
        int H = HiddenSize, gh = GateCount * H;
        if (_useWeightHhPacked) Gemm.Multiply(Compute, false, B, 1f, hPrev, H, _weightHhPacked, beta, y, gh);
        else Gemm.Multiply(Compute, false, true, B, gh, H, 1f, hPrev, H, WeightHh.Span, H, beta, y, gh);
    }

    /// <summary>
    /// Called by <see cref="Forward"/> once T, B and the shared workspaces are set,
    /// before the first step: a cell sizes its own per-step workspaces here. The base does nothing.
    /// </summary>
    protected virtual void PrepareForward() { }
    /// <summary>Sets the running cell state from <paramref name="c0"/> [B, H] (empty: zeros) before the first step.</summary>
    /// <param name="c0">The initial cell state, or empty.</param>
    /// <exception cref="ArgumentException">The base (every cell but the LSTM) throws when <paramref name="c0"/> is not empty.</exception>
    protected virtual void InitCell(ReadOnlySpan<float> c0)
    {
        if (!c0.IsEmpty) throw new ArgumentException("Only an LSTM has a cell state; c0 must be empty.", nameof(c0));
    }
    /// <summary>Computes the step at <paramref name="time"/> for all rows from hPrev, writing h into <paramref name="output"/>.</summary>
    /// <param name="time">The time index t of the step (not the processing order).</param>
    /// <param name="hPrev">The state h_{t-1} [B, H] the step reads.</param>
    /// <param name="output">Receives h_t [B, H] for every row, active or not; Forward keeps only the active rows.</param>
    protected abstract void Step(int time, ReadOnlySpan<float> hPrev, Span<float> output);
    /// <summary>
    /// After the step at <paramref name="time"/>: copies the new cell state of the rows active at that time
    /// into the running cell state (inactive rows keep theirs). The base, for cells without a cell state, does nothing.
    /// </summary>
    /// <param name="time">The time index of the step just computed.</param>
    /// <param name="allActive">True when every row is active at <paramref name="time"/>.</param>
    protected virtual void CommitCell(int time, bool allActive) { }

    /// <summary>Called by <see cref="Backward"/> once its workspaces are sized, before the time loop: a cell sets up its own backward state.</summary>
    /// <param name="dCFinal">dL/dc_n [B, H], or empty for zero.</param>
    /// <exception cref="ArgumentException">The base (every cell but the LSTM) throws when <paramref name="dCFinal"/> is not empty.</exception>
    protected virtual void PrepareBackward(ReadOnlySpan<float> dCFinal)
    {
        if (!dCFinal.IsEmpty) throw new ArgumentException("Only an LSTM has a cell state; dCFinal must be empty.", nameof(dCFinal));
    }
    /// <summary>
    /// From dh = dL/dh_t (active rows), writes dGates[time] (zero for inactive rows) and the part of
    /// dL/dh_{t-1} that does not pass through W_hh into <paramref name="dhDirect"/>.
    /// </summary>
    /// <param name="time">The time index t of the step.</param>
    /// <param name="dh">dL/dh_t [B, H]: the recurrent gradient plus the output's own; only active rows are read.</param>
    /// <param name="dhDirect">Receives [B, H], the part of dL/dh_{t-1} that bypasses W_hh (zero for the RNN and LSTM).</param>
    protected abstract void StepBackward(int time, ReadOnlySpan<float> dh, Span<float> dhDirect);
    /// <summary>Gradient w.r.t. h·W_hhᵀ + b_hh at one time step; equals DGates except for GRU.</summary>
    protected virtual ReadOnlySpan<float> RecurrentGateGrad(int time)
    {
        int size = B * GateCount * HiddenSize;
        return DGates.Span.Slice(time * size, size);
    }
    /// <summary>
    /// Gradient w.r.t. h·W_hhᵀ + b_hh for every step, [T, B, G·H] indexed by time, from which Backward forms
    /// dW_hh and db_hh; equals <see cref="DGates"/> except for GRU.
    /// </summary>
    /// <returns>A view of the layer's workspace, valid until the next Backward.</returns>
    protected virtual ReadOnlySpan<float> RecurrentGateGradAll() => DGates.Span;
    /// <summary>Called at the end of <see cref="Backward"/>, after every parameter gradient is accumulated. The base does nothing.</summary>
    protected virtual void FinishBackward() { }
}
