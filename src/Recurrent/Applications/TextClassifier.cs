using Recurrent.Data;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Applications;

/// <summary>
/// Text → class: a name → its language, a review → its sentiment. The text is split into
/// characters (Unicode scalars) or whitespace-separated words, looked up in a <see cref="Lexicon"/>
/// built from the training texts (unseen tokens map to &lt;unk&gt;), embedded and read by the stack.
/// <code>
/// var classifier = TextClassifier.Create(train, new SequenceModelConfig { Layers = 2, Bidirectional = true, HiddenSize = 64, EmbeddingSize = 32 });
/// classifier.Fit(train, valid, new TrainingOptions { Epochs = 10 }, "run");
/// var report = classifier.Evaluate(test);               // accuracy, macro-F1, per class, confusion
/// var (label, p) = classifier.Predict("Schmidt")[0];
/// </code>
/// </summary>
public sealed class TextClassifier : Classifier<string>
{
    /// <summary>The task name saved under <see cref="SequenceApplication.TaskKey"/> in a text classifier's checkpoints: <c>"classify-text"</c>.</summary>
    public const string Task = "classify-text";

    /// <summary>The token ids the embedding reads, built from the training texts; id 0 (<see cref="Lexicon.Unknown"/>) for a token not in it.</summary>
    public Lexicon Tokens { get; }
    /// <summary>How a text is split into tokens: characters (Unicode scalars, <c>TokenLevel.Char</c>) or whitespace-separated words (<c>TokenLevel.Word</c>).</summary>
    public TokenLevel Level { get; }

    private TextClassifier(SequenceModel model, Lexicon tokens, IReadOnlyList<string> labels, TokenLevel level) : base(model, labels)
    {
        Tokens = tokens;
        Level = level;
    }

    /// <summary>
    /// A new classifier for the labels and tokens of <paramref name="train"/>. <paramref name="shape"/>
    /// gives the cell, sizes, directions, dropout and pooling (<see cref="Pooling.Last"/> if it says
    /// none; embedding 32 if it says 0); vocabulary and class counts are filled in.
    /// </summary>
    public static TextClassifier Create(IReadOnlyList<Labeled<string>> train, SequenceModelConfig shape, TokenLevel level = TokenLevel.Char, int minCount = 1, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(shape);
        var labels = LabelsOf(train.Select(x => x.Label));
        var tokens = Lexicon.Build(train.SelectMany(x => Split(x.Input, level)), minCount);
        var config = Shape(shape, labels.Length) with
        {
            VocabularySize = tokens.Count,
            EmbeddingSize = shape.EmbeddingSize > 0 ? shape.EmbeddingSize : 32,
            FeatureSize = 0,
        };
        return new TextClassifier(new SequenceModel(config, new Rng(seed)), tokens, labels, level);
    }

    /// <summary>Opens a classifier saved by <c>Fit</c> (best.ckpt or latest.ckpt).</summary>
    public static TextClassifier Load(string path) => Load(path, out _);

    /// <summary>Opens a classifier and its checkpoint (e.g. to resume).</summary>
    public static TextClassifier Load(string path, out Checkpoint checkpoint)
    {
        (checkpoint, var model) = LoadCheckpoint(path, Task);
        var tokens = Lexicon.FromJson(Get(checkpoint.Metadata, "tokens", path));
        var level = Get(checkpoint.Metadata, "level", path) == "word" ? TokenLevel.Word : TokenLevel.Char;
        if (tokens.Count != model.Config.VocabularySize) throw new CheckpointException($"Checkpoint '{path}': its tokens do not match the model's vocabulary size.");
        return new TextClassifier(model, tokens, LabelsFrom(checkpoint, path), level).WithNotesFrom<TextClassifier>(checkpoint);
    }

    /// <summary>"task" = <see cref="Task"/>, "labels" (JSON array), "level" (<c>"char"</c> or <c>"word"</c>) and "tokens" (the <see cref="Tokens"/> lexicon as JSON).</summary>
    public override IReadOnlyDictionary<string, string> Metadata => new Dictionary<string, string>(ClassifierMetadata(Task))
    {
        ["level"] = Level == TokenLevel.Word ? "word" : "char",
        ["tokens"] = Tokens.ToJson(),
    };

    /// <summary>Splits <paramref name="text"/> at the classifier's <see cref="Level"/> and maps each token to its id in <see cref="Tokens"/> (0 for an unseen one).</summary>
    /// <param name="text">The text to classify.</param>
    /// <param name="label">The class id, or <see cref="Losses.SoftmaxCrossEntropy.Ignore"/> when there is none.</param>
    /// <returns>A token-id example carrying <paramref name="label"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="text"/> holds no token (no character, or only whitespace at word level).</exception>
    protected override SequenceExample Example(string text, int label)
    {
        var ids = Split(text, Level).Select(Tokens.Id).ToArray();
        if (ids.Length == 0) throw new ArgumentException($"The text \"{text}\" has no {(Level == TokenLevel.Word ? "word" : "character")}.");
        return new SequenceExample { Ids = ids, Label = label };
    }

    private static IEnumerable<string> Split(string text, TokenLevel level) =>
        level == TokenLevel.Word ? text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) : text.EnumerateRunes().Select(r => r.ToString());
}
