using System.Globalization;
using System.Text.Json;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Applications;

/// <summary>
/// What the task front-ends (<see cref="TextClassifier"/>, <c>SequenceTagger</c>,
/// <c>Forecaster</c>) share: a <see cref="SequenceModel"/>, the metadata that turns raw
/// data into its inputs and its outputs back (saved in every checkpoint), training with the one
/// <see cref="Trainer"/>, and batched inference over examples.
/// </summary>
public abstract class SequenceApplication
{
    /// <summary>Wraps <paramref name="model"/>, which this application trains and runs.</summary>
    /// <param name="model">The network; its configuration fixes the feature and output sizes and the pooling.</param>
    protected SequenceApplication(SequenceModel model) => Model = model;

    /// <summary>The network this application trains and runs; after <c>Fit</c> it holds the best weights.</summary>
    public SequenceModel Model { get; }

    /// <summary>What a checkpoint needs besides the weights to rebuild this application ("task" names it).</summary>
    public abstract IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Notes saved into checkpoints beside <see cref="Metadata"/> (e.g. how the data was split), read back by <see cref="Checkpoint.Metadata"/>.</summary>
    public IDictionary<string, string> Notes { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    private Dictionary<string, string> SavedMetadata()
    {
        var all = new Dictionary<string, string>(Notes, StringComparer.Ordinal);
        foreach (var (k, v) in Metadata) all[k] = v;
        return all;
    }

    /// <summary>The checkpoint metadata key that names the task.</summary>
    public const string TaskKey = "task";

    /// <summary>
    /// Trains on <paramref name="train"/> (shuffled, length-bucketed batches), validating on
    /// <paramref name="valid"/> each epoch; writes best.ckpt, latest.ckpt and metrics.jsonl into
    /// <paramref name="outDir"/>. Afterwards the model holds the best weights (those of best.ckpt).
    /// <paramref name="tokenDropout"/> is the training data's word dropout (<see cref="SequenceDataset.TokenDropout"/>).
    /// </summary>
    protected TrainingSummary Fit(IReadOnlyList<SequenceExample> train, IReadOnlyList<SequenceExample>? valid, TrainingOptions options, string outDir,
        Action<TrainingReport>? report, CancellationToken cancel, Checkpoint? resumeFrom = null, string? resumePath = null, float tokenDropout = 0f)
    {
        var (trainData, validData) = Datasets(train, valid, options, tokenDropout);
        var trainer = resumeFrom is null
            ? new Trainer(Model, trainData, validData, options, outDir, SavedMetadata())
            : Trainer.Resume(resumeFrom, resumePath!, trainData, validData, outDir, options);
        var summary = trainer.Run(report, cancel);
        if (File.Exists(summary.BestCheckpoint)) Checkpoint.Load(summary.BestCheckpoint).LoadWeightsInto(Model, summary.BestCheckpoint);
        return summary;
    }

    private (SequenceDataset Train, SequenceDataset? Valid) Datasets(IReadOnlyList<SequenceExample> train, IReadOnlyList<SequenceExample>? valid, TrainingOptions options, float tokenDropout)
    {
        var c = Model.Config;
        bool perStep = c.Pooling == Pooling.None;
        var trainData = new SequenceDataset(train, options.Batch, shuffle: true, options.Seed, c.FeatureSize, c.OutputSize, perStep) { TokenDropout = tokenDropout };
        var validData = valid is null || valid.Count == 0 ? null : new SequenceDataset(valid, options.EvalBatch, shuffle: false, 0, c.FeatureSize, c.OutputSize, perStep);
        return (trainData, validData);
    }

    /// <summary>
    /// Runs the model (no dropout) over <paramref name="examples"/> in batches of similar length and calls
    /// <paramref name="visit"/> with each example's index and its prediction rows: one row [K] for a
    /// pooled head, one per step ([length, K], row-major) for a per-step head.
    /// </summary>
    protected void Predict(IReadOnlyList<SequenceExample> examples, int batchSize, Action<int, float[]> visit)
    {
        if (examples.Count == 0) return;
        var c = Model.Config;
        bool perStep = c.Pooling == Pooling.None;
        var data = new SequenceDataset(examples, batchSize, shuffle: false, 0, c.FeatureSize, c.OutputSize, perStep);
        int K = c.OutputSize;
        for (int i = 0; i < data.BatchCount; i++)
        {
            var rows = data.IndicesOf(0, i);
            var batch = data.GetBatch(0, i);
            var predictions = Model.Forward(batch, keepForBackward: false).Span;
            for (int b = 0; b < rows.Length; b++)
            {
                if (!perStep) { visit(rows[b], predictions.Slice(b * K, K).ToArray()); continue; }
                int n = batch.Length(b);
                var result = new float[n * K];
                for (int t = 0; t < n; t++) predictions.Slice((t * batch.Size + b) * K, K).CopyTo(result.AsSpan(t * K, K));
                visit(rows[b], result);
            }
        }
    }

    /// <summary>Softmax of one row of logits, in double.</summary>
    protected static double[] Probabilities(ReadOnlySpan<float> logits)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.Max(logits);
        var p = new double[logits.Length];
        double z = 0;
        for (int k = 0; k < p.Length; k++) z += p[k] = Math.Exp(logits[k] - max);
        for (int k = 0; k < p.Length; k++) p[k] /= z;
        return p;
    }

    /// <summary>Serialises <paramref name="value"/> to JSON with the default <c>System.Text.Json</c> options, for a metadata value.</summary>
    /// <typeparam name="T">The type serialised.</typeparam>
    /// <param name="value">The value to serialise.</param>
    /// <returns>The JSON text.</returns>
    protected static string Json<T>(T value) => JsonSerializer.Serialize(value);

    /// <summary>The value of <paramref name="key"/> in a checkpoint's <paramref name="metadata"/>.</summary>
    /// <param name="metadata">The checkpoint's metadata.</param>
    /// <param name="key">The entry the task needs.</param>
    /// <param name="path">The checkpoint's file path, used in the error message.</param>
    /// <returns>The entry's value.</returns>
    /// <exception cref="CheckpointException">The metadata has no entry <paramref name="key"/>.</exception>
    protected static string Get(IReadOnlyDictionary<string, string> metadata, string key, string path) =>
        metadata.TryGetValue(key, out var v) ? v : throw new CheckpointException($"Checkpoint '{path}' lacks the '{key}' entry its task needs.");

    /// <summary>Loads a checkpoint written for <paramref name="task"/>, checking that it is one.</summary>
    protected static (Checkpoint Checkpoint, SequenceModel Model) LoadCheckpoint(string path, string task)
    {
        var checkpoint = Checkpoint.Load(path);
        string found = checkpoint.Metadata.TryGetValue(TaskKey, out var t) ? t : "language model";
        if (found != task) throw new CheckpointException($"Checkpoint '{path}' holds a {found} model, not a {task} model.");
        return (checkpoint, checkpoint.CreateModel(path));
    }

    /// <summary>Takes back the notes a checkpoint holds (every metadata entry this application does not define itself); returns this.</summary>
    protected T WithNotesFrom<T>(Checkpoint checkpoint) where T : SequenceApplication
    {
        var own = Metadata;
        foreach (var (k, v) in checkpoint.Metadata)
            if (!own.ContainsKey(k)) Notes[k] = v;
        return (T)this;
    }

    /// <summary>Formats <paramref name="value"/> round-trippably (<c>"R"</c>) in the invariant culture, for metadata values.</summary>
    /// <param name="value">The number to format.</param>
    /// <returns>The text, e.g. <c>"0.1"</c>.</returns>
    protected static string Invariant(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
