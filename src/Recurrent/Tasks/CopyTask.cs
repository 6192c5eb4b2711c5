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
    /// <summary>Creates a copy task of total length <paramref name="length"/>.</summary>
    /// <param name="length">T, the number of time steps, 3..100,000.</param>
    /// <param name="symbols">How many symbols to copy, at least 1 (default 5); reduced to ⌊(T − 1)/2⌋ when T is too short for it (see <see cref="Symbols"/>).</param>
    /// <param name="alphabet">K, the number of distinct symbols, 2..1000 (default 8).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/>, <paramref name="symbols"/> or <paramref name="alphabet"/> is out of range.</exception>
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

    /// <summary>The input category of a blank step (no symbol): K, one past the last symbol.</summary>
    public int Blank => Alphabet;
    /// <summary>The input category of the delimiter that says "now repeat", shown at step T − S − 1: K + 1.</summary>
    public int Delimiter => Alphabet + 1;

    /// <summary>"copy".</summary>
    public override string Name => "copy";
    /// <summary>K + 2: one-hot over the K symbols, <see cref="Blank"/> and <see cref="Delimiter"/>.</summary>
    public override int InputSize => Alphabet + 2;
    /// <summary>K: the model names one of the symbols at each readout step.</summary>
    public override int OutputSize => Alphabet;
    /// <summary><see cref="TaskKind.Classification"/>, scored by cross-entropy.</summary>
    public override TaskKind Kind => TaskKind.Classification;
    /// <summary>S (<see cref="Symbols"/>): the model repeats the symbols during the last S steps.</summary>
    public override int ReadoutSteps => Symbols;
    /// <summary>ln K, the cross-entropy of guessing uniformly among the K symbols.</summary>
    public override double BaselineLoss => Math.Log(Alphabet);
    /// <inheritdoc/>
    public override string BaselineDescription => $"guess uniformly among {Alphabet} symbols";

    /// <inheritdoc/>
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
