using System.Runtime.CompilerServices;
using Recurrent.Layers;
using Recurrent.Numerics;

namespace Recurrent.Models;

/// <summary>
/// Batch-1 incremental inference for a <see cref="SequenceModel"/>: feed one token, get the
/// logits of the next, with the state (h, c per layer) carried inside. The same function as
/// <see cref="SequenceModel.Forward(int[], int, int, RecurrentState?, bool, Numerics.Rng?, bool)"/> with T = B = 1 (no dropout), without the sequence
/// machinery: each layer's step is one pass over its weights as stored
/// (<c>gates = bias + W_ih·x + W_hh·h</c>, see <see cref="MatrixVector"/>), then the fused cell
/// kernel; nothing is allocated per token.
/// <para>
/// When the vocabulary is small (V·G·H ≤ <see cref="TableLimit"/> values), layer 0's input
/// projection of every token, <c>E[v]·W_ih0ᵀ + bias</c>, is computed once into a [V, G·H] table,
/// so a token costs one row lookup there instead of a pass over W_ih0. The table is a snapshot of
/// the weights when this stepper was made or last <see cref="Refresh"/>ed; every other weight is read
/// live. Call <see cref="Refresh"/> after changing the encoder or layer-0 weights.
/// </para>
/// <para>
/// With <see cref="Compute.Threads"/> ≥ 2 and a large enough layer, each layer's step is cut into
/// bands of hidden units (every gate row of those units, then their cell update) shared with the
/// GEMM worker pool; a band's numbers do not depend on the thread count.
/// </para>
/// </summary>
public sealed class LanguageModelStepper
{
    /// <summary>Largest layer-0 table built, in floats (4 MB).</summary>
    public const int TableLimit = 1 << 20;

    private readonly SequenceModel _model;
    private readonly RecurrentLayer[] _layers;
    private readonly float[][] _projectionBias;  // per layer: b_ih + b_hh (LSTM, RNN) or b_ih (GRU); empty when no bias
    private readonly float[][] _h, _hNext, _c, _cNext;
    private readonly float[] _logits;
    private readonly float[][] _gates, _recurrent, _tanhC;   // per band: [G·n] gate rows of its units, laid out gate-major
    private float[] _table = [];
    private readonly int _gateRows;
    private readonly BandWork _work;
    // The phase the bands of the current step run: a layer index, or −1 for the decoder.
    private int _phase, _parts, _id;

    /// <summary>Below this many multiply-adds a phase stays on one thread: a hand-off costs more than it saves.</summary>
    private const long ParallelMinMacs = 1 << 17;

