using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Recurrent.Generation;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>
/// The findings of issue 11 held at the library level: hangs, divergence, hostile sizes and
/// temperatures, resume semantics, the run-directory lock, the order and cleanliness of saves.
/// </summary>
public class ReliabilityTests
{
    private const string Text = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ";

    private static (Trainer Trainer, CharVocabulary Vocab, int[] Train, int[] Valid) Make(string outDir, TrainingOptions options, int repeats = 6)
    {
        var vocab = CharVocabulary.Build(Text);
        var ids = vocab.Encode(string.Concat(Enumerable.Repeat(Text, repeats)));
        var (train, valid) = TextCorpus.SplitIds(ids, 0.8);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, vocab.Count, 8, 12), new Rng(options.Seed));
        return (Trainer.ForLanguageModel(model, vocab, train, valid, options, outDir), vocab, train, valid);
    }

    /// <summary>Runs <paramref name="body"/> on a worker thread; a hang fails the test instead of stalling the suite.</summary>
    private static void WithinSeconds(int seconds, Action body)
    {
        var task = Task.Run(body);
        Assert.True(task.Wait(TimeSpan.FromSeconds(seconds)) || task.IsFaulted, $"still running after {seconds} s (a hang)");
        if (task.IsFaulted) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(task.Exception!.InnerException!).Throw();
    }

    // Finding 1: a checkpoint whose position is past the new data's batch count spun forever.
    [Fact]
    public void ResumeOnFewerBatchesThanTheSavedPositionFailsInsteadOfHanging()
    {
        using var dir = new TempDir();
        var options = new TrainingOptions { Batch = 2, Bptt = 4, Epochs = 2, Seed = 1 };
        var (trainer, _, train, valid) = Make(dir.Path, options, repeats: 12);
        using var cancel = new CancellationTokenSource();
        trainer.Run(r => { if (r.Step == 40) cancel.Cancel(); }, cancel.Token);
        string latest = Path.Combine(dir.Path, Trainer.LatestFile);
        Assert.Equal(40, Checkpoint.Load(latest).Progress.Window);
        var shorter = train[..(train.Length / 4)];   // fewer windows than the saved position
        WithinSeconds(60, () =>
        {
            var e = Assert.Throws<CheckpointException>(() =>
                Trainer.Resume(Checkpoint.Load(latest), latest, new TokenStream(shorter, 2, 4), TokenStream.ForEvaluation(valid, 10, 4), dir.Path).Run());
            Assert.Contains("batch", e.Message);
        });
    }

    // Finding 2: a finite but exploding loss was trained on and saved as best.ckpt.
    [Fact]
    public void ExplodingLossStopsTheRunBeforeAnythingIsSaved()
    {
        using var dir = new TempDir();
        var (trainer, _, _, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 3, Optimizer = OptimizerKind.Sgd, LearningRate = 1e6f, ClipNorm = 0, Seed = 2 });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Contains("--lr", e.Message);
        Assert.False(File.Exists(Path.Combine(dir.Path, Trainer.BestFile)), "a diverged model was saved as best.ckpt");
        Assert.False(File.Exists(Path.Combine(dir.Path, Trainer.LatestFile)), "a diverged model was saved as latest.ckpt");
    }

    [Fact]
    public void ADivergedModelIsNeverSavedEvenWhenTheLossLooksFinite()
    {
        using var dir = new TempDir();
        var (trainer, _, _, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 1, Seed = 2 });
        trainer.Model.NamedParameters[0].Parameter.Span[0] = float.PositiveInfinity;
        Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.ckpt"));
    }

    // Finding 4: 1/τ overflowing made 0·∞ = NaN probabilities.
    [Theory]
    [InlineData(1e-40f)]
    [InlineData(float.Epsilon)]
    [InlineData(2.9e-39f)]
    [InlineData(1.17549435e-38f)]   // the smallest normal τ: 1/τ is finite, a real (if sharp) softmax
    [InlineData(1e-30f)]
    public void TinyTemperaturesSampleTheMostLikelyToken(float temperature)
    {
        var logits = new float[] { 0.5f, 3.25f, -1f, 3.2499998f, 2f };
        var sampler = new Sampler(temperature);
        var rng = new Rng(3);
        for (int i = 0; i < 50; i++) Assert.Equal(1, sampler.Sample(logits, rng));
        var p = new float[logits.Length];
        Sampler.Softmax(logits, temperature, p);
        Assert.All(p, x => Assert.True(float.IsFinite(x) && x >= 0, $"probability {x}"));
        Assert.Equal(1f, p.Sum(), 1e-6f);
    }

    // Finding 5: batch × bptt allocated what the data can never fill (or overflowed).
    [Fact]
    public void AWindowLongerThanTheDataAllocatesOnlyWhatTheDataFills()
    {
        var ids = Enumerable.Range(0, 20_000).Select(i => i % 7).ToArray();
        var data = new TokenStream(ids, 1000, 1_000_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var batch = data.GetBatch(0, 0);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(19, batch.Steps);
        Assert.True(allocated < 4_000_000, $"one window of 19×1000 ids allocated {allocated:N0} bytes");
        var overflow = new TokenStream(ids, 3000, 1_000_000);   // 3000 · 1e6 overflows int
        Assert.Equal(5, overflow.GetBatch(0, 0).Steps);
    }

    [Fact]
    public void AModelTooLargeForMemorySaysHowMuchItNeeds()
    {
        var huge = SequenceModelConfig.LanguageModel(CellType.Lstm, 65, 64, 65536);
        var e = Assert.ThrowsAny<ArgumentException>(() => new SequenceModel(huge, new Rng(1)));
        Assert.Contains("GB", e.Message);
        Assert.Contains("hidden", e.Message);
    }

    // Finding 6: --minutes counted the time before the resume, so a resumed run stopped at once.
    [Fact]
    public void MinutesCountFromTheResumeNotFromTheStartOfTheRun()
    {
        using var dir = new TempDir();
        var options = new TrainingOptions { Batch = 2, Bptt = 4, Epochs = 1, Seed = 1 };
        var (trainer, _, train, valid) = Make(dir.Path, options);
        using var cancel = new CancellationTokenSource();
        trainer.Run(r => { if (r.Step == 3) cancel.Cancel(); }, cancel.Token);
        string latest = Path.Combine(dir.Path, Trainer.LatestFile);
        var saved = Checkpoint.Load(latest);
        var old = new Checkpoint
        {
            Model = saved.Model, Metadata = saved.Metadata, Training = saved.Training, Weights = saved.Weights, OptimizerState = saved.OptimizerState,
            ScheduleState = saved.ScheduleState, RngState = saved.RngState, StateH = saved.StateH, StateC = saved.StateC,
            Progress = saved.Progress with { ElapsedSeconds = 7200 },   // two hours already trained
        };
        old.Save(latest);
        var resumed = Trainer.Resume(Checkpoint.Load(latest), latest, new TokenStream(train, 2, 4), TokenStream.ForEvaluation(valid, 10, 4), dir.Path,
            saved.Training with { MaxMinutes = 30 });
        var summary = resumed.Run();
        Assert.Equal(1, summary.EpochsCompleted);
        Assert.True(summary.Steps > 4, $"the resumed run stopped after {summary.Steps} steps");
    }

    // Finding 7: two runs into one directory interleaved their files.
    [Fact]
    public async Task ASecondRunIntoTheSameDirectoryIsRefusedWhileTheFirstRuns()
    {
        using var dir = new TempDir();
        var options = new TrainingOptions { Batch = 2, Bptt = 4, Epochs = 1, Seed = 1 };
        var (first, _, _, _) = Make(dir.Path, options);
        var (second, _, _, _) = Make(dir.Path, options);
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var running = Task.Run(() => first.Run(r => { started.Set(); release.Wait(TimeSpan.FromSeconds(60)); }));
        Assert.True(started.Wait(TimeSpan.FromSeconds(60)));
        try
        {
            var e = Assert.ThrowsAny<IOException>(() => second.Run());
            Assert.Contains(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
            Assert.Contains(dir.Path, e.Message);
        }
        finally { release.Set(); }
        await running.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.lock"));
        // Once the first run is over the directory is free again.
        var (third, _, train, valid) = Make(dir.Path, options with { Epochs = 2 });
        string latest = Path.Combine(dir.Path, Trainer.LatestFile);
        Trainer.Resume(Checkpoint.Load(latest), latest, new TokenStream(train, 2, 4), TokenStream.ForEvaluation(valid, 10, 4), dir.Path, options with { Epochs = 2 }).Run();
    }

    [Fact]
    public void ALockLeftByADeadProcessIsTakenOver()
    {
        using var dir = new TempDir();
        using var dead = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        dead.WaitForExit();
        File.WriteAllText(Path.Combine(dir.Path, "run.lock"), $"pid {dead.Id}\nstarted 2000-01-01T00:00:00.0000000Z\nhost {Environment.MachineName}\n");
        var (trainer, _, _, _) = Make(dir.Path, new TrainingOptions { Batch = 2, Bptt = 4, Epochs = 1, Seed = 1 });
        trainer.Run();
        Assert.True(File.Exists(Path.Combine(dir.Path, Trainer.LatestFile)));
        Assert.False(File.Exists(Path.Combine(dir.Path, "run.lock")));
    }

    // Finding 9: latest was written before best, and temp files of a crashed save stayed forever.
    [Fact]
    public void BestIsWrittenBeforeLatest()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, Trainer.BestFile));   // makes the best.ckpt write fail
        var (trainer, _, _, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 1, Seed = 2 });
        Assert.ThrowsAny<Exception>(() => trainer.Run());
        Assert.False(File.Exists(Path.Combine(dir.Path, Trainer.LatestFile)), "latest.ckpt was written before best.ckpt");
    }

    [Fact]
    public void StaleTemporaryFilesOfACrashedSaveAreRemovedOnStart()
    {
        using var dir = new TempDir();
        string orphan = Path.Combine(dir.Path, $".{Trainer.BestFile}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(orphan, "half a checkpoint");
        string unrelated = Path.Combine(dir.Path, "notes.tmp");
        File.WriteAllText(unrelated, "mine");
        var (trainer, _, _, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 1, Seed = 2 });
        trainer.Run();
        Assert.False(File.Exists(orphan));
        Assert.True(File.Exists(unrelated));
    }

    // Finding 10: a JSON null progress or training entry gave a NullReferenceException.
    [Theory]
    [InlineData("progress")]
    [InlineData("training")]
    [InlineData("model")]
    [InlineData("schedule")]
    public void NullMetadataEntriesAreRejectedByName(string key)
    {
        using var dir = new TempDir();
        var (trainer, _, _, _) = Make(dir.Path, new TrainingOptions { Batch = 4, Bptt = 8, Epochs = 1, Seed = 2 });
        trainer.Run();
        var file = SafeTensorFile.Load(Path.Combine(dir.Path, Trainer.LatestFile));
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        meta[key] = "null";
        var tensors = file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))).ToList();
        meta["checksum"] = CheckpointChecksum(tensors, meta);
        string path = dir.File("null.ckpt");
        SafeTensors.Save(path, tensors, meta);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path));
        Assert.Contains(key, e.Message);
    }

    /// <summary>The checkpoint checksum (the library's own), so a test can forge a file whose checksum is valid.</summary>
    internal static string CheckpointChecksum(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string> meta) =>
        Checkpoint.Checksum(tensors, meta);
}

