using System.Runtime.CompilerServices;
using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>
/// Lookup table as PyTorch's nn.Embedding: row i of weight [V, E] is the vector of token i.
/// Forward maps ids [N] to [N, E]; Backward adds each dy row into the gradient row of its id.
/// </summary>
public sealed class Embedding
{
    private readonly Tensor _output = new(0);
    private int[] _ids = [];

    /// <summary>Number of tokens V; valid ids are 0..V−1.</summary>
    public int VocabularySize { get; }
    /// <summary>Size E of each token's vector.</summary>
    public int EmbeddingSize { get; }
    /// <summary>The table [V, E], row i the vector of token i; named <c>&lt;prefix&gt;weight</c> (e.g. <c>encoder.weight</c>).</summary>
    public Parameter Weight { get; }

    /// <summary>A table of <paramref name="vocabularySize"/> vectors, drawn from N(0, 1) as PyTorch's default.</summary>
    /// <param name="prefix">Prepended to the weight's name, e.g. <c>encoder.</c> gives <c>encoder.weight</c>.</param>
    /// <param name="vocabularySize">Number of tokens V, ≥ 1.</param>
    /// <param name="embeddingSize">Vector size E, ≥ 1.</param>
    /// <param name="rng">Draws the initial weights.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="vocabularySize"/> or <paramref name="embeddingSize"/> is below 1.</exception>
    public Embedding(string prefix, int vocabularySize, int embeddingSize, Rng rng)
    {
        if (vocabularySize < 1) throw new ArgumentOutOfRangeException(nameof(vocabularySize), vocabularySize, "Vocabulary size must be at least 1.");
        if (embeddingSize < 1) throw new ArgumentOutOfRangeException(nameof(embeddingSize), embeddingSize, "Embedding size must be at least 1.");
        VocabularySize = vocabularySize;
        EmbeddingSize = embeddingSize;
        Weight = new Parameter(prefix + "weight", new Tensor(vocabularySize, embeddingSize));
        rng.FillGaussian(Weight.Span, 0f, 1f);   // PyTorch's default N(0, 1)
    }

    /// <summary>Returns [N, E] (a workspace). The id array must stay unchanged until Backward.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Forward(int[] ids, int count)
    {
        if (count < 0 || count > ids.Length) throw new ArgumentOutOfRangeException(nameof(count), count, $"Count must be in 0..{ids.Length}.");
        int E = EmbeddingSize;
        _output.Resize(count, E);
        var w = Weight.Span;
        var y = _output.Span;
        for (int n = 0; n < count; n++)
        {
            int id = ids[n];
            if ((uint)id >= (uint)VocabularySize)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id must be in 0..{VocabularySize - 1}.");
            w.Slice(id * E, E).CopyTo(y.Slice(n * E, E));
        }
        _ids = ids;
        _count = count;
        return _output;
    }

    private int _count;

    /// <summary>Adds each row n of <paramref name="dy"/> into the gradient row of token <c>ids[n]</c> of the last <see cref="Forward"/> (repeated ids accumulate).</summary>
    /// <param name="dy">dL/d(output) [N, E], N the count of the last Forward.</param>
    /// <exception cref="ArgumentException"><paramref name="dy"/> does not hold N·E values.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(ReadOnlySpan<float> dy)
    {
        int E = EmbeddingSize;
        if (dy.Length != _count * E) throw new ArgumentException($"Output gradient has {dy.Length} values; expected {_count}×{E}.", nameof(dy));
        var g = Weight.GradSpan;
        for (int n = 0; n < _count; n++)
        {
            var row = g.Slice(_ids[n] * E, E);
            System.Numerics.Tensors.TensorPrimitives.Add(row, dy.Slice(n * E, E), row);
        }
    }
}
