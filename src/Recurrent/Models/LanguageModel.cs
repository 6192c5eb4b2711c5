using Recurrent.Layers;
using Recurrent.Numerics;

namespace Recurrent.Models;

/// <summary>
/// Shape of a language model: Embedding(V, E) → recurrent stack (cell, layers, H) → Linear(H, V),
/// with dropout on the embedding output, between recurrent layers and before the decoder
/// (the non-recurrent connections, as Zaremba et al. 2014). With <see cref="TieWeights"/> the
/// decoder reuses the embedding matrix (Press &amp; Wolf 2017), which needs E = H.
/// </summary>
public sealed record LanguageModelConfig(
    CellType Cell,
    int VocabularySize,
    int EmbeddingSize,
    int HiddenSize,
    int Layers = 1,
    float Dropout = 0f,
    bool TieWeights = false)
{
    /// <summary>Number of parameters the model will have, computed without allocating it (a tied matrix counts once).</summary>
    public long ParameterCount()
    {
        int G = Cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };
        long count = (long)VocabularySize * EmbeddingSize;                     // encoder
        for (int l = 0; l < Layers; l++)
        {
            long input = l == 0 ? EmbeddingSize : HiddenSize;
            count += (long)G * HiddenSize * (input + HiddenSize + 2);          // weight_ih, weight_hh, both biases
        }
        if (!TieWeights) count += (long)VocabularySize * HiddenSize;          // decoder weight
        return count + VocabularySize;                                         // decoder bias
    }

    public void Validate()
    {
        if (VocabularySize < 2 || VocabularySize > 10_000_000) throw new ArgumentOutOfRangeException(nameof(VocabularySize), VocabularySize, "Vocabulary size must be between 2 and 10000000.");
        if (EmbeddingSize < 1 || EmbeddingSize > 1 << 16) throw new ArgumentOutOfRangeException(nameof(EmbeddingSize), EmbeddingSize, "Embedding size must be between 1 and 65536.");
        new RecurrentOptions(Cell, EmbeddingSize, HiddenSize, Layers, false, Dropout).Validate();
        if (TieWeights && EmbeddingSize != HiddenSize)
            throw new ArgumentException($"Weight tying needs the embedding size ({EmbeddingSize}) to equal the hidden size ({HiddenSize}).", nameof(TieWeights));
    }
}

/// <summary>The recurrent state carried between windows: h (and c for an LSTM), [layers, B, H].</summary>
public sealed class RecurrentState
{
    public Tensor H { get; }
    public Tensor? C { get; }
    public int Batch => H.Dim(1);

    public RecurrentState(int layers, int batch, int hidden, bool hasCell)
    {
        H = new Tensor(layers, batch, hidden);
        C = hasCell ? new Tensor(layers, batch, hidden) : null;
    }

    public void Reset()
    {
        H.Clear();
        C?.Clear();
    }
}

/// <summary>
/// A next-token language model over ids. Time-major: ids [T·B] with index t·B + b; logits [T·B, V].
/// Parameter names follow PyTorch's word_language_model: encoder.weight, rnn.weight_ih_l0, …,
/// decoder.weight, decoder.bias.
/// </summary>
public sealed class LanguageModel
{
    private readonly Dropout _inputDropout;
    private readonly Dropout _outputDropout;
    private readonly Tensor _embedded = new(0);     // [T, B, E] after dropout
    private readonly Tensor _hidden = new(0);       // [T·B, H] stack output after dropout
    private readonly Tensor _dHidden = new(0);      // [T, B, H]
    private readonly List<(string Name, Parameter Parameter)> _named = [];
    private Compute _compute = Compute.SingleThread;

    public LanguageModelConfig Config { get; }
    public Embedding Encoder { get; }
    public RecurrentStack Rnn { get; }
    public Linear Decoder { get; }

