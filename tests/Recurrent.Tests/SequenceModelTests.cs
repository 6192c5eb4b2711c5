using Recurrent.Applications;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>The sequence model's pieces that the PyTorch fixtures do not reach: token fields, batch-major input, state dicts, the data sets, the classifiers.</summary>
public class SequenceModelTests
{
    private static SequenceModelConfig FieldConfig(Pooling pooling) => new()
    {
        Cell = CellType.Gru, HiddenSize = 5, Bidirectional = true, VocabularySize = 7, EmbeddingSize = 3,
        Fields = [new TokenField("suffix", 4, 2), new TokenField("shape", 3, 2)], Pooling = pooling, OutputSize = 3,
    };

    private static SequenceBatch FieldBatch(Rng rng, bool perStep)
    {
        int[][] words = [[1, 2, 3, 4], [5, 6], [0, 1, 2]];
        var fields = words.Select(w => new[] { w.Select(_ => rng.NextInt(4)).ToArray(), w.Select(_ => rng.NextInt(3)).ToArray() }).ToList();
        return perStep
            ? SequenceBatch.FromTokens(words, tags: words.Select(w => w.Select(_ => rng.NextInt(3)).ToArray()).ToList(), fields: fields)
            : SequenceBatch.FromTokens(words, labels: [0, 2, 1], fields: fields);
    }

    /// <summary>
    /// Every gradient of a model with token fields (the main embedding, each field's embedding, the
    /// stack, the decoder) against central differences of the float32 loss: ε = 1e-2 leaves ~1e-5
    /// of rounding noise and O(ε²) truncation, far below the 2e-2 relative bound; a field whose
    /// gradient went to the wrong columns or rows would be off by 100%.
    /// </summary>
    [Theory]
    [InlineData(Pooling.None)]
    [InlineData(Pooling.Mean)]
    public void TokenFieldGradientsMatchFiniteDifferences(Pooling pooling)
    {
        var rng = new Rng(4);
        var model = new SequenceModel(FieldConfig(pooling), rng);
        var batch = FieldBatch(rng, pooling == Pooling.None);
        double Loss() => model.Loss(model.Forward(batch), batch, backward: false).Loss;
        model.ZeroGrad();
        var p = model.Forward(batch);
        model.Loss(p, batch, backward: true);
        model.Backward(p.Span);
        foreach (var (name, parameter) in model.NamedParameters)
        {
            var used = name switch
            {
                "encoder.weight" => Enumerable.Range(0, 3 * 7).Where(i => i / 3 is 1 or 5),            // rows of used ids
                _ => Enumerable.Range(0, parameter.Value.Length).Where(i => i % 3 == 0),
            };
            foreach (int i in used.Take(12))
            {
                float saved = parameter.Span[i];
                const float eps = 1e-2f;
                parameter.Span[i] = saved + eps; double plus = Loss();
                parameter.Span[i] = saved - eps; double minus = Loss();
                parameter.Span[i] = saved;
                double numeric = (plus - minus) / (2 * eps), analytic = parameter.GradSpan[i];
                Assert.True(Math.Abs(numeric - analytic) <= 2e-2 * Math.Max(Math.Abs(numeric), 1e-2),
                    $"{pooling} {name}[{i}]: backward {analytic:E4}, finite differences {numeric:E4}");
            }
        }
        // Every field embedding received gradient.
        Assert.All(model.FieldEncoders, f => Assert.Contains(f.Weight.GradSpan.ToArray(), g => g != 0));
    }

