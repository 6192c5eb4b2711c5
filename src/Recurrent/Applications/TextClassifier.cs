using System.Text;
using Recurrent.Data;
using Recurrent.Evaluation;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Applications;

/// <summary>
/// Text → class (many-to-one): a name → its language, a review → its sentiment. The text is
/// split into characters (Unicode scalars) or whitespace-separated words, looked up in a
/// <see cref="Lexicon"/> built from the training texts, and read by a <see cref="SequenceModel"/>
/// with a pooled head and cross-entropy over the training labels (sorted ordinally).
/// <code>
/// var classifier = TextClassifier.Create(train, new SequenceModelConfig { Cell = CellType.Lstm, Layers = 2, Bidirectional = true, HiddenSize = 64, EmbeddingSize = 32, Pooling = Pooling.Last });
/// classifier.Fit(train, valid, new TrainingOptions { Epochs = 10 }, "run");
/// var report = classifier.Evaluate(test);               // accuracy, macro-F1, per class, confusion
/// var (label, p) = classifier.Predict("Schmidt")[0];
/// </code>
/// </summary>
public sealed class TextClassifier : SequenceApplication
{
    public const string Task = "classify";

    public Lexicon Tokens { get; }
    public IReadOnlyList<string> Labels { get; }
    public TokenLevel Level { get; }

    private TextClassifier(SequenceModel model, Lexicon tokens, IReadOnlyList<string> labels, TokenLevel level) : base(model)
    {
        Tokens = tokens;
        Labels = labels;
        Level = level;
    }

    /// <summary>
    /// A new classifier for the labels and tokens of <paramref name="train"/>. <paramref name="shape"/>
    /// gives the cell, sizes, directions, dropout and pooling (<see cref="Pooling.Last"/> if it says
    /// none); the vocabulary and class counts are filled in.
    /// </summary>
    public static TextClassifier Create(IReadOnlyList<LabeledText> train, SequenceModelConfig shape, TokenLevel level = TokenLevel.Char, int minCount = 1, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(shape);
        if (train.Count == 0) throw new ArgumentException("There is no training example.", nameof(train));
        var labels = train.Select(x => x.Label).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (labels.Length < 2) throw new ArgumentException($"A classifier needs at least 2 classes; the training data has {labels.Length}.", nameof(train));
        var tokens = Lexicon.Build(train.SelectMany(x => Split(x.Text, level)), minCount);
        var config = shape with
        {
            VocabularySize = tokens.Count,
            EmbeddingSize = shape.EmbeddingSize > 0 ? shape.EmbeddingSize : 32,
            FeatureSize = 0,
            OutputSize = labels.Length,
            Loss = LossKind.CrossEntropy,
            Pooling = shape.Pooling == Pooling.None ? Pooling.Last : shape.Pooling,
        };
        return new TextClassifier(new SequenceModel(config, new Rng(seed)), tokens, labels, level);
    }

    /// <summary>Opens a classifier saved by <see cref="Fit"/> (best.ckpt or latest.ckpt).</summary>
    public static TextClassifier Load(string path)
    {
        var (checkpoint, model) = LoadCheckpoint(path, Task);
        return FromCheckpoint(checkpoint, model, path);
    }

    private static TextClassifier FromCheckpoint(Checkpoint checkpoint, SequenceModel model, string path)
    {
        var m = checkpoint.Metadata;
        var labels = System.Text.Json.JsonSerializer.Deserialize<string[]>(Get(m, "labels", path))!;
        var tokens = Lexicon.FromJson(Get(m, "tokens", path));
        var level = Get(m, "level", path) == "word" ? TokenLevel.Word : TokenLevel.Char;
        if (labels.Length != model.Config.OutputSize || tokens.Count != model.Config.VocabularySize)
            throw new CheckpointException($"Checkpoint '{path}': its labels or tokens do not match the model's sizes.");
        return new TextClassifier(model, tokens, labels, level);
    }

    public override IReadOnlyDictionary<string, string> Metadata => new Dictionary<string, string>
    {
        [TaskKey] = Task,
        ["level"] = Level == TokenLevel.Word ? "word" : "char",
        ["tokens"] = Tokens.ToJson(),
        ["labels"] = Json(Labels),
    };

    /// <summary>Trains (see <see cref="SequenceApplication"/>); a validation text whose label is not one of the training labels is an error.</summary>
    public TrainingSummary Fit(IReadOnlyList<LabeledText> train, IReadOnlyList<LabeledText>? valid, TrainingOptions options, string outDir,
        Action<TrainingReport>? report = null, CancellationToken cancel = default) =>
        Fit(Examples(train), valid is null ? null : Examples(valid), options, outDir, report, cancel);

    /// <summary>Continues the run saved in <paramref name="latest"/> on the same data.</summary>
    public static (TextClassifier Classifier, TrainingSummary Summary) Resume(string latest, IReadOnlyList<LabeledText> train, IReadOnlyList<LabeledText>? valid,
        TrainingOptions options, string outDir, Action<TrainingReport>? report = null, CancellationToken cancel = default)
    {
        var (checkpoint, model) = LoadCheckpoint(latest, Task);
        var classifier = FromCheckpoint(checkpoint, model, latest);
        var summary = classifier.Fit(classifier.Examples(train), valid is null ? null : classifier.Examples(valid), options, outDir, report, cancel, checkpoint, latest);
        return (classifier, summary);
    }

    /// <summary>Accuracy, macro-F1, the per-class table and the confusion matrix on <paramref name="data"/>.</summary>
    public ClassificationReport Evaluate(IReadOnlyList<LabeledText> data, int batchSize = 256)
    {
        var report = new ClassificationReport(Labels);
        var examples = Examples(data);
        Predict(examples, batchSize, (i, logits) => report.Add(examples[i].Label, System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits)));
        return report;
    }

    /// <summary>Every label with its probability, most likely first.</summary>
    public IReadOnlyList<(string Label, double Probability)> Predict(string text) => PredictAll([text])[0];

    /// <summary><see cref="Predict(string)"/> for many texts at once (batched).</summary>
    public IReadOnlyList<IReadOnlyList<(string Label, double Probability)>> PredictAll(IReadOnlyList<string> texts, int batchSize = 256)
    {
        var results = new IReadOnlyList<(string, double)>[texts.Count];
        var examples = texts.Select(t => Example(t, SoftmaxIgnore)).ToList();
        Predict(examples, batchSize, (i, logits) =>
            results[i] = Probabilities(logits).Select((p, k) => (Labels[k], p)).OrderByDescending(x => x.p).ToList());
        return results;
    }

    /// <summary>The model's inputs for labeled texts.</summary>
    public IReadOnlyList<SequenceExample> Examples(IEnumerable<LabeledText> data)
    {
        var labelIds = Labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal);
        return data.Select(x => Example(x.Text, labelIds.TryGetValue(x.Label, out int id) ? id
            : throw new ArgumentException($"Label '{x.Label}' is not one of the {Labels.Count} training labels."))).ToList();
    }

    private const int SoftmaxIgnore = Losses.SoftmaxCrossEntropy.Ignore;

    private SequenceExample Example(string text, int label)
    {
        var ids = Split(text, Level).Select(Tokens.Id).ToArray();
        if (ids.Length == 0) throw new ArgumentException($"The text \"{text}\" has no {(Level == TokenLevel.Word ? "word" : "character")}.");
        return new SequenceExample { Ids = ids, Label = label };
    }

    private static IEnumerable<string> Split(string text, TokenLevel level) =>
        level == TokenLevel.Word ? text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) : text.EnumerateRunes().Select(r => r.ToString());
}
