using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>
/// The copy (memory) task (Hochreiter &amp; Schmidhuber 1997; Arjovsky et al. 2016), fitted to a
/// total length T: the first S steps show S symbols drawn from an alphabet of K; then blanks;
/// at step T − S − 1 a delimiter says "now repeat"; during the last S steps (blank input) the
/// model must output the S symbols in order. Inputs are one-hot over K + 2 categories
/// (K symbols, blank = K, delimiter = K + 1); the loss is the cross-entropy over the last S steps.
/// Guessing uniformly among the K symbols gives ln K. S = min(symbols, ⌊(T − 1)/2⌋), so T ≥ 3.
/// </summary>
public sealed class CopyTask : SequenceTask
{
    public CopyTask(int length, int symbols = 5, int alphabet = 8) : base(length, minimumLength: 3)
    {
        if (symbols < 1) throw new ArgumentOutOfRangeException(nameof(symbols), symbols, "The number of symbols to copy must be at least 1.");
        if (alphabet < 2 || alphabet > 1000) throw new ArgumentOutOfRangeException(nameof(alphabet), alphabet, "The alphabet must have between 2 and 1000 symbols.");
        Symbols = Math.Min(symbols, (length - 1) / 2);
        Alphabet = alphabet;
    }

    /// <summary>S, the number of symbols to remember and repeat.</summary>
    public int Symbols { get; }

    /// <summary>K, the number of distinct symbols.</summary>
    public int Alphabet { get; }

    public int Blank => Alphabet;
    public int Delimiter => Alphabet + 1;

    public override string Name => "copy";
    public override int InputSize => Alphabet + 2;
    public override int OutputSize => Alphabet;
    public override TaskKind Kind => TaskKind.Classification;
    public override int ReadoutSteps => Symbols;
    public override double BaselineLoss => Math.Log(Alphabet);
    public override string BaselineDescription => $"guess uniformly among {Alphabet} symbols";

    protected override void Fill(TaskBatch batch, int row, Rng rng)
    {
        int T = Length, B = batch.BatchSize, S = Symbols, V = InputSize;
        var x = batch.Inputs.Span;
        for (int t = 0; t < T; t++)
        {
            int category = t < S ? rng.NextInt(Alphabet) : t == T - S - 1 ? Delimiter : Blank;
            var step = x.Slice((t * B + row) * V, V);
            step.Clear();
            step[category] = 1f;
            if (t < S) batch.Labels[t * B + row] = category;   // readout step r repeats symbol r
        }
    }
}
