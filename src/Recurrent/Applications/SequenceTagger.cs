using System.Numerics.Tensors;
using System.Text.Json;
using Recurrent.Data;
using Recurrent.Evaluation;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Training;

namespace Recurrent.Applications;

/// <summary>
/// Words → one tag per word (many-to-many): part-of-speech tagging, named entities in BIO tags.
/// Each word is read as its lexicon key (lowercased, digits folded: <see cref="WordFeatures.Key"/>)
/// plus the fields of <see cref="TaggerFeatures"/> (suffixes, prefixes, shape), each through a
/// <see cref="Lexicon"/> built from the training sentences and its own embedding
/// (<see cref="TokenField"/>); a <see cref="SequenceModel"/> with a per-step head
/// (<see cref="Pooling.None"/>, usually a bidirectional stack) gives one softmax over the tags
/// (sorted ordinally) at every word.
/// <code>
/// var train = ConlluReader.Read("en_ewt-ud-train.conllu.gz");
/// var tagger = SequenceTagger.Create(train, new SequenceModelConfig { Layers = 2, Bidirectional = true, HiddenSize = 128, EmbeddingSize = 64, Dropout = 0.33f });
/// tagger.Fit(train, ConlluReader.Read("en_ewt-ud-dev.conllu"), new TrainingOptions { Epochs = 20, Monitor = MonitorMetric.Accuracy, StopPatience = 3 }, "run");
/// var report = tagger.Evaluate(ConlluReader.Read("en_ewt-ud-test.conllu"));   // token accuracy, per tag
/// string[] tags = tagger.Predict(["The", "dog", "barked", "."]);
/// </code>
/// </summary>
public sealed class SequenceTagger : SequenceApplication
{
    /// <summary>The task name saved under <see cref="SequenceApplication.TaskKey"/> in a tagger's checkpoints: <c>"tag"</c>.</summary>
    public const string Task = "tag";

    /// <summary>The word keys (see <see cref="WordFeatures.Key"/>).</summary>
    public Lexicon Words { get; }
    /// <summary>One lexicon per field of <see cref="Features"/>, in its <see cref="TaggerFeatures.FieldNames"/> order.</summary>
    public IReadOnlyList<Lexicon> Fields { get; }
    /// <summary>The tag names, indexed by tag id (the model's output index), sorted ordinally.</summary>
    public IReadOnlyList<string> Tags { get; }
    /// <summary>How each word is turned into the model's token fields (affixes, shape), the embedding sizes, the minimum word count and the word dropout.</summary>
    public TaggerFeatures Features { get; }

    private SequenceTagger(SequenceModel model, Lexicon words, IReadOnlyList<Lexicon> fields, IReadOnlyList<string> tags, TaggerFeatures features) : base(model)
    {
        Words = words;
        Fields = fields;
        Tags = tags;
        Features = features;
    }

    /// <summary>
    /// A new tagger for the words and tags of <paramref name="train"/>. <paramref name="shape"/> gives the
    /// cell, sizes, layers, directions and dropout (the word embedding size E, 64 if it says none);
    /// the vocabulary, token fields, tag count and the per-step head are filled in.
    /// </summary>
    public static SequenceTagger Create(IReadOnlyList<TaggedSentence> train, SequenceModelConfig shape, TaggerFeatures? features = null, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(shape);
        features ??= new TaggerFeatures();
        features.Validate();
        if (train.Count == 0) throw new ArgumentException("There is no training sentence.", nameof(train));
        var tags = train.SelectMany(s => s.Tags).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (tags.Length < 2) throw new ArgumentException($"A tagger needs at least 2 tags; the training data has {tags.Length}.", nameof(train));
        var words = train.SelectMany(s => s.Words).ToList();
        var lexicon = Lexicon.Build(words.Select(WordFeatures.Key), features.MinCount);
        var extracted = words.Distinct(StringComparer.Ordinal).Select(features.Extract).ToList();
        // Field strings are counted once per distinct word form: an affix is known when some training word has it.
        var fields = Enumerable.Range(0, features.FieldNames.Count).Select(f => Lexicon.Build(extracted.Select(x => x[f]))).ToArray();
        var config = shape with
        {
            VocabularySize = lexicon.Count,
            EmbeddingSize = shape.EmbeddingSize > 0 ? shape.EmbeddingSize : 64,
            Fields = fields.Select((l, f) => new TokenField(features.FieldNames[f], l.Count, features.EmbeddingSize(f))).ToArray(),
            FeatureSize = 0,
            OutputSize = tags.Length,
            Loss = LossKind.CrossEntropy,
            Pooling = Pooling.None,
            TieWeights = false,
        };
        return new SequenceTagger(new SequenceModel(config, new Rng(seed)), lexicon, fields, tags, features);
    }

