using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Tests;

public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "recurrent-test-" + Guid.NewGuid().ToString("N"));
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

public class TrainingTests
{
    private const string Text = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ";

    private static (Trainer Trainer, CharVocabulary Vocab, int[] Train, int[] Valid) Make(string outDir, TrainingOptions options, float dropout = 0f, CellType cell = CellType.Lstm)
    {
        var vocab = CharVocabulary.Build(Text);
        var ids = vocab.Encode(string.Concat(Enumerable.Repeat(Text, 6)));
        var (train, valid) = TextCorpus.SplitIds(ids, 0.8);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(cell, vocab.Count, 16, 24, layers: 2, dropout: dropout), new Rng(options.Seed));
        return (Trainer.ForLanguageModel(model, vocab, train, valid, options, outDir), vocab, train, valid);
    }

    [Fact]
    public void TinyModelOverfitsAShortText()
    {
        using var dir = new TempDir();
        var (trainer, _, train, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 16, Epochs = 60, LearningRate = 1e-2f, Seed = 3 });
        trainer.Run();
        // Scored as one stream: only the first few characters (no context yet) cannot be predicted.
        double loss = Trainer.Evaluate(trainer.Model, new TokenStream(train, 1, 16)).Loss;
        Assert.True(loss < 0.05, $"training loss after 60 epochs is {loss:F3} nats/char");
    }

    [Fact]
    public void ResumeIsBitIdenticalToAnUninterruptedRun()
    {
        var options = new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 3, LearningRate = 5e-3f, Seed = 5, EvalEvery = 4 };
        using var straight = new TempDir();
        var (a, _, _, _) = Make(straight.Path, options, dropout: 0.2f);
        a.Run();

        using var interrupted = new TempDir();
        var (b, vocab, train, valid) = Make(interrupted.Path, options, dropout: 0.2f);
        using var cancel = new CancellationTokenSource();
        b.Run(r => { if (r.Step == 11) cancel.Cancel(); }, cancel.Token);   // stops mid-epoch, after saving latest.ckpt
        Assert.Equal(11, b.Progress.Step);
        string latest = Path.Combine(interrupted.Path, Trainer.LatestFile);
        var resumed = Trainer.Resume(Checkpoint.Load(latest), latest, new TokenStream(train, options.Batch, options.Bptt), TokenStream.ForEvaluation(valid, options.EvalBatch, options.Bptt), interrupted.Path);
        resumed.Run();

        Assert.Equal(a.Progress.Step, resumed.Progress.Step);
        Assert.Equal(a.Progress.BestValidLoss, resumed.Progress.BestValidLoss);
        foreach (var ((name, pa), (_, pb)) in a.Model.NamedParameters.Zip(resumed.Model.NamedParameters))
            Assert.True(pa.Span.SequenceEqual(pb.Span), $"{name} differs after resume");
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Path, Trainer.MetricsFile)).Length,
            File.ReadAllLines(Path.Combine(interrupted.Path, Trainer.MetricsFile)).Length);
    }

    [Fact]
    public void CheckpointRoundTripsEverything()
    {
        using var dir = new TempDir();
        var (trainer, vocab, _, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 1, Seed = 2 });
        trainer.Run();
        var path = Path.Combine(dir.Path, Trainer.LatestFile);
        var loaded = Checkpoint.Load(path);
        Assert.Equal(trainer.Model.Config, loaded.Model);
        Assert.Equal(vocab.Tokens, Vocabulary.FromJson(loaded.VocabularyJson).Tokens);
        Assert.Equal(trainer.Progress, loaded.Progress);
        var model = new SequenceModel(loaded.Model, new Rng(99));
        loaded.LoadWeightsInto(model, path);
        foreach (var ((_, a), (_, b)) in trainer.Model.NamedParameters.Zip(model.NamedParameters)) Assert.True(a.Span.SequenceEqual(b.Span));
        Assert.Equal(4, loaded.RngState.Length);
        Assert.NotEmpty(loaded.OptimizerState);
    }

    [Fact]
    public void CorruptTruncatedForeignAndFutureCheckpointsAreRejectedClearly()
    {
        using var dir = new TempDir();
        var (trainer, _, _, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 1, Seed = 2 });
        trainer.Run();
        var good = File.ReadAllBytes(Path.Combine(dir.Path, Trainer.LatestFile));

        var flipped = (byte[])good.Clone();
        flipped[^10] ^= 0x40;
        AssertRejected(dir, flipped, "checksum");
        AssertRejected(dir, good[..(good.Length / 2)], "corrupt");
        AssertRejected(dir, "hello, not a checkpoint"u8.ToArray(), "not a Recurrent checkpoint");

        var plain = Recurrent.Serialization.SafeTensors.Serialize([new("x", new Tensor(2))]);
        AssertRejected(dir, plain, "not a Recurrent checkpoint");

        var file = Recurrent.Serialization.SafeTensorFile.Parse(good);
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        meta["version"] = "99";
        var future = Recurrent.Serialization.SafeTensors.Serialize(file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))), meta);
        AssertRejected(dir, future, "version 99");
        Assert.Throws<CheckpointException>(() => Checkpoint.Load(dir.File("missing.ckpt")));
    }

    private static void AssertRejected(TempDir dir, byte[] bytes, string expected)
    {
        var path = dir.File("bad.ckpt");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }
}

public class HostileCheckpointTests
{
    [Fact]
    public void ConfigThatDisagreesWithStoredWeightsIsRejectedBeforeAllocating()
    {
        using var dir = new TempDir();
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Gru, 5, 4, 4), new Rng(1));
        var huge = model.Config with { VocabularySize = 5_000_000, EmbeddingSize = 4096 };   // ~20 G parameters if believed
        var checkpoint = new Checkpoint
        {
            Model = huge,
            Metadata = new Dictionary<string, string> { ["vocabulary"] = CharVocabulary.Build("abcde").ToJson() },
            Training = new TrainingOptions(),
            Progress = new TrainingProgressState(),
            Weights = model.NamedParameters.ToDictionary(n => n.Name, n => n.Parameter.Value),
        };
        var path = dir.File("hostile.ckpt");
        checkpoint.Save(path);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path).CreateModel(path));
        Assert.Contains("inconsistent", e.Message);
        Assert.Equal(model.ParameterCount, model.Config.ParameterCount());
    }
}
