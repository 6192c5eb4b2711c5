using Recurrent.Data;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Training;

namespace Recurrent.Applications;

/// <summary>
/// Numeric sequence → class: a sensor trace of any length, F values per step ([length, F]
/// row-major), normalised per feature with the mean and standard deviation of the training steps.
/// </summary>
public sealed class SeriesClassifier : Classifier<float[]>
{
    /// <summary>The task name saved under <see cref="SequenceApplication.TaskKey"/> in a series classifier's checkpoints: <c>"classify-series"</c>.</summary>
    public const string Task = "classify-series";

    private SeriesClassifier(SequenceModel model, IReadOnlyList<string> labels) : base(model, labels) { }

    /// <summary>F, the values per step of every sequence (the model's <c>FeatureSize</c>).</summary>
    public int FeatureSize => Model.Config.FeatureSize;

    /// <summary>A new classifier for the labels of <paramref name="train"/>, whose sequences have <paramref name="featureSize"/> values per step.</summary>
    public static SeriesClassifier Create(IReadOnlyList<Labeled<float[]>> train, int featureSize, SequenceModelConfig shape, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(shape);
        var labels = LabelsOf(train.Select(x => x.Label));
        var config = Shape(shape, labels.Length) with { VocabularySize = 0, EmbeddingSize = 0, FeatureSize = featureSize, Fields = null };
        var classifier = new SeriesClassifier(new SequenceModel(config, new Rng(seed)), labels);
        // Per-feature statistics of every training step (double sums), into the model's input_norm buffers.
        var sum = new double[featureSize];
        var squares = new double[featureSize];
        long steps = 0;
        foreach (var (x, _) in train)
        {
            classifier.Check(x);
            for (int i = 0; i < x.Length; i++) { sum[i % featureSize] += x[i]; squares[i % featureSize] += (double)x[i] * x[i]; }
            steps += x.Length / featureSize;
        }
        for (int f = 0; f < featureSize; f++)
        {
            double mean = sum[f] / steps, variance = Math.Max(0, squares[f] / steps - mean * mean);
            classifier.Model.InputMean!.Span[f] = (float)mean;
            classifier.Model.InputStd!.Span[f] = variance > 1e-12 ? (float)Math.Sqrt(variance) : 1f;
        }
        return classifier;
    }

    /// <summary>Opens a classifier saved by <c>Fit</c> (best.ckpt or latest.ckpt).</summary>
    public static SeriesClassifier Load(string path) => Load(path, out _);

    /// <summary>Opens a classifier and its checkpoint (e.g. to resume).</summary>
    public static SeriesClassifier Load(string path, out Checkpoint checkpoint)
    {
        (checkpoint, var model) = LoadCheckpoint(path, Task);
        return new SeriesClassifier(model, LabelsFrom(checkpoint, path)).WithNotesFrom<SeriesClassifier>(checkpoint);
    }

    /// <summary>"task" = <see cref="Task"/> and "labels" (a JSON array); the feature size and normalisation live in the model itself.</summary>
    public override IReadOnlyDictionary<string, string> Metadata => ClassifierMetadata(Task);

    /// <summary>Wraps <paramref name="series"/> as a feature example (the model standardises it with its input_norm buffers).</summary>
    /// <param name="series">The values, [length, <see cref="FeatureSize"/>] row-major.</param>
    /// <param name="label">The class id, or <see cref="Losses.SoftmaxCrossEntropy.Ignore"/> when there is none.</param>
    /// <returns>A feature example carrying <paramref name="label"/>; it shares the <paramref name="series"/> array.</returns>
    /// <exception cref="ArgumentException"><paramref name="series"/> is empty, its length is not a multiple of <see cref="FeatureSize"/>, or it holds a NaN or infinite value.</exception>
    protected override SequenceExample Example(float[] series, int label)
    {
        Check(series);
        return new SequenceExample { Features = series, Label = label };
    }

    private void Check(float[] series)
    {
        int F = FeatureSize;
        if (series.Length == 0 || series.Length % F != 0) throw new ArgumentException($"A sequence holds {series.Length} values: not a positive multiple of {F} features per step.");
        foreach (float v in series)
            if (!float.IsFinite(v)) throw new ArgumentException("A sequence holds a NaN or infinite value.");
    }
}