    /// <summary>Opens a tagger saved by <c>Fit</c> (best.ckpt or latest.ckpt).</summary>
    public static SequenceTagger Load(string path) => Load(path, out _);

    /// <summary>Opens a tagger and its checkpoint (e.g. to resume).</summary>
    public static SequenceTagger Load(string path, out Checkpoint checkpoint)
    {
        (checkpoint, var model) = LoadCheckpoint(path, Task);
        var m = checkpoint.Metadata;
        string[] tags;
        Lexicon words;
        Lexicon[] fields;
        TaggerFeatures features;
        try
        {
            tags = JsonSerializer.Deserialize<string[]>(Get(m, "tags", path)) ?? throw new JsonException("no tags");
            words = Lexicon.FromJson(Get(m, "words", path));
            fields = (JsonSerializer.Deserialize<string[][]>(Get(m, "fields", path)) ?? throw new JsonException("no fields")).Select(t => new Lexicon(t)).ToArray();
            features = JsonSerializer.Deserialize<TaggerFeatures>(Get(m, "features", path)) ?? throw new JsonException("no features");
            features.Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new CheckpointException($"Checkpoint '{path}' has unreadable tagger metadata: {e.Message}", e);
        }
        var c = model.Config;
        if (tags.Length != c.OutputSize || words.Count != c.VocabularySize || fields.Length != (c.Fields?.Count ?? 0)
            || fields.Length != features.FieldNames.Count || fields.Where((l, f) => l.Count != c.Fields![f].VocabularySize).Any())
            throw new CheckpointException($"Checkpoint '{path}': its tags, words or fields do not match the model's sizes.");
        return new SequenceTagger(model, words, fields, tags, features).WithNotesFrom<SequenceTagger>(checkpoint);
    }

    /// <summary>"task" = <see cref="Task"/>, the <see cref="Words"/> tokens ("words"), the tokens of each of the <see cref="Fields"/> ("fields", an array of arrays), the <see cref="Tags"/> ("tags") and the <see cref="Features"/> ("features"), each as JSON.</summary>
    public override IReadOnlyDictionary<string, string> Metadata => new Dictionary<string, string>
    {
        [TaskKey] = Task,
        ["words"] = Words.ToJson(),
        ["fields"] = Json(Fields.Select(l => l.Tokens).ToArray()),
        ["tags"] = Json(Tags),
        ["features"] = Json(Features),
    };

    /// <summary>Trains (see <see cref="SequenceApplication"/>) with the word dropout of <see cref="Features"/>; a validation tag that is not one of the training tags is an error.</summary>
    public TrainingSummary Fit(IReadOnlyList<TaggedSentence> train, IReadOnlyList<TaggedSentence>? valid, TrainingOptions options, string outDir,
        Action<TrainingReport>? report = null, CancellationToken cancel = default) =>
        Fit(Examples(train), valid is null ? null : Examples(valid), options, outDir, report, cancel, tokenDropout: Features.WordDropout);