    [Fact]
    public void BatchMajorInputWithLongLengthsEqualsTimeMajor()
    {
        var rng = new Rng(2);
        var model = new SequenceModel(new SequenceModelConfig { Cell = CellType.Lstm, HiddenSize = 6, Bidirectional = true, VocabularySize = 9, EmbeddingSize = 4, Pooling = Pooling.Max, OutputSize = 2 }, rng);
        int[][] sequences = [[1, 2, 3], [4, 5, 0], [8, 7, 6]];
        long[] lengths = [3, 1, 2];
        var batchMajor = new int[9];
        for (int b = 0; b < 3; b++) sequences[b].CopyTo(batchMajor, b * 3);
        var a = model.Forward(SequenceBatch.FromBatchMajor<long>(batchMajor, 3, 3, lengths)).Span.ToArray();
        var b2 = model.Forward(SequenceBatch.FromTokens([[1, 2, 3], [4], [8, 7]])).Span.ToArray();
        Assert.Equal(b2, a);
        Assert.Throws<ArgumentOutOfRangeException>(() => SequenceBatch.FromBatchMajor<byte>(batchMajor, 3, 3, [3, 0, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SequenceBatch.FromBatchMajor<long>(batchMajor, 3, 3, [3, 4, 2]));
    }

    [Fact]
    public void StateDictReportsMissingUnexpectedAndMisShapedKeys()
    {
        var model = new SequenceModel(FieldConfig(Pooling.Last), new Rng(1));
        var state = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        state.Remove("fields.1.weight");
        state["extra.weight"] = new Tensor(2);
        state["decoder.bias"] = new Tensor(5);
        var e = Assert.Throws<ArgumentException>(() => model.LoadStateDict(state));
        Assert.Contains("missing: fields.1.weight", e.Message);
        Assert.Contains("unexpected: extra.weight", e.Message);
        Assert.Contains("mis-shaped: decoder.bias [5] (model [3])", e.Message);
        var report = model.LoadStateDict(state, strict: false);
        Assert.Equal(["fields.1.weight"], report.Missing);
        Assert.False(report.IsExact);

        var good = new SequenceModel(FieldConfig(Pooling.Last), new Rng(9)).StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        Assert.True(model.LoadStateDict(good).IsExact);
        Assert.Equal(good["encoder.weight"].Span.ToArray(), model.Encoder!.Weight.Span.ToArray());
        good["encoder.weight"].Span[3] = float.NaN;
        Assert.Contains("encoder.weight", Assert.Throws<ArgumentException>(() => model.LoadStateDict(good)).Message);
    }

    [Fact]
    public void DatasetServesEachExampleOncePerEpochInLengthBucketsReproducibly()
    {
        var rng = new Rng(3);
        var examples = Enumerable.Range(0, 1000).Select(i => new SequenceExample { Ids = new int[1 + rng.NextInt(100)], Label = i % 2 }).ToList();
        var data = new SequenceDataset(examples, batchSize: 10, shuffle: true, seed: 5);
        Assert.Equal(100, data.BatchCount);
        var epoch0 = Enumerable.Range(0, 100).Select(i => data.IndicesOf(0, i).ToArray()).ToList();
        Assert.Equal(Enumerable.Range(0, 1000), epoch0.SelectMany(x => x).Order());
        // Bucketing: within a batch lengths are close (a random batch of 10 would span ~80 steps).
        double meanSpread = epoch0.Average(b => b.Max(i => examples[i].Ids!.Length) - b.Min(i => examples[i].Ids!.Length));
        Assert.True(meanSpread < 10, $"mean length spread within a batch {meanSpread:F1}");
        var again = new SequenceDataset(examples, 10, true, seed: 5);
        Assert.Equal(epoch0, Enumerable.Range(0, 100).Select(i => again.IndicesOf(0, i).ToArray()).ToList());
        Assert.NotEqual(epoch0, Enumerable.Range(0, 100).Select(i => again.IndicesOf(1, i).ToArray()).ToList());
        var padded = data.GetBatch(0, 0);
        Assert.Equal(padded.Lengths!.Max(), padded.Steps);
    }

    private static List<Labeled<string>> Names(int perClass)
    {
        var all = LabeledTextReader.ReadFilePerClass(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "names")).Distinct();
        return all.GroupBy(x => x.Label).Where(g => g.Key is "Russian" or "Japanese" or "Italian" or "Arabic")
            .SelectMany(g => g.Take(perClass)).ToList();
    }

    /// <summary>Four languages of real surnames: two epochs of a small BiLSTM beat the majority class (25%) by far.</summary>
    [Fact]
    public void TextClassifierLearnsSurnamesAndResumesBitIdentically()
    {
        var all = Names(150);
        var (train, valid, test) = Splits.StratifiedSplit(all, x => x.Label, 0.7, 0.15, 1);
        var shape = new SequenceModelConfig { Cell = CellType.Lstm, HiddenSize = 24, EmbeddingSize = 12, Bidirectional = true };
        var options = new TrainingOptions { Epochs = 6, Batch = 16, LearningRate = 1e-2f, EvalEvery = 10 };
        using var dir = new TempDir();
        var straight = TextClassifier.Create(train, shape);
        straight.Fit(train, valid, options, dir.File("a"));
        var report = straight.Evaluate(test);
        Assert.True(report.Accuracy > 0.6, $"test accuracy {report.Accuracy:P1} on 4 balanced classes");
        Assert.Equal(test.Count, report.Total);

        var interrupted = TextClassifier.Create(train, shape);
        using var cancel = new CancellationTokenSource();
        interrupted.Fit(train, valid, options, dir.File("b"), r => { if (r.Step == 20) cancel.Cancel(); }, cancel.Token);   // step 20 evaluates anyway: no extra metrics line
        string latest = Path.Combine(dir.File("b"), Trainer.LatestFile);
        var resumed = TextClassifier.Load(latest, out var checkpoint);
        Assert.Equal(20, checkpoint.Progress.Step);
        resumed.Resume(checkpoint, latest, train, valid, options, dir.File("b"));
        Assert.Equal(ValidLosses(dir.File("a")), ValidLosses(dir.File("b")));
        foreach (var ((name, a), (_, b)) in straight.Model.NamedParameters.Zip(resumed.Model.NamedParameters))
            Assert.True(a.Span.SequenceEqual(b.Span), $"{name} differs after resume");
        Assert.Equal(straight.Predict("Nakamura"), resumed.Predict("Nakamura"));
    }

    private static List<double> ValidLosses(string run) => File.ReadLines(Path.Combine(run, Trainer.MetricsFile))
        .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("valid_loss").GetDouble()).ToList();
}
