using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>
/// Remember the first token: a sequence of T tokens, each uniform over K classes and given
/// one-hot; after the last step the model must name the class of the first token, T − 1
/// steps back. Every later token is a distractor. Guessing uniformly gives ln K.
/// </summary>
public sealed class FirstTokenTask : SequenceTask
{
    public FirstTokenTask(int length, int classes = 8) : base(length, minimumLength: 2)
    {
        if (classes < 2 || classes > 1000) throw new ArgumentOutOfRangeException(nameof(classes), classes, "The number of classes must be between 2 and 1000.");
        Classes = classes;
    }

    public int Classes { get; }

    public override string Name => "first";
    public override int InputSize => Classes;
    public override int OutputSize => Classes;
    public override TaskKind Kind => TaskKind.Classification;
    public override double BaselineLoss => Math.Log(Classes);
    public override string BaselineDescription => $"guess uniformly among {Classes} classes";

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
