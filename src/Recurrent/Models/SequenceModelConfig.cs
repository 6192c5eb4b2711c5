using System.Text.Json.Serialization;
using Recurrent.Layers;
using Recurrent.Losses;

namespace Recurrent.Models;

/// <summary>
/// What the head reads from the recurrent stack's output y [T, B, D·H]:
/// <see cref="None"/> — every step (many-to-many: tagging, next-token prediction);
/// <see cref="Last"/> — the last layer's final states, both directions concatenated, each taken at
/// the sequence's own last step (PyTorch's cat(h_n[-2], h_n[-1]) for a bidirectional stack);
/// <see cref="Mean"/> / <see cref="Max"/> — the mean or element-wise max over the valid steps only.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<Pooling>))]
public enum Pooling
{
    /// <summary>No pooling: a prediction at every step, [T·B, K] (row t·B + b).</summary>
    None,
    /// <summary>The last layer's final hidden states (each sequence's own last step; the reverse direction's at t = 0), one prediction per sequence.</summary>
    Last,
    /// <summary>The mean of the output over each sequence's valid steps, one prediction per sequence.</summary>
    Mean,
    /// <summary>The element-wise maximum of the output over each sequence's valid steps, one prediction per sequence.</summary>
    Max,
}

/// <summary>An extra token input of each step (e.g. a word's suffix or shape), with its own embedding concatenated to the main one.</summary>
/// <param name="Name">The field's name, used in messages (e.g. "suffix").</param>
/// <param name="VocabularySize">Number of ids of this field; <see cref="SequenceModelConfig.Validate"/> requires 1..10000000.</param>
/// <param name="EmbeddingSize">Size of this field's embedding; <see cref="SequenceModelConfig.Validate"/> requires 1..65536.</param>
public sealed record TokenField(string Name, int VocabularySize, int EmbeddingSize);

/// <summary>The training objective: softmax cross-entropy over classes, or a regression loss.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LossKind>))]
public enum LossKind
{
    /// <summary>Softmax cross-entropy over <see cref="SequenceModelConfig.OutputSize"/> classes (PyTorch's cross_entropy); makes the model a classifier.</summary>
    CrossEntropy,
    /// <summary>Mean squared error, as PyTorch's nn.MSELoss.</summary>
    Mse,
    /// <summary>Mean absolute error, as PyTorch's nn.L1Loss.</summary>
    Mae,
    /// <summary>Huber loss with <see cref="SequenceModelConfig.HuberDelta"/> as δ, as PyTorch's nn.HuberLoss.</summary>
    Huber,
}

/// <summary>
/// Shape of a <see cref="SequenceModel"/>: input (token ids through an embedding, or dense
/// per-step features) → recurrent stack (cell, layers, directions, dropout) → pooling → a linear
/// decoder with <see cref="OutputSize"/> outputs (classes, or regression values) → loss.
/// A language model is Tokens → stack → <see cref="Pooling.None"/> → V classes (see <see cref="SequenceModel"/>).
/// </summary>
public sealed record SequenceModelConfig
{
    /// <summary>The recurrent cell; <see cref="CellType.Lstm"/> by default.</summary>
    public CellType Cell { get; init; } = CellType.Lstm;
    /// <summary>Hidden units H per layer and direction, 1..65536; 128 by default.</summary>
    public int HiddenSize { get; init; } = 128;
    /// <summary>Stacked recurrent layers L, 1..64; 1 by default.</summary>
    public int Layers { get; init; } = 1;
    /// <summary>Whether every layer also runs a reverse direction (D = 2, the head reads D·H values); false by default.</summary>
    public bool Bidirectional { get; init; }
    /// <summary>Dropout on the embedding output, between recurrent layers and before the decoder.</summary>
    public float Dropout { get; init; }
    /// <summary>Token input: the vocabulary size V (0 for feature input).</summary>
    public int VocabularySize { get; init; }
    /// <summary>Token input: the embedding size E.</summary>
    public int EmbeddingSize { get; init; }
    /// <summary>Token input: extra id fields per step, each embedded (<c>fields.{i}.weight</c>) and concatenated after the main embedding.</summary>
    public IReadOnlyList<TokenField>? Fields { get; init; }
    /// <summary>Feature input: values per step F (0 for token input).</summary>
    public int FeatureSize { get; init; }
    /// <summary>What the head reads from the stack's output; <see cref="Pooling.None"/> (a prediction per step) by default.</summary>
    public Pooling Pooling { get; init; }
    /// <summary>Classes (cross-entropy) or regression outputs per prediction (e.g. targets × horizon).</summary>
    public int OutputSize { get; init; }
    /// <summary>The training objective; <see cref="LossKind.CrossEntropy"/> (a classifier) by default.</summary>
    public LossKind Loss { get; init; } = LossKind.CrossEntropy;
    /// <summary>δ of the Huber loss (used only by <see cref="LossKind.Huber"/>), a positive finite number; 1 by default.</summary>
    public float HuberDelta { get; init; } = 1f;
    /// <summary>Cross-entropy only: a weight per class (null: all 1), as PyTorch's cross_entropy(weight=…).</summary>
    public float[]? ClassWeights { get; init; }
    /// <summary>The decoder reuses the embedding matrix (needs token input, V outputs and E = D·H).</summary>
    public bool TieWeights { get; init; }

