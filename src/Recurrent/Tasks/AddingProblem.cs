using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>
/// The adding problem (Hochreiter &amp; Schmidhuber 1997; Le et al. 2015). Each step has two
/// inputs: a value uniform in [0, 1) and a marker that is 1 at exactly two steps, one drawn
/// uniformly from the first half [0, ⌊T/2⌋) and one from the second half [⌊T/2⌋, T), and 0
/// elsewhere. The target, read after the last step, is the sum of the two marked values.
/// Always predicting 1.0 (the mean of the sum) gives MSE Var(U₁ + U₂) = 2/12 ≈ 0.1667.
/// </summary>
/// <param name="length">T, the number of time steps, 2..100,000 (otherwise <see cref="ArgumentOutOfRangeException"/>).</param>
public sealed class AddingProblem(int length) : SequenceTask(length, minimumLength: 2)
{
    /// <summary>"adding".</summary>
    public override string Name => "adding";
    /// <summary>2: the value, uniform in [0, 1), and the marker, 1 at the two summed steps and 0 elsewhere.</summary>
    public override int InputSize => 2;
    /// <summary>1: the predicted sum.</summary>
    public override int OutputSize => 1;
    /// <summary><see cref="TaskKind.Regression"/>, scored by mean squared error.</summary>
    public override TaskKind Kind => TaskKind.Regression;
    /// <summary>1/6 ≈ 0.1667, the MSE of always predicting 1.0 (the variance of the sum of two U[0, 1) values).</summary>
    public override double BaselineLoss => 1.0 / 6.0;
    /// <inheritdoc/>
    public override string BaselineDescription => "always predict 1.0";

    /// <inheritdoc/>
    protected override void Fill(TaskBatch batch, int row, Rng rng)
    {
        int T = Length, B = batch.BatchSize, half = T / 2;
        var x = batch.Inputs.Span;
        int first = rng.NextInt(half);
        int second = half + rng.NextInt(T - half);
        float sum = 0;
        for (int t = 0; t < T; t++)
        {
            int at = (t * B + row) * 2;
            float value = rng.NextFloat();
            x[at] = value;
            bool marked = t == first || t == second;
            x[at + 1] = marked ? 1f : 0f;
            if (marked) sum += value;
        }
        batch.Targets[row] = sum;
    }
}
