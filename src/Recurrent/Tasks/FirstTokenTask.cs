using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>
/// Remember the first token: a sequence of T tokens, each uniform over K classes and given
/// one-hot; after the last step the model must name the class of the first token, T − 1
/// steps back. Every later token is a distractor. Guessing uniformly gives ln K.
/// </summary>
public sealed class FirstTokenTask : SequenceTask
{
    /// <summary>Creates a first-token task of length <paramref name="length"/>.</summary>
    /// <param name="length">T, the number of time steps, 2..100,000.</param>
    /// <param name="classes">K, the number of token classes, 2..1000 (default 8).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> or <paramref name="classes"/> is out of range.</exception>
    public FirstTokenTask(int length, int classes = 8) : base(length, minimumLength: 2)
    {
        if (classes < 2 || classes > 1000) throw new ArgumentOutOfRangeException(nameof(classes), classes, "The number of classes must be between 2 and 1000.");
        Classes = classes;
    }

    /// <summary>K, the number of token classes (each step is one-hot over K).</summary>
    public int Classes { get; }

    /// <summary>"first".</summary>
    public override string Name => "first";
    /// <summary>K (<see cref="Classes"/>): each step is one token, one-hot over the K classes.</summary>
    public override int InputSize => Classes;
    /// <summary>K: the model names the first token's class.</summary>
    public override int OutputSize => Classes;
    /// <summary><see cref="TaskKind.Classification"/>, scored by cross-entropy.</summary>
    public override TaskKind Kind => TaskKind.Classification;
    /// <summary>ln K, the cross-entropy of guessing uniformly among the K classes.</summary>
    public override double BaselineLoss => Math.Log(Classes);
    /// <inheritdoc/>
    public override string BaselineDescription => $"guess uniformly among {Classes} classes";

    /// <inheritdoc/>
    protected override void Fill(TaskBatch batch, int row, Rng rng)
    {
        int T = Length, B = batch.BatchSize, K = Classes;
        var x = batch.Inputs.Span;
        for (int t = 0; t < T; t++)
        {
            int token = rng.NextInt(K);
            var step = x.Slice((t * B + row) * K, K);
            step.Clear();
            step[token] = 1f;
            if (t == 0) batch.Labels[row] = token;
        }
    }
}