/// <summary>What the reader fuzzer found (tests/Recurrent.Tests/ReaderFuzzTests.cs), each held by a test of its own.</summary>
public class FuzzFindingTests
{
    // Trial 89,576 of the first 100,000-mutation run: a schedule saved as the number 65536 (enums also
    // read from numbers) passed Load and threw ArgumentOutOfRangeException("Unknown schedule") from the trainer.
    [Theory]
    [InlineData("Schedule", "65536")]
    [InlineData("Optimizer", "-1")]
    [InlineData("Monitor", "7")]
    public void AnUndefinedEnumInTheTrainingOptionsIsRejectedAtLoad(string field, string value)
    {
        using var dir = new TempDir();
        var vocab = CharVocabulary.Build("abcd ");
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Gru, vocab.Count, 3, 4), new Rng(1));
        var ids = vocab.Encode(string.Concat(Enumerable.Repeat("abcd ", 20)));
        Trainer.ForLanguageModel(model, vocab, ids[..80], ids[80..], new TrainingOptions { Batch = 2, Bptt = 4, Epochs = 1 }, dir.Path).Run();
        var file = SafeTensorFile.Load(Path.Combine(dir.Path, Trainer.LatestFile));
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        var training = System.Text.Json.Nodes.JsonNode.Parse(meta["training"])!.AsObject();
        training[field] = System.Text.Json.Nodes.JsonNode.Parse(value);
        meta["training"] = training.ToJsonString();
        var tensors = file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))).ToList();
        meta["checksum"] = ReliabilityTests.CheckpointChecksum(tensors, meta);
        string path = dir.File("enum.ckpt");
        SafeTensors.Save(path, tensors, meta);
        var e = Assert.Throws<CheckpointException>(() => Checkpoint.Load(path));
        Assert.Contains("--" + field.ToLowerInvariant(), e.Message);
    }
}

