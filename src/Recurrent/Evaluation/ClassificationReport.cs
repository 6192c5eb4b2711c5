namespace Recurrent.Evaluation;

/// <summary>Precision, recall and F1 of one class, with its support (how many true examples it has).</summary>
/// <param name="Label">The class name.</param>
/// <param name="Precision">Of the predictions of this class, the fraction that were right, 0..1 (0 when it was never predicted).</param>
/// <param name="Recall">Of the examples of this class, the fraction predicted as it, 0..1 (0 when it has none).</param>
/// <param name="F1">The harmonic mean of precision and recall, 0..1 (0 when both are 0).</param>
/// <param name="Support">The number of examples whose true class this is.</param>
public sealed record ClassScore(string Label, double Precision, double Recall, double F1, long Support);

/// <summary>
/// Scores of a classifier or tagger from a confusion matrix: accuracy, macro-F1 (the unweighted
/// mean of the per-class F1 over classes that occur in the truth or the predictions, as
/// scikit-learn's f1_score(average="macro") with zero_division=0), and the per-class table.
/// <see cref="Confusion"/>[truth, predicted] counts.
/// </summary>
public sealed class ClassificationReport
{
    /// <summary>The class names, indexed by class id.</summary>
    public IReadOnlyList<string> Labels { get; }
    /// <summary>The counts [K, K]: <c>Confusion[truth, predicted]</c> is how many examples of class <c>truth</c> were predicted as <c>predicted</c>.</summary>
    public long[,] Confusion { get; }
    /// <summary>The number of predictions counted.</summary>
    public long Total { get; private set; }
    /// <summary>The number of predictions counted that matched the truth (the diagonal of <see cref="Confusion"/>).</summary>
    public long Correct { get; private set; }

    /// <summary>An empty report (all counts zero) over the classes <paramref name="labels"/>.</summary>
    /// <param name="labels">The class names, indexed by class id; at least one.</param>
    /// <exception cref="ArgumentNullException"><paramref name="labels"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="labels"/> is empty.</exception>
    public ClassificationReport(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count < 1) throw new ArgumentException("A classification report needs at least one class.", nameof(labels));
        Labels = labels;
        Confusion = new long[labels.Count, labels.Count];
    }

    /// <summary>Counts one prediction.</summary>
    public void Add(int truth, int predicted)
    {
        if ((uint)truth >= (uint)Labels.Count || (uint)predicted >= (uint)Labels.Count)
            throw new ArgumentOutOfRangeException(nameof(truth), $"Classes must be in 0..{Labels.Count - 1}; got truth {truth}, prediction {predicted}.");
        Confusion[truth, predicted]++;
        Total++;
        if (truth == predicted) Correct++;
    }

    /// <summary><see cref="Correct"/> / <see cref="Total"/>, 0..1; NaN before any prediction was counted.</summary>
    public double Accuracy => Total == 0 ? double.NaN : (double)Correct / Total;

    /// <summary>Precision, recall, F1 and support of every class, in class-id order (computed from <see cref="Confusion"/> on each read).</summary>
    public IReadOnlyList<ClassScore> PerClass
    {
        get
        {
            int K = Labels.Count;
            var scores = new ClassScore[K];
            for (int k = 0; k < K; k++)
            {
                long tp = Confusion[k, k], support = 0, predicted = 0;
                for (int j = 0; j < K; j++) { support += Confusion[k, j]; predicted += Confusion[j, k]; }
                double precision = predicted == 0 ? 0 : (double)tp / predicted;
                double recall = support == 0 ? 0 : (double)tp / support;
                double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
                scores[k] = new ClassScore(Labels[k], precision, recall, f1, support);
            }
            return scores;
        }
    }

    /// <summary>Mean F1 over the classes present in the truth or the predictions.</summary>
    public double MacroF1
    {
        get
        {
            var present = PerClass.Where((s, k) => s.Support > 0 || Enumerable.Range(0, Labels.Count).Any(j => Confusion[j, k] > 0)).ToList();
            return present.Count == 0 ? double.NaN : present.Average(s => s.F1);
        }
    }
}