    /// <summary>Continues the run saved in <paramref name="latest"/> (a checkpoint of this tagger, see <see cref="Load(string, out Checkpoint)"/>) on the same data.</summary>
    public TrainingSummary Resume(Checkpoint latest, string latestPath, IReadOnlyList<TaggedSentence> train, IReadOnlyList<TaggedSentence>? valid,
        TrainingOptions options, string outDir, Action<TrainingReport>? report = null, CancellationToken cancel = default) =>
        Fit(Examples(train), valid is null ? null : Examples(valid), options, outDir, report, cancel, latest, latestPath, Features.WordDropout);

    /// <summary>
    /// Per-token accuracy, and per tag: precision, recall (the tag's accuracy), F1 and support, with the
    /// confusion matrix. When <paramref name="unknownWords"/> is given, the words outside the training
    /// lexicon (mapped to &lt;unk&gt;) are counted there as well.
    /// </summary>
    public ClassificationReport Evaluate(IReadOnlyList<TaggedSentence> data, int batchSize = 64, ClassificationReport? unknownWords = null)
    {
        var report = new ClassificationReport(Tags);
        var examples = Examples(data);
        int K = Tags.Count;
        Predict(examples, batchSize, (i, logits) =>
        {
            var (truth, ids) = (examples[i].Tags!, examples[i].Ids!);
            for (int t = 0; t < truth.Length; t++)
            {
                int predicted = TensorPrimitives.IndexOfMax(logits.AsSpan(t * K, K));
                report.Add(truth[t], predicted);
                if (ids[t] == 0) unknownWords?.Add(truth[t], predicted);
            }
        });
        return report;
    }

    /// <summary>The most likely tag of each word.</summary>
    public string[] Predict(IReadOnlyList<string> words) => PredictAll([words])[0].Select(x => x.Tag).ToArray();

    /// <summary>For each sentence, each word's most likely tag with its probability (batched).</summary>
    public IReadOnlyList<(string Tag, double Probability)[]> PredictAll(IReadOnlyList<IReadOnlyList<string>> sentences, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        var results = new (string, double)[sentences.Count][];
        var examples = sentences.Select(s => Example(s, null)).ToList();
        int K = Tags.Count;
        Predict(examples, batchSize, (i, logits) =>
        {
            var tagged = new (string, double)[logits.Length / K];
            for (int t = 0; t < tagged.Length; t++)
            {
                var row = logits.AsSpan(t * K, K);
                int best = TensorPrimitives.IndexOfMax(row);
                tagged[t] = (Tags[best], Probabilities(row)[best]);
            }
            results[i] = tagged;
        });
        return results;
    }

    /// <summary>The model's inputs for tagged sentences.</summary>
    public IReadOnlyList<SequenceExample> Examples(IEnumerable<TaggedSentence> data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var tagIds = Tags.Select((tag, i) => (tag, i)).ToDictionary(x => x.tag, x => x.i, StringComparer.Ordinal);
        return data.Select(s => Example(s.Words, s.Tags.Select(tag => tagIds.TryGetValue(tag, out int id) ? id
            : throw new ArgumentException($"Tag '{tag}' is not one of the {Tags.Count} training tags.")).ToArray())).ToList();
    }

    private SequenceExample Example(IReadOnlyList<string> words, int[]? tags)
    {
        if (words.Count == 0) throw new ArgumentException("A sentence to tag has no words.");
        var ids = new int[words.Count];
        var fields = new int[Fields.Count][];
        for (int f = 0; f < fields.Length; f++) fields[f] = new int[words.Count];
        for (int t = 0; t < words.Count; t++)
        {
            if (string.IsNullOrEmpty(words[t])) throw new ArgumentException($"Word {t + 1} of a sentence is empty.");
            ids[t] = Words.Id(WordFeatures.Key(words[t]));
            var strings = Features.Extract(words[t]);
            for (int f = 0; f < fields.Length; f++) fields[f][t] = Fields[f].Id(strings[f]);
        }
        return new SequenceExample { Ids = ids, Fields = fields, Tags = tags };
    }
}
