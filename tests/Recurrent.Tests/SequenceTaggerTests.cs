using Recurrent.Applications;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Training;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// The tagger end to end on a slice of UD English EWT dev (../shared/data): its word features,
/// that a few epochs beat the most-frequent-tag baseline on held-out sentences, bit-exact resume,
/// save and load, and word dropout served reproducibly by the data set.
/// </summary>
public sealed class SequenceTaggerTests(ITestOutputHelper output)
{
    private static readonly Lazy<IReadOnlyList<TaggedSentence>> Dev = new(() =>
    {
        string path = Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "ud-english-ewt", "en_ewt-ud-dev.conllu"));
        Assert.True(File.Exists(path), $"The shared data '{path}' is missing (see ../shared/data/README.md).");
        return ConlluReader.Read(path);
    });

    private static readonly SequenceModelConfig SmallShape = new() { Cell = CellType.Lstm, Layers = 1, Bidirectional = true, HiddenSize = 32, EmbeddingSize = 32, Dropout = 0.2f };

    [Theory]
    [InlineData("Hello", "hello")]
    [InlineData("1,999.50", "0,000.00")]
    [InlineData("ÉCOLE", "école")]
    [InlineData("COVID-19", "covid-00")]
    public void KeyIsLowercasedWithDigitsFolded(string word, string key) => Assert.Equal(key, WordFeatures.Key(word));

    [Theory]
    [InlineData("Hello", "Xx")]
    [InlineData("USA", "X")]
    [InlineData("I", "X")]
    [InlineData("dog", "x")]
    [InlineData("1,000", "d,d")]
    [InlineData("3.5", "d.d")]
    [InlineData("e-mail", "x-x")]
    [InlineData("McDonald's", "XxXx'x")]
    [InlineData("...", ".")]
    [InlineData(":)", ":)")]
    [InlineData("a1b2c3d4e5", "xdxdxdxd~")]
    [InlineData("naïve", "x")]
    public void ShapeCollapsesCharacterClasses(string word, string shape) => Assert.Equal(shape, WordFeatures.Shape(word));

    [Fact]
    public void AffixesAreCutFromTheKeyAndMarkedWhenTheWordIsShorter()
    {
        Assert.Equal("g", WordFeatures.Suffix("running", 1));
        Assert.Equal("ing", WordFeatures.Suffix("running", 3));
        Assert.Equal("^at", WordFeatures.Suffix("at", 3));
        Assert.Equal("ru", WordFeatures.Prefix("running", 2));
        Assert.Equal("a$", WordFeatures.Prefix("a", 2));
        Assert.Equal("😀s", WordFeatures.Suffix("x😀s", 2));   // a surrogate pair counts as one character

        var features = new TaggerFeatures { Suffixes = 3, Prefixes = 2, Shape = true };
        Assert.Equal(["suffix1", "suffix2", "suffix3", "prefix1", "prefix2", "shape"], features.FieldNames);
        Assert.Equal(["s", "es", "ies", "c", "co", "Xx"], features.Extract("Cookies"));
        Assert.Equal(["0", "00", "000", "0", "00", "d"], features.Extract("2024"));
        Assert.Equal(["suffix1"], (features with { Suffixes = 1, Prefixes = 0, Shape = false }).FieldNames);
    }

    [Fact]
    public void BadFeatureSettingsAreRefusedByName()
    {
        var train = Dev.Value.Take(5).ToList();
        Assert.Contains("Word dropout", Assert.Throws<ArgumentOutOfRangeException>(() => SequenceTagger.Create(train, SmallShape, new TaggerFeatures { WordDropout = 1f })).Message);
        Assert.Contains("minimum word count", Assert.Throws<ArgumentOutOfRangeException>(() => SequenceTagger.Create(train, SmallShape, new TaggerFeatures { MinCount = 0 })).Message);
        Assert.Contains("Suffix", Assert.Throws<ArgumentOutOfRangeException>(() => SequenceTagger.Create(train, SmallShape, new TaggerFeatures { Suffixes = -1 })).Message);
    }

    [Fact]
    public void CreateFillsInTheVocabulariesFieldsAndPerStepHead()
    {
        var train = Dev.Value.Take(50).ToList();
        var tagger = SequenceTagger.Create(train, SmallShape, new TaggerFeatures { Suffixes = 2, Prefixes = 1, AffixEmbeddingSize = 5, ShapeEmbeddingSize = 3 });
        var c = tagger.Model.Config;
        Assert.Equal(Pooling.None, c.Pooling);
        Assert.Equal(tagger.Tags.Count, c.OutputSize);
        Assert.Equal(tagger.Tags.Order(StringComparer.Ordinal), tagger.Tags);
        Assert.Equal(tagger.Words.Count, c.VocabularySize);
        Assert.Equal(["suffix1", "suffix2", "prefix1", "shape"], c.Fields!.Select(f => f.Name));
        Assert.Equal([5, 5, 5, 3], c.Fields!.Select(f => f.EmbeddingSize));
        Assert.Equal(32 + 5 + 5 + 5 + 3, c.InputSize);
        Assert.True(tagger.Words.Contains("the"));
        Assert.False(tagger.Words.Contains("The"));
    }

    /// <summary>
    /// The most-frequent-tag baseline (each word its most frequent tag in the training slice,
    /// unseen words the most frequent tag overall) against the tagger trained on the same slice
    /// for a few epochs: the tagger must beat it clearly on held-out sentences, which a model
    /// that ignores context or unseen-word features does not.
    /// </summary>
    [Fact]
    public void AFewEpochsOnASliceBeatTheMostFrequentTagBaseline()
    {
        var train = Dev.Value.Take(300).ToList();
        var heldOut = Dev.Value.Skip(300).Take(200).ToList();
        double baseline = MostFrequentTagAccuracy(train, heldOut);

        using var dir = new TempDir();
        var tagger = SequenceTagger.Create(train, SmallShape, new TaggerFeatures { MinCount = 1, WordDropout = 0.1f }, seed: 7);
        var options = new TrainingOptions { Batch = 16, Epochs = 8, LearningRate = 1e-2f, Seed = 7, EvalBatch = 64, Monitor = MonitorMetric.Accuracy };
        tagger.Fit(train, heldOut, options, dir.Path);
        var report = tagger.Evaluate(heldOut);

        Assert.Equal(heldOut.Sum(s => s.Words.Length), report.Total);
        output.WriteLine($"most-frequent-tag baseline {baseline:P2}, tagger {report.Accuracy:P2}");
        // Measured: baseline 70.88 %, tagger 87.30 % (seed 7, one thread).
        Assert.InRange(baseline, 0.708, 0.709);
        Assert.True(report.Accuracy > baseline + 0.10, $"tagger {report.Accuracy:P2} against the most-frequent-tag baseline {baseline:P2}");
        Assert.True(report.PerClass.Single(s => s.Label == "PUNCT").Recall > 0.95);
    }

    private static double MostFrequentTagAccuracy(IReadOnlyList<TaggedSentence> train, IReadOnlyList<TaggedSentence> test)
    {
        var pairs = train.SelectMany(s => s.Words.Zip(s.Tags)).ToList();
        string overall = pairs.GroupBy(p => p.Second).OrderByDescending(g => g.Count()).First().Key;
        var best = pairs.GroupBy(p => p.First).ToDictionary(g => g.Key, g => g.GroupBy(p => p.Second).OrderByDescending(t => t.Count()).ThenBy(t => t.Key, StringComparer.Ordinal).First().Key);
        var words = test.SelectMany(s => s.Words.Zip(s.Tags)).ToList();
        return words.Count(p => best.GetValueOrDefault(p.First, overall) == p.Second) / (double)words.Count;
    }

    [Fact]
    public void ResumeIsBitIdenticalForATaggerWithWordDropout()
    {
        var train = Dev.Value.Take(60).ToList();
        var valid = Dev.Value.Skip(60).Take(20).ToList();
        var features = new TaggerFeatures { WordDropout = 0.25f };
        var options = new TrainingOptions { Batch = 8, Epochs = 3, LearningRate = 5e-3f, Seed = 11, Monitor = MonitorMetric.Accuracy };

        using var straight = new TempDir();
        var a = SequenceTagger.Create(train, SmallShape, features, seed: 3);
        a.Fit(train, valid, options, straight.Path);

        using var interrupted = new TempDir();
        var b = SequenceTagger.Create(train, SmallShape, features, seed: 3);
        using var cancel = new CancellationTokenSource();
        var stopped = b.Fit(train, valid, options, interrupted.Path, r => { if (r.Step == 11) cancel.Cancel(); }, cancel.Token);
        Assert.Equal(11, stopped.Steps);   // mid-epoch: 8 batches per epoch
        string latest = Path.Combine(interrupted.Path, Trainer.LatestFile);
        var resumed = SequenceTagger.Load(latest, out var checkpoint);
        var summary = resumed.Resume(checkpoint, latest, train, valid, options, interrupted.Path);
        Assert.Equal(24, summary.Steps);

        var wa = Checkpoint.Load(Path.Combine(straight.Path, Trainer.LatestFile)).Weights;
        var wb = Checkpoint.Load(Path.Combine(interrupted.Path, Trainer.LatestFile)).Weights;
        Assert.Equal(wa.Keys, wb.Keys);
        foreach (var (name, t) in wa) Assert.True(t.Span.SequenceEqual(wb[name].Span), $"{name} differs after resume");
        Assert.Equal(a.Predict(valid[0].Words), resumed.Predict(valid[0].Words));
    }

    [Fact]
    public void SavedTaggerLoadsAndPredictsTheSame()
    {
        var train = Dev.Value.Take(40).ToList();
        using var dir = new TempDir();
        var tagger = SequenceTagger.Create(train, SmallShape, new TaggerFeatures { Prefixes = 2 });
        tagger.Fit(train, null, new TrainingOptions { Batch = 8, Epochs = 1, Seed = 2 }, dir.Path);
        var loaded = SequenceTagger.Load(Path.Combine(dir.Path, Trainer.BestFile));

        Assert.Equal(tagger.Tags, loaded.Tags);
        Assert.Equal(tagger.Features, loaded.Features);
        Assert.Equal(tagger.Words.Tokens, loaded.Words.Tokens);
        string[] sentence = ["The", "Zyxwv", "quickly", "jumped", "over", "2,000", "fences", "."];
        var tags = tagger.Predict(sentence);
        Assert.Equal(sentence.Length, tags.Length);
        Assert.All(tags, t => Assert.Contains(t, tagger.Tags));
        Assert.Equal(tags, loaded.Predict(sentence));
        var scored = loaded.PredictAll([sentence, ["Hi"]]);
        Assert.Equal(tags, scored[0].Select(x => x.Tag));
        Assert.Single(scored[1]);
        Assert.All(scored[0], x => Assert.InRange(x.Probability, 0.0, 1.0));

        Assert.Throws<ArgumentException>(() => tagger.Predict([]));
        Assert.Contains("not one of the", Assert.Throws<ArgumentException>(() => tagger.Evaluate([new TaggedSentence(["x"], ["NOT-A-TAG"])])).Message);
    }

    [Fact]
    public void ACheckpointOfAnotherTaskIsRefused()
    {
        using var dir = new TempDir();
        var classifier = TextClassifier.Create([new("ab", "x"), new("cd", "y")], new SequenceModelConfig { HiddenSize = 4, EmbeddingSize = 4 });
        classifier.Fit([new("ab", "x"), new("cd", "y")], null, new TrainingOptions { Batch = 2, Epochs = 1 }, dir.Path);
        var e = Assert.Throws<CheckpointException>(() => SequenceTagger.Load(Path.Combine(dir.Path, Trainer.BestFile)));
        Assert.Contains(TextClassifier.Task, e.Message);
    }

    [Fact]
    public void WordDropoutIsReproduciblePerBatchAndOnlyInTraining()
    {
        var examples = Enumerable.Range(0, 40).Select(i => new SequenceExample
        {
            Ids = Enumerable.Range(1, 25).ToArray(), Fields = [Enumerable.Range(1, 25).ToArray()], Tags = new int[25],
        }).ToList();
        var train = new SequenceDataset(examples, 8, shuffle: true, seed: 5, targetsPerStep: true) { TokenDropout = 0.3f };
        var again = new SequenceDataset(examples, 8, shuffle: true, seed: 5, targetsPerStep: true) { TokenDropout = 0.3f };
        var first = train.GetBatch(2, 3);
        Assert.Equal(first.Ids, again.GetBatch(2, 3).Ids);            // a function of (seed, epoch, index)
        Assert.NotEqual(first.Ids, train.GetBatch(3, 3).Ids);
        Assert.Equal(first.Ids, train.GetBatch(2, 3).Ids);            // asked twice, served the same
        Assert.All(first.FieldIds![0], id => Assert.NotEqual(0, id)); // fields are kept
        long dropped = Enumerable.Range(0, train.BatchCount).Sum(i => train.GetBatch(0, i).Ids!.Count(id => id == 0));
        Assert.InRange(dropped / (40.0 * 25), 0.25, 0.35);

        var valid = new SequenceDataset(examples, 8, shuffle: false, targetsPerStep: true) { TokenDropout = 0.3f };
        Assert.DoesNotContain(0, valid.GetBatch(0, 0).Ids!);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceDataset(examples, 8, shuffle: true) { TokenDropout = 1f });
    }
}
