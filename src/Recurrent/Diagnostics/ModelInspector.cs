using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Diagnostics;

/// <summary>One named gate of a cell over one text: values [T, H], step t and unit j at t·H + j.</summary>
/// <param name="Name">The gate's name: <c>i</c>, <c>f</c>, <c>g</c>, <c>o</c> (LSTM), <c>r</c>, <c>z</c>, <c>n</c> (GRU) or <c>a</c> (vanilla RNN); see <see cref="ModelInspector.GateNamesOf"/>.</param>
/// <param name="Values">The gate's values, [T, H] row-major (for a vanilla RNN's <c>a</c>, the pre-activation).</param>
public sealed record GateTrace(string Name, float[] Values);

/// <summary>
/// One layer and direction of the recurrent stack over one text. Every array is [T, H] row-major
/// (step t, unit j at t·H + j): <see cref="Hidden"/> is h_t; <see cref="Cell"/> is an LSTM's c_t
/// (null for other cells); <see cref="Gates"/> holds the cell's gates in PyTorch order (LSTM:
/// input i, forget f, candidate g, output o; GRU: reset r, update z, candidate n; a vanilla RNN:
/// its pre-activation "a"), empty when not recorded.
/// </summary>
/// <param name="Layer">The 0-based layer of the stack.</param>
/// <param name="Direction">0 for the forward direction, 1 for the backward one of a bidirectional layer.</param>
/// <param name="Steps">T, the steps recorded.</param>
/// <param name="Units">H, the hidden units of the layer.</param>
/// <param name="Hidden">The hidden states h_t, [T, H] row-major.</param>
/// <param name="Cell">An LSTM's cell states c_t, [T, H] row-major; null for other cells.</param>
/// <param name="Gates">The cell's gates in PyTorch order; empty when not recorded.</param>
public sealed record LayerTrace(int Layer, int Direction, int Steps, int Units, float[] Hidden, float[]? Cell, IReadOnlyList<GateTrace> Gates)
{
    /// <summary>The gate called <paramref name="name"/>, or null.</summary>
    public GateTrace? Gate(string name) => Gates.FirstOrDefault(g => g.Name == name);
}

/// <summary>
/// What <see cref="ModelInspector.Inspect"/> saw while a language model read ids x_0 … x_{T−1}.
/// <see cref="Layers"/>: every layer's states and gates (layer-major). <see cref="NextLogProbabilities"/>:
/// log p(v | x_0..x_{T−1}) for every token v [V]. <see cref="Surprisal"/>[t] = −log p(x_t | x_&lt;t) in
/// nats for t ≥ 1 (NaN at t = 0: nothing predicts the first token). <see cref="Target"/>: the token
/// whose log-probability after the last step the gradients are taken of (by default the most likely).
/// <see cref="HiddenGradients"/>: ‖∂(−log p(target))/∂h_t‖ for every step, layer and direction, from
/// the BPTT backward itself (<see cref="HiddenGradientRecorder"/>). <see cref="Saliency"/>[t] =
/// ‖∂ log p(target)/∂x_t‖, the gradient w.r.t. step t's embedded input: how much each earlier token
/// can move the prediction. Empty lists when gradients were not asked for.
/// </summary>
/// <param name="Ids">The token ids read, x_0 … x_{T−1}.</param>
/// <param name="Layers">Every layer's states and gates over the T steps, layer-major then direction.</param>
/// <param name="NextLogProbabilities">log p(v | x_0..x_{T−1}) for every token v, [V], natural log.</param>
/// <param name="Surprisal">−log p(x_t | x_&lt;t) in nats for each step t, [T]; NaN at t = 0.</param>
/// <param name="Target">The token id whose log-probability after the last step the gradients are taken of.</param>
/// <param name="HiddenGradients">‖∂(−log p(target))/∂h_t‖ per layer and direction, each over the T steps; empty without gradients.</param>
/// <param name="Saliency">‖∂ log p(target)/∂x_t‖ w.r.t. each step's embedded input, [T]; empty without gradients.</param>
public sealed record TextInspection(
    int[] Ids,
    IReadOnlyList<LayerTrace> Layers,
    float[] NextLogProbabilities,
    float[] Surprisal,
    int Target,
    IReadOnlyList<LayerHiddenGradient> HiddenGradients,
    double[] Saliency)
{
    /// <summary>T, the number of tokens read.</summary>
    public int Steps => Ids.Length;
    /// <summary>log p(<see cref="Target"/> | x_0..x_{T−1}), natural log (≤ 0).</summary>
    public double TargetLogProbability => NextLogProbabilities[Target];
}