    public LanguageModel(LanguageModelConfig config, Rng rng)
    {
        config.Validate();
        Config = config;
        Encoder = new Embedding("encoder.", config.VocabularySize, config.EmbeddingSize, rng);
        // word_language_model's init: encoder and decoder weights U(−0.1, 0.1), decoder bias 0.
        rng.FillUniform(Encoder.Weight.Span, -0.1f, 0.1f);
        Rnn = new RecurrentStack(new RecurrentOptions(config.Cell, config.EmbeddingSize, config.HiddenSize, config.Layers, false, config.Dropout), rng);
        Decoder = config.TieWeights
            ? new Linear("decoder.", Encoder.Weight, rng)
            : new Linear("decoder.", config.HiddenSize, config.VocabularySize, rng);
        if (!config.TieWeights) rng.FillUniform(Decoder.Weight.Span, -0.1f, 0.1f);
        Decoder.Bias!.Span.Clear();
        _inputDropout = new Dropout(config.Dropout);
        _outputDropout = new Dropout(config.Dropout);

        _named.Add(("encoder.weight", Encoder.Weight));
        foreach (var p in Rnn.Parameters()) _named.Add(("rnn." + p.Name, p));
        if (!config.TieWeights) _named.Add(("decoder.weight", Decoder.Weight));
        _named.Add(("decoder.bias", Decoder.Bias!));
    }

    /// <summary>Every parameter once (a tied weight appears under encoder.weight), with its state_dict name.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters => _named;

    public IReadOnlyList<Parameter> Parameters => _named.Select(n => n.Parameter).ToList();

    public long ParameterCount => _named.Sum(n => (long)n.Parameter.Value.Length);

    public Compute Compute
    {
        get => _compute;
        set { _compute = value; Rnn.Compute = value; Decoder.Compute = value; }
    }

    public RecurrentState NewState(int batch) => new(Config.Layers, batch, Config.HiddenSize, Rnn.HasCellState);

    /// <summary>
    /// Logits [T·B, V] (a workspace) for ids [T·B]. The state is read as the initial state and
    /// replaced by the final state (the carry of truncated BPTT; no gradient flows into it).
    /// <paramref name="keepForBackward"/> false runs the recurrent stack as an inference forward
    /// (same logits, no activations kept; <see cref="Backward"/> cannot follow).
    /// </summary>
    public Tensor Forward(int[] ids, int T, int B, RecurrentState state, bool training = false, Rng? rng = null, bool keepForBackward = true)
    {
        if (T < 1 || B < 1) throw new ArgumentOutOfRangeException(nameof(T), $"Need at least one step and one sequence; got T={T}, B={B}.");
        if (ids.Length < T * B) throw new ArgumentException($"ids holds {ids.Length} values; expected T·B = {T * B}.", nameof(ids));
        if (state.Batch != B) throw new ArgumentException($"The state is for batch {state.Batch}; the input has batch {B}.", nameof(state));
        int E = Config.EmbeddingSize, H = Config.HiddenSize;
        var embedded = Encoder.Forward(ids, T * B);
        _embedded.Resize(T, B, E);
        _inputDropout.Forward(embedded.Span, _embedded.Span, training, rng);
        var result = Rnn.Forward(_embedded, null, state.H, state.C, training, rng, keepForBackward);
        result.HN.Span.CopyTo(state.H.Span);
        result.CN?.Span.CopyTo(state.C!.Span);
        _hidden.Resize(T * B, H);
        _outputDropout.Forward(result.Output.Span, _hidden.Span, training, rng);
        return Decoder.Forward(_hidden, T * B);
    }

    /// <summary>Backpropagates d(loss)/d(logits) [T·B, V] from the last Forward; accumulates every parameter gradient.</summary>
    public void Backward(ReadOnlySpan<float> dLogits)
    {
        if (!Rnn.KeepsForBackward)
            throw RecurrentLayer.NoActivationsForBackward();
        var dHidden = Decoder.Backward(dLogits);
        _dHidden.Resize(_embedded.Dim(0), _embedded.Dim(1), Config.HiddenSize);
        _outputDropout.Backward(dHidden.Span, _dHidden.Span);
        var grads = Rnn.Backward(_dHidden);
        _inputDropout.Backward(grads.Input.Span, grads.Input.Span);
        Encoder.Backward(grads.Input.Span);
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in _named) p.Grad.Clear();
    }
}
