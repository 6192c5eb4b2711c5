using Recurrent.Data;
using Recurrent.Evaluation;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Applications;

/// <summary>
/// Many-to-one classification of sequences of <typeparamref name="TInput"/> (what a text or a
/// numeric series becomes is the subclass's business): labels sorted ordinally, a pooled head,
/// cross-entropy; fit, evaluate (accuracy, macro-F1, per class, confusion) and predict.
/// </summary>
public abstract class Classifier<TInput> : SequenceApplication
{
    /// <summary>Wraps <paramref name="model"/>, whose output k is the logit of <c>labels[k]</c>.</summary>
    /// <param name="model">A pooled model with one output per label.</param>
    /// <param name="labels">The class names, indexed by class id.</param>
    /// <exception cref="ArgumentException">The number of labels differs from the model's <c>OutputSize</c>.</exception>
    protected Classifier(SequenceModel model, IReadOnlyList<string> labels) : base(model)
    {
        if (labels.Count != model.Config.OutputSize) throw new ArgumentException($"There are {labels.Count} labels for {model.Config.OutputSize} outputs.", nameof(labels));
        Labels = labels;
    }

    /// <summary>The class names, indexed by class id (the model's output index); sorted ordinally when built from training data.</summary>
    public IReadOnlyList<string> Labels { get; }

    /// <summary>The model's input for one sequence (<paramref name="label"/> is a class id or <see cref="Losses.SoftmaxCrossEntropy.Ignore"/>).</summary>
    protected abstract SequenceExample Example(TInput input, int label);

    /// <summary>The labels of <paramref name="train"/>, sorted ordinally; at least two.</summary>
    protected static string[] LabelsOf(IEnumerable<string> train)
    {
        var labels = train.Distinct().Order(StringComparer.Ordinal).ToArray();
        if (labels.Length < 2) throw new ArgumentException($"A classifier needs at least 2 classes; the training data has {labels.Length}.", nameof(train));
        return labels;
    }

    /// <summary>A pooled, cross-entropy configuration of <paramref name="shape"/> (Pooling.Last when it says None).</summary>
    protected static SequenceModelConfig Shape(SequenceModelConfig shape, int classes) => shape with
    {
        OutputSize = classes,
        Loss = LossKind.CrossEntropy,
        Pooling = shape.Pooling == Pooling.None ? Pooling.Last : shape.Pooling,
    };

    /// <summary>Trains on <paramref name="train"/>, validating on <paramref name="valid"/> (see <see cref="SequenceApplication"/>).</summary>
    public TrainingSummary Fit(IReadOnlyList<Labeled<TInput>> train, IReadOnlyList<Labeled<TInput>>? valid, TrainingOptions options, string outDir,
        Action<TrainingReport>? report = null, CancellationToken cancel = default) =>
        Fit(Examples(train), valid is null ? null : Examples(valid), options, outDir, report, cancel);

    /// <summary>Continues the run saved in <paramref name="latest"/> (a checkpoint of this classifier) on the same data.</summary>
    public TrainingSummary Resume(Checkpoint latest, string latestPath, IReadOnlyList<Labeled<TInput>> train, IReadOnlyList<Labeled<TInput>>? valid,
        TrainingOptions options, string outDir, Action<TrainingReport>? report = null, CancellationToken cancel = default) =>
        Fit(Examples(train), valid is null ? null : Examples(valid), options, outDir, report, cancel, latest, latestPath);

    /// <summary>Accuracy, macro-F1, the per-class table and the confusion matrix on <paramref name="data"/>.</summary>
    public ClassificationReport Evaluate(IReadOnlyList<Labeled<TInput>> data, int batchSize = 256)
    {
        var report = new ClassificationReport(Labels);
        var examples = Examples(data);
        Predict(examples, batchSize, (i, logits) => report.Add(examples[i].Label, System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits)));
        return report;
    }

    /// <summary>Every label with its probability, most likely first.</summary>
    public IReadOnlyList<(string Label, double Probability)> Predict(TInput input) => PredictAll([input])[0];

    /// <summary><see cref="Predict(TInput)"/> for many inputs at once (batched).</summary>
    public IReadOnlyList<IReadOnlyList<(string Label, double Probability)>> PredictAll(IReadOnlyList<TInput> inputs, int batchSize = 256)
    {
        var results = new IReadOnlyList<(string, double)>[inputs.Count];
        var examples = inputs.Select(x => Example(x, Losses.SoftmaxCrossEntropy.Ignore)).ToList();
        Predict(examples, batchSize, (i, logits) =>
            results[i] = Probabilities(logits).Select((p, k) => (Labels[k], p)).OrderByDescending(x => x.p).ToList());
        return results;
    }

    /// <summary>The model's inputs for labeled data; a label not seen in training is an error naming it.</summary>
    public IReadOnlyList<SequenceExample> Examples(IEnumerable<Labeled<TInput>> data)
    {
        var ids = Labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        return data.Select(x => Example(x.Input, ids.TryGetValue(x.Label, out int id) ? id
            : throw new ArgumentException($"Label '{x.Label}' is not one of the {Labels.Count} training labels ({string.Join(", ", Labels.Take(10))}{(Labels.Count > 10 ? ", …" : "")})."))).ToList();
    }

    /// <summary>The checkpoint metadata every classifier saves: <see cref="SequenceApplication.TaskKey"/> = <paramref name="task"/> and "labels" = <see cref="Labels"/> as a JSON array.</summary>
    /// <param name="task">The task name stored under <see cref="SequenceApplication.TaskKey"/>.</param>
    /// <returns>A new dictionary a subclass can extend with its own entries.</returns>
    protected IReadOnlyDictionary<string, string> ClassifierMetadata(string task) => new Dictionary<string, string>
    {
        [TaskKey] = task,
        ["labels"] = Json(Labels),
    };

    /// <summary>The labels saved by <see cref="ClassifierMetadata(string)"/> in <paramref name="checkpoint"/>.</summary>
    /// <param name="checkpoint">A loaded checkpoint of a classifier.</param>
    /// <param name="path">The checkpoint's file path, used in error messages.</param>
    /// <returns>The labels in class-id order.</returns>
    /// <exception cref="CheckpointException">The metadata has no "labels" entry, or it is the JSON <c>null</c>.</exception>
    /// <exception cref="System.Text.Json.JsonException">The "labels" entry is not a JSON array of strings.</exception>
    protected static string[] LabelsFrom(Checkpoint checkpoint, string path) =>
        System.Text.Json.JsonSerializer.Deserialize<string[]>(Get(checkpoint.Metadata, "labels", path)) ?? throw new CheckpointException($"Checkpoint '{path}' has no labels.");
}