/// <summary>
/// The save path with a fault injected between its writes (metrics.jsonl, best.ckpt, latest.ckpt):
/// as if the process died there. Afterwards both checkpoints load, best.ckpt is never older than
/// what latest.ckpt records as best, and resuming from latest.ckpt ends bit-identical to a run
/// that was never interrupted, with one metrics line per evaluation.
/// </summary>
public class SavePathFaultTests
{
    private sealed class InjectedCrash : Exception;

    private const string Text = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ";
    private static readonly TrainingOptions Options = new() { Batch = 2, Bptt = 8, Epochs = 2, EvalEvery = 7, Seed = 4, LearningRate = 5e-3f };

    private static (Trainer Trainer, int[] Train, int[] Valid) Make(string dir)
    {
        var vocab = CharVocabulary.Build(Text);
        var ids = vocab.Encode(string.Concat(Enumerable.Repeat(Text, 5)));
        var (train, valid) = TextCorpus.SplitIds(ids, 0.8);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, vocab.Count, 6, 10), new Rng(Options.Seed));
        return (Trainer.ForLanguageModel(model, vocab, train, valid, Options, dir), train, valid);
    }

    [Theory]
    [InlineData("metrics", 1)]
    [InlineData("best", 1)]
    [InlineData("latest", 1)]
    [InlineData("metrics", 3)]
    [InlineData("best", 2)]
    [InlineData("latest", 4)]
    public void ACrashBetweenTheWritesLosesNothing(string after, int evaluation)
    {
        using var straight = new TempDir();
        var (reference, _, _) = Make(straight.Path);
        reference.Run();

        using var dir = new TempDir();
        var (trainer, train, valid) = Make(dir.Path);
        int seen = 0;
        trainer.AfterWrite = what => { if (what == after && ++seen == evaluation) throw new InjectedCrash(); };
        Assert.Throws<InjectedCrash>(() => trainer.Run());
        Assert.False(File.Exists(Path.Combine(dir.Path, RunDirectory.LockFile)), "the lock outlived the run");

        string latest = Path.Combine(dir.Path, Trainer.LatestFile), best = Path.Combine(dir.Path, Trainer.BestFile);
        if (File.Exists(latest))
        {
            var l = Checkpoint.Load(latest);
            var b = Checkpoint.Load(best);
            // best.ckpt is written first: it is at least as recent as what latest.ckpt knows of.
            Assert.True(b.Progress.Step >= l.Progress.Step || b.Progress.BestScore == l.Progress.BestScore);
            Assert.True(b.Progress.BestScore <= l.Progress.BestScore);
        }
        else Assert.Equal(1, evaluation);   // only a crash in the first evaluation leaves no latest.ckpt

        Trainer resumed = File.Exists(latest)
            ? Trainer.Resume(Checkpoint.Load(latest), latest, new TokenStream(train, Options.Batch, Options.Bptt), TokenStream.ForEvaluation(valid, Options.EvalBatch, Options.Bptt), dir.Path)
            : Make(dir.Path).Trainer;
        resumed.Run();
        Assert.Equal(reference.Progress.Step, resumed.Progress.Step);
        Assert.Equal(reference.Progress.BestValidLoss, resumed.Progress.BestValidLoss);
        foreach (var ((name, p), (_, q)) in reference.Model.NamedParameters.Zip(resumed.Model.NamedParameters))
            Assert.True(p.Span.SequenceEqual(q.Span), $"{name} differs after the crash and resume");
        var steps = File.ReadAllLines(Path.Combine(dir.Path, Trainer.MetricsFile)).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToList();
        Assert.Equal(steps.Distinct().Count(), steps.Count);
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Path, Trainer.MetricsFile)).Length, steps.Count);
        var finalBest = Checkpoint.Load(best);
        Assert.Equal(reference.Progress.BestValidLoss, finalBest.Progress.BestValidLoss);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp"));
    }
}

public class MetricsJsonTests
{
    [Fact]
    public void APerplexityPastTheDoubleRangeIsWrittenAsNull()
    {
        using var dir = new TempDir();
        var vocab = CharVocabulary.Build("abcd ");
        var ids = vocab.Encode(string.Concat(Enumerable.Repeat("abcd dcba ", 12)));
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Gru, vocab.Count, 3, 4), new Rng(1));
        model.Decoder.Bias!.Span[0] = 3000f;   // every other token costs ~3000 nats: e^3000 overflows double
        Trainer.ForLanguageModel(model, vocab, ids[..90], ids[90..], new TrainingOptions { Batch = 2, Bptt = 5, Epochs = 1, LearningRate = 1e-6f }, dir.Path).Run();
        var line = System.Text.Json.JsonDocument.Parse(File.ReadAllLines(Path.Combine(dir.Path, Trainer.MetricsFile))[0]).RootElement;
        Assert.True(line.GetProperty("valid_loss").GetDouble() > 710);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, line.GetProperty("valid_ppl").ValueKind);
    }
}