    /// <summary>A stepper over <paramref name="model"/>'s weights (read live, not copied), starting from the zero state; builds the layer-0 table when it fits.</summary>
    /// <param name="model">A language model (<see cref="SequenceModelConfig.IsLanguageModel"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="model"/> is not a language model.</exception>
    public LanguageModelStepper(SequenceModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.Config.IsLanguageModel)
            throw new ArgumentException("The stepper runs language models (token input, one direction, a next-token prediction at every step).", nameof(model));
        _model = model;
        var config = model.Config;
        int L = config.Layers, H = config.HiddenSize;
        _layers = [.. model.Rnn.Layers];
        _gateRows = _layers[0].GateCount * H;
        _projectionBias = new float[L][];
        _h = new float[L][]; _hNext = new float[L][]; _c = new float[L][]; _cNext = new float[L][];
        for (int l = 0; l < L; l++)
        {
            _h[l] = new float[H]; _hNext[l] = new float[H];
            _c[l] = new float[model.Rnn.HasCellState ? H : 0]; _cNext[l] = new float[_c[l].Length];
        }
        int maxParts = Math.Max(1, Math.Min(Environment.ProcessorCount, Compute.AllCores.Threads));
        _gates = new float[maxParts][]; _recurrent = new float[maxParts][]; _tanhC = new float[maxParts][];
        for (int p = 0; p < maxParts; p++)
        {
            _gates[p] = new float[_gateRows];
            _recurrent[p] = new float[_layers[0] is GruLayer ? _gateRows : 0];
            _tanhC[p] = new float[H];
        }
        _logits = new float[config.VocabularySize];
        _work = new BandWork(this);
        Refresh();
    }

    /// <summary>The model whose weights this stepper reads; its <see cref="SequenceModel.Compute"/> sets the thread count and SIMD level.</summary>
    public SequenceModel Model => _model;

    /// <summary>The logits [V] after the last <see cref="Step"/> (overwritten by the next).</summary>
    public ReadOnlyMemory<float> Logits => _logits;

    /// <summary>Whether layer 0 reads its input projection from a precomputed per-token table.</summary>
    public bool UsesTable => _table.Length > 0;

    /// <summary>Sets the state to zeros (the start of a sequence).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Reset()
    {
        for (int l = 0; l < _h.Length; l++) { _h[l].AsSpan().Clear(); _c[l].AsSpan().Clear(); }
    }

    /// <summary>Takes the state from <paramref name="state"/> (batch 1), e.g. after a <see cref="SequenceModel.Forward(int[], int, int, RecurrentState?, bool, Numerics.Rng?, bool)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void SetState(RecurrentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Batch != 1) throw new ArgumentException($"The stepper runs batch 1; the state is for batch {state.Batch}.", nameof(state));
        int H = _model.Config.HiddenSize;
        for (int l = 0; l < _h.Length; l++)
        {
            state.H.Span.Slice(l * H, H).CopyTo(_h[l]);
            state.C?.Span.Slice(l * H, H).CopyTo(_c[l]);
        }
    }

    /// <summary>Copies the current state into <paramref name="state"/> (batch 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void GetState(RecurrentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Batch != 1) throw new ArgumentException($"The stepper runs batch 1; the state is for batch {state.Batch}.", nameof(state));
        int H = _model.Config.HiddenSize;
        for (int l = 0; l < _h.Length; l++)
        {
            _h[l].CopyTo(state.H.Span.Slice(l * H, H));
            if (state.C is not null) _c[l].CopyTo(state.C.Span.Slice(l * H, H));
        }
    }

    /// <summary>Rebuilds what was derived from the weights (biases summed, the layer-0 table): call after changing them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Refresh()
    {
        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            var bias = layer.BiasIh is null ? [] : layer.BiasIh.Span.ToArray();
            if (bias.Length > 0 && layer is not GruLayer && layer.BiasHh is not null)
                System.Numerics.Tensors.TensorPrimitives.Add(bias, layer.BiasHh.Span, bias);
            _projectionBias[l] = bias;
        }
        var config = _model.Config;
        int V = config.VocabularySize, E = config.EmbeddingSize;
        if ((long)V * _gateRows > TableLimit) { _table = []; return; }
        if (_table.Length != V * _gateRows) _table = new float[V * _gateRows];
        var table = _table.AsSpan();
        var bias0 = _projectionBias[0];
        if (bias0.Length > 0) Kernels.BroadcastRows(bias0, V, table); else table.Clear();
        Gemm.Multiply(_model.Compute, false, true, V, _gateRows, E, 1f, _model.Encoder!.Weight.Span, E,
            _layers[0].WeightIh.Span, E, 1f, table, _gateRows);
    }

    /// <summary>Feeds each id in turn; returns the logits after the last one (empty when <paramref name="ids"/> is).</summary>
    public ReadOnlySpan<float> Prime(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids) Step(id);
        return ids.IsEmpty ? [] : _logits;
    }

    /// <summary>Feeds token <paramref name="id"/>; returns the logits [V] of the next token (valid until the next call).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<float> Step(int id)
    {
        var config = _model.Config;
        if ((uint)id >= (uint)config.VocabularySize)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id must be in 0..{config.VocabularySize - 1}.");
        _id = id;
        int H = config.HiddenSize;
        int threads = Math.Min(Math.Min(_model.Compute.Threads, Environment.ProcessorCount), _gates.Length);
        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            long macs = (long)_gateRows * (layer.WeightHh.Value.Dim(1) + (l == 0 && _table.Length > 0 ? 0 : layer.InputSize));
            RunPhase(l, macs < ParallelMinMacs ? 1 : Math.Min(threads, (H + BandUnit - 1) / BandUnit));
            (_h[l], _hNext[l]) = (_hNext[l], _h[l]);
            if (_c[l].Length > 0) (_c[l], _cNext[l]) = (_cNext[l], _c[l]);
        }
        long decoderMacs = (long)_logits.Length * H;
        RunPhase(-1, decoderMacs < ParallelMinMacs ? 1 : Math.Min(threads, (_logits.Length + BandUnit - 1) / BandUnit));
        return _logits;
    }

    /// <summary>Bands are whole multiples of this many units (or logits), the widest vector.</summary>
    private const int BandUnit = 16;

    private void RunPhase(int phase, int parts)
    {
        _phase = phase;
        _parts = parts;
        if (parts == 1) RunBand(0);
        else GemmWorkers.Run(_work, parts);
    }

    /// <summary>[start, end) of band <paramref name="part"/> of <see cref="_parts"/> over <paramref name="extent"/> outputs.</summary>
    private (int Start, int Count) Band(int part, int extent)
    {
        int units = (extent + BandUnit - 1) / BandUnit;
        int start = (int)((long)units * part / _parts) * BandUnit;
        int end = Math.Min(extent, (int)((long)units * (part + 1) / _parts) * BandUnit);
        return (start, Math.Max(0, end - start));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunBand(int part)
    {
        var simd = _model.Compute.Simd;
        int H = _model.Config.HiddenSize;
        if (_phase < 0)
        {
            var decoder = _model.Decoder;
            var (r0, count) = Band(part, _logits.Length);
            var top = _h[^1];
            MatrixVector.BiasPlusProducts(simd, decoder.Bias is null ? [] : decoder.Bias.Span.Slice(r0, count),
                decoder.Weight.Span.Slice(r0 * H, count * H), top, [], [], _logits.AsSpan(r0, count));
            return;
        }
        int l = _phase;
        var layer = _layers[l];
        var (u0, n) = Band(part, H);
        if (n == 0) return;
        int E = _model.Config.EmbeddingSize, G = layer.GateCount, inSize = layer.InputSize;
        ReadOnlySpan<float> x = l == 0 ? _model.Encoder!.Weight.Span.Slice(_id * E, E) : _h[l - 1];
        ReadOnlySpan<float> h = _h[l];
        bool fromTable = l == 0 && _table.Length > 0;
        var gates = _gates[part].AsSpan(0, G * n);
        var wih = layer.WeightIh.Span;
        var whh = layer.WeightHh.Span;
        var bias = _projectionBias[l];
        for (int g = 0; g < G; g++)
        {
            int r0 = g * H + u0;   // first weight row of this gate block's units
            var y = gates.Slice(g * n, n);
            ReadOnlySpan<float> b = bias.Length == 0 ? [] : bias.AsSpan(r0, n);
            if (layer is GruLayer)
            {
                // gx = x·W_ihᵀ + b_ih and gh = h·W_hhᵀ + b_hh kept apart: n = tanh(gx_n + r ⊙ gh_n).
                if (fromTable) _table.AsSpan(_id * _gateRows + r0, n).CopyTo(y);
                else MatrixVector.BiasPlusProducts(simd, b, wih.Slice(r0 * inSize, n * inSize), x, [], [], y);
                MatrixVector.BiasPlusProducts(simd, layer.BiasHh is null ? [] : layer.BiasHh.Span.Slice(r0, n),
                    whh.Slice(r0 * H, n * H), h, [], [], _recurrent[part].AsSpan(g * n, n));
            }
            else if (fromTable)
                MatrixVector.BiasPlusProducts(simd, _table.AsSpan(_id * _gateRows + r0, n), whh.Slice(r0 * H, n * H), h, [], [], y);
            else
                MatrixVector.BiasPlusProducts(simd, b, wih.Slice(r0 * inSize, n * inSize), x, whh.Slice(r0 * H, n * H), h, y);
        }
        var hNext = _hNext[l].AsSpan(u0, n);
        switch (layer)
        {
            case LstmLayer:
                Kernels.LstmCell(simd, gates, _c[l].AsSpan(u0, n), _cNext[l].AsSpan(u0, n), _tanhC[part].AsSpan(0, n), hNext);
                break;
            case GruLayer:
                Kernels.GruCell(simd, gates, _recurrent[part].AsSpan(0, G * n), h.Slice(u0, n), hNext);
                break;
            case RnnLayer { Activation: RnnActivation.Tanh }:
                Kernels.Tanh(simd, gates, hNext);
                break;
            default:
                Kernels.Relu(simd, gates, hNext);
                break;
        }
    }

    /// <summary>The bands of the current phase, as the worker pool runs them.</summary>
    private sealed class BandWork(LanguageModelStepper owner) : IBandWork
    {
        public void Execute(int part) => owner.RunBand(part);
    }
}