    /// <summary>True for token input (<see cref="VocabularySize"/> &gt; 0), false for feature input.</summary>
    [JsonIgnore]
    public bool HasTokens => VocabularySize > 0;
    /// <summary>True when the loss is cross-entropy: predictions are logits over classes and batches carry labels, not targets.</summary>
    [JsonIgnore]
    public bool IsClassifier => Loss == LossKind.CrossEntropy;
    /// <summary>Directions D: 2 when <see cref="Bidirectional"/>, else 1.</summary>
    [JsonIgnore]
    public int Directions => Bidirectional ? 2 : 1;
    /// <summary>Features per step the stack reads: E plus every field's embedding size for token input, F for feature input.</summary>
    [JsonIgnore]
    public int InputSize => HasTokens ? EmbeddingSize + (Fields?.Sum(f => f.EmbeddingSize) ?? 0) : FeatureSize;
    /// <summary>Gate blocks G per layer: 4 for LSTM, 3 for GRU, 1 for the vanilla RNNs.</summary>
    [JsonIgnore]
    public int GateCount => Cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };
    /// <summary>The recurrent stack's options derived from this config (cell, <see cref="InputSize"/>, H, L, directions, dropout; biases on).</summary>
    [JsonIgnore]
    public RecurrentOptions StackOptions => new(Cell, InputSize, HiddenSize, Layers, Bidirectional, Dropout);

    /// <summary>A next-token language model: Embedding(V, E) → stack → Linear(H, V) at every step.</summary>
    public static SequenceModelConfig LanguageModel(CellType cell, int vocabularySize, int embeddingSize, int hiddenSize, int layers = 1, float dropout = 0f, bool tieWeights = false) => new()
    {
        Cell = cell, VocabularySize = vocabularySize, EmbeddingSize = embeddingSize, HiddenSize = hiddenSize, Layers = layers,
        Dropout = dropout, TieWeights = tieWeights, Pooling = Pooling.None, OutputSize = vocabularySize, Loss = LossKind.CrossEntropy,
    };

    /// <summary>True for the configuration of a next-token language model (token input, one direction, a V-way prediction at every step).</summary>
    [JsonIgnore]
    public bool IsLanguageModel => HasTokens && !Bidirectional && Pooling == Pooling.None && IsClassifier && OutputSize == VocabularySize;

    /// <summary>Number of trainable parameters, computed without allocating the model (a tied matrix counts once).</summary>
    public long ParameterCount()
    {
        long count = HasTokens ? (long)VocabularySize * EmbeddingSize + (Fields?.Sum(f => (long)f.VocabularySize * f.EmbeddingSize) ?? 0) : 0;
        for (int l = 0; l < Layers; l++)
        {
            long input = l == 0 ? InputSize : (long)Directions * HiddenSize;
            count += Directions * (long)GateCount * HiddenSize * (input + HiddenSize + 2);
        }
        if (!TieWeights) count += (long)OutputSize * Directions * HiddenSize;
        return count + OutputSize;
    }

    /// <summary>Number of stored values besides the parameters: the normalisation statistics (see <see cref="SequenceModel"/>).</summary>
    public long BufferCount() => (HasTokens ? 0 : 2L * FeatureSize) + (IsClassifier ? 0 : 2L * OutputSize);

    /// <summary>Throws an exception naming the first invalid field and what is allowed.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Pooling)) throw new ArgumentOutOfRangeException(nameof(Pooling), Pooling, "Pooling must be None, Last, Mean or Max.");
        if (!Enum.IsDefined(Loss)) throw new ArgumentOutOfRangeException(nameof(Loss), Loss, "Loss must be CrossEntropy, Mse, Mae or Huber.");
        if (HasTokens == (FeatureSize > 0))
            throw new ArgumentException("A sequence model reads either token ids (VocabularySize > 0) or features (FeatureSize > 0), not both and not neither.");
        if (VocabularySize < 0 || VocabularySize > 10_000_000) throw new ArgumentOutOfRangeException(nameof(VocabularySize), VocabularySize, "Vocabulary size must be between 1 and 10000000.");
        if (HasTokens && (EmbeddingSize < 1 || EmbeddingSize > 1 << 16)) throw new ArgumentOutOfRangeException(nameof(EmbeddingSize), EmbeddingSize, "Embedding size must be between 1 and 65536.");
        if (Fields is { } fields)
        {
            if (!HasTokens) throw new ArgumentException("Token fields need token input.", nameof(Fields));
            foreach (var f in fields)
                if (f.VocabularySize < 1 || f.VocabularySize > 10_000_000 || f.EmbeddingSize < 1 || f.EmbeddingSize > 1 << 16)
                    throw new ArgumentOutOfRangeException(nameof(Fields), $"Field '{f.Name}' has vocabulary {f.VocabularySize} and embedding {f.EmbeddingSize}; they must be 1..10000000 and 1..65536.");
        }
        if (FeatureSize < 0 || FeatureSize > 1 << 20) throw new ArgumentOutOfRangeException(nameof(FeatureSize), FeatureSize, "Feature size must be between 1 and 1048576.");
        if (OutputSize < 1 || OutputSize > 10_000_000) throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "Output size must be between 1 and 10000000.");
        if (IsClassifier && OutputSize < 2) throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "A classifier needs at least 2 classes.");
        StackOptions.Validate();
        if (!(HuberDelta > 0f && float.IsFinite(HuberDelta))) throw new ArgumentOutOfRangeException(nameof(HuberDelta), HuberDelta, "The Huber delta must be a positive finite number.");
        if (ClassWeights is { } w)
        {
            if (!IsClassifier) throw new ArgumentException("Class weights apply to cross-entropy only.", nameof(ClassWeights));
            if (w.Length != OutputSize) throw new ArgumentException($"There are {w.Length} class weights for {OutputSize} classes.", nameof(ClassWeights));
            if (w.Any(x => !(x >= 0f && float.IsFinite(x))) || w.All(x => x == 0f)) throw new ArgumentException("Class weights must be finite, non-negative and not all zero.", nameof(ClassWeights));
        }
        if (TieWeights && !(HasTokens && Fields is null or { Count: 0 } && IsClassifier && OutputSize == VocabularySize && EmbeddingSize == Directions * HiddenSize))
            throw new ArgumentException($"Weight tying needs token input, one output per token and the embedding size ({EmbeddingSize}) equal to the stack's output size ({Directions * HiddenSize}).", nameof(TieWeights));
    }

    /// <summary>The regression loss of this config (an error for a classifier).</summary>
    [JsonIgnore]
    public RegressionLossKind RegressionLoss => Loss switch
    {
        LossKind.Mse => RegressionLossKind.Mse,
        LossKind.Mae => RegressionLossKind.Mae,
        LossKind.Huber => RegressionLossKind.Huber,
        _ => throw new InvalidOperationException("Cross-entropy is not a regression loss."),
    };
}