/// <summary>
/// Looks inside a language model (<see cref="SequenceModelConfig.IsLanguageModel"/>) while it reads
/// one text: hidden states, gates and cell states per step, the next-token distribution, and the
/// gradient of one prediction through time and onto the inputs. It holds its own copy of the
/// weights (taken when it is made), so the model it was made from can go on serving other readers;
/// one inspector is used by one thread at a time (it reuses its workspaces).
/// </summary>
public sealed class ModelInspector
{
    private readonly SequenceModel _model;

    /// <summary>An inspector over a copy of <paramref name="source"/>'s weights (single-threaded compute); later changes to <paramref name="source"/> do not reach it.</summary>
    /// <param name="source">A language model (<see cref="SequenceModelConfig.IsLanguageModel"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="source"/> is not a language model (token input, one direction, a next-token prediction at every step).</exception>
    public ModelInspector(SequenceModel source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.Config.IsLanguageModel)
            throw new ArgumentException("The inspector reads language models (token input, one direction, a next-token prediction at every step).", nameof(source));
        _model = new SequenceModel(source.Config, new Rng(0)) { Compute = Compute.SingleThread };
        _model.LoadStateDict(source.StateDict());
    }

    /// <summary>The configuration of the inspected model (cell, sizes, layers, vocabulary).</summary>
    public SequenceModelConfig Config => _model.Config;

    /// <summary>Names of the gates <see cref="LayerTrace.Gates"/> holds for this model's cell.</summary>
    public IReadOnlyList<string> GateNames => GateNamesOf(_model.Config.Cell);

    /// <summary>The names of the gates of <paramref name="cell"/>, in PyTorch order: <c>i, f, g, o</c> (LSTM), <c>r, z, n</c> (GRU), <c>a</c> (the pre-activation of a vanilla RNN).</summary>
    /// <param name="cell">The cell type.</param>
    /// <returns>One name per gate block.</returns>
    public static IReadOnlyList<string> GateNamesOf(CellType cell) => cell switch
    {
        CellType.Lstm => ["i", "f", "g", "o"],
        CellType.Gru => ["r", "z", "n"],
        _ => ["a"],
    };

    /// <summary>
    /// Runs <paramref name="ids"/> (T ≥ 1 tokens, from a zero state, no dropout) and records
    /// everything in <see cref="TextInspection"/>. <paramref name="target"/> picks the next token
    /// whose log-probability is differentiated (null: the most likely); with
    /// <paramref name="gradients"/> false no backward pass is run.
    /// </summary>
    public TextInspection Inspect(ReadOnlySpan<int> ids, int? target = null, bool gradients = true)
    {
        int T = ids.Length, V = _model.Config.VocabularySize;
        if (T < 1) throw new ArgumentException("The text has no token to inspect.", nameof(ids));
        foreach (int id in ids)
            if ((uint)id >= (uint)V) throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token ids must be in 0..{V - 1}.");
        if (target is int chosen && (uint)chosen >= (uint)V) throw new ArgumentOutOfRangeException(nameof(target), chosen, $"The target must be a token id in 0..{V - 1}.");
        var input = ids.ToArray();
        var batch = new SequenceBatch(T, 1, input, null, null);

        using var recorder = gradients ? new HiddenGradientRecorder(_model.Rnn, T) : null;
        var logits = _model.Forward(batch);   // [T, V]
        var layers = CopyTraces(T, 1, 0, 0, T, withGates: true);

        // Log-probabilities of every step's next token: the surprisal of the text, and the distribution after it.
        var surprisal = new float[T];
        surprisal[0] = float.NaN;
        var logProbs = new float[V];
        for (int t = 0; t < T; t++)
        {
            LogSoftmax(logits.Span.Slice(t * V, V), logProbs);
            if (t + 1 < T) surprisal[t + 1] = -logProbs[input[t + 1]];
        }
        int goal = target ?? System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logProbs);
        if (!gradients) return new TextInspection(input, layers, logProbs, surprisal, goal, [], []);

        // d(−log p(goal))/d(logits) at the last step only: softmax − onehot; zero elsewhere.
        var dLogits = logits.Span;
        dLogits[..((T - 1) * V)].Clear();
        var last = dLogits.Slice((T - 1) * V, V);
        for (int v = 0; v < V; v++) last[v] = MathF.Exp(logProbs[v]);
        last[goal] -= 1f;
        _model.ZeroGrad();
        _model.Backward(logits.Span);
        var hidden = recorder!.Snapshot(T);
        var dInput = _model.InputGradient.Span;   // [T, 1, E]
        int E = _model.Config.InputSize;
        var saliency = new double[T];
        for (int t = 0; t < T; t++)
        {
            double sum = 0;
            foreach (float g in dInput.Slice(t * E, E)) sum += (double)g * g;
            saliency[t] = Math.Sqrt(sum);
        }
        _model.ZeroGrad();
        return new TextInspection(input, layers, logProbs, surprisal, goal, hidden, saliency);
    }

    /// <summary>
    /// The hidden (and LSTM cell) states of every layer for a long text, without gates: the text is
    /// cut into windows of <paramref name="window"/> steps, each read from a zero state after
    /// <paramref name="warmup"/> steps of the text before it (whose states are dropped), and up to
    /// <paramref name="batch"/> windows run side by side as one batch. So every step has seen at
    /// least min(t, warmup) steps of context; the first window reads from the start of the text.
    /// </summary>
    public IReadOnlyList<LayerTrace> TraceStates(ReadOnlySpan<int> ids, int window = 256, int warmup = 32, int batch = 8)
    {
        if (ids.Length < 1) throw new ArgumentException("The text has no token to trace.", nameof(ids));
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "The window must be at least 1 step.");
        if (warmup < 0) throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "The warm-up must be at least 0 steps.");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "The batch must hold at least 1 window.");
        int N = ids.Length, V = _model.Config.VocabularySize, H = _model.Config.HiddenSize;
        foreach (int id in ids)
            if ((uint)id >= (uint)V) throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token ids must be in 0..{V - 1}.");
        var stack = _model.Rnn;
        bool lstm = stack.HasCellState;
        var result = new LayerTrace[stack.Layers.Count];
        for (int k = 0; k < result.Length; k++)
            result[k] = new LayerTrace(k / _model.Config.Directions, k % _model.Config.Directions, N, H, new float[(long)N * H], lstm ? new float[(long)N * H] : null, []);

        int windows = (N + window - 1) / window;
        for (int first = 0; first < windows; first += batch)
        {
            int B = Math.Min(batch, windows - first), T = window + warmup;
            var tokens = new int[T * B];
            var lengths = new int[B];
            var starts = new int[B];
            for (int b = 0; b < B; b++)
            {
                int w = first + b, begin = Math.Max(0, w * window - warmup), end = Math.Min(N, (w + 1) * window);
                starts[b] = begin;
                lengths[b] = end - begin;
                for (int t = 0; t < lengths[b]; t++) tokens[t * B + b] = ids[begin + t];
            }
            _model.Forward(new SequenceBatch(T, B, tokens, null, lengths));
            for (int k = 0; k < result.Length; k++)
            {
                var layer = stack.Layers[k];
                var h = layer.Output.Span;
                var c = lstm ? ((LstmLayer)layer).CellStates.Span : default;
                for (int b = 0; b < B; b++)
                {
                    int w = first + b, keepFrom = w * window - starts[b];
                    for (int t = keepFrom; t < lengths[b]; t++)
                    {
                        long to = (long)(starts[b] + t) * H;
                        h.Slice((t * B + b) * H, H).CopyTo(result[k].Hidden.AsSpan((int)to, H));
                        if (lstm) c.Slice((t * B + b) * H, H).CopyTo(result[k].Cell.AsSpan((int)to, H));
                    }
                }
            }
        }
        return result;
    }

    /// <summary>Copies steps [from, to) of row <paramref name="row"/> of every layer's workspaces after a Forward with batch B.</summary>
    private LayerTrace[] CopyTraces(int T, int B, int row, int from, int to, bool withGates)
    {
        var stack = _model.Rnn;
        int H = _model.Config.HiddenSize, D = _model.Config.Directions, steps = to - from;
        var names = GateNames;
        var traces = new LayerTrace[stack.Layers.Count];
        for (int k = 0; k < traces.Length; k++)
        {
            var layer = stack.Layers[k];
            int G = layer.GateCount;
            var hidden = new float[steps * H];
            var cell = layer is LstmLayer ? new float[steps * H] : null;
            var gates = new GateTrace[withGates ? G : 0];
            for (int g = 0; g < gates.Length; g++) gates[g] = new GateTrace(names[g], new float[steps * H]);
            for (int t = from; t < to; t++)
            {
                int o = (t - from) * H, src = (t * B + row) * H;
                layer.Output.Span.Slice(src, H).CopyTo(hidden.AsSpan(o, H));
                if (cell is not null) ((LstmLayer)layer).CellStates.Span.Slice(src, H).CopyTo(cell.AsSpan(o, H));
                var gateRow = layer.GateActivations.Span.Slice((t * B + row) * G * H, G * H);
                for (int g = 0; g < gates.Length; g++) gateRow.Slice(g * H, H).CopyTo(gates[g].Values.AsSpan(o, H));
            }
            traces[k] = new LayerTrace(k / D, k % D, steps, H, hidden, cell, gates);
        }
        return traces;
    }

    private static void LogSoftmax(ReadOnlySpan<float> logits, Span<float> logProbs)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
        double sum = 0;
        foreach (float z in logits) sum += Math.Exp(z - max);
        float logSum = max + (float)Math.Log(sum);
        for (int v = 0; v < logits.Length; v++) logProbs[v] = logits[v] - logSum;
    }
}
