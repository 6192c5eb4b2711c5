using System.Text.Json;

namespace Recurrent.Tests;

/// <summary>A small tagger trained once with `recurrent tag train` on slices of UD English EWT dev, shared by the tag command tests.</summary>
public sealed class TrainedTagger : IDisposable
{
    public TempDir Dir { get; } = new();
    public string TrainFile => Dir.File("train.conllu");
    public string ValidFile => Dir.File("valid.conllu");
    public string Out => Dir.File("run");
    public Cli.Result Train { get; }

    public TrainedTagger()
    {
        string dev = Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "ud-english-ewt", "en_ewt-ud-dev.conllu"));
        Assert.True(File.Exists(dev), $"The shared data '{dev}' is missing (see ../shared/data/README.md).");
        // Sentences are separated by blank lines; take the first 80 for training and the next 20 for validation.
        var sentences = File.ReadAllText(dev).Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        File.WriteAllText(TrainFile, string.Join("\n\n", sentences.Take(80)) + "\n\n");
        File.WriteAllText(ValidFile, string.Join("\n\n", sentences.Skip(80).Take(20)) + "\n\n");
        Train = Cli.Run("tag", "train", "--data", TrainFile, "--valid", ValidFile, "--test", ValidFile, "--layers", "1", "--hidden", "16", "--embed", "16",
            "--word-dropout", "0.1", "--batch", "8", "--epochs", "2", "--lr", "0.01", "--threads", "1", "--seed", "3", "--out", Out);
    }

    public void Dispose() => Dir.Dispose();
}

public class TagCliTests(TrainedTagger run) : IClassFixture<TrainedTagger>
{
    [Fact]
    public void TrainWritesCheckpointsMetricsPlotAndTestAccuracy()
    {
        Assert.True(run.Train.ExitCode == 0, run.Train.Err);
        foreach (var f in new[] { "best.ckpt", "latest.ckpt", "metrics.jsonl", "loss.png" })
            Assert.True(File.Exists(Path.Combine(run.Out, f)), f + " missing");
        var lines = File.ReadAllLines(Path.Combine(run.Out, "metrics.jsonl"));
        Assert.Equal(2, lines.Length);
        Assert.InRange(JsonDocument.Parse(lines[^1]).RootElement.GetProperty("valid_accuracy").GetDouble(), 0.0, 1.0);
        Assert.Contains("bidirectional tagger", run.Train.Out);
        Assert.Contains("suffix1, suffix2, suffix3, prefix1, shape", run.Train.Out);
        Assert.Contains("test: accuracy", run.Train.Out);
    }

    [Fact]
    public void EvalPrintsAccuracyAndAPerTagTable()
    {
        var r = Cli.Run("tag", "eval", "--model", run.Out, "--data", run.ValidFile, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        var tags = json.GetProperty("tags").EnumerateArray().ToList();
        Assert.Equal(json.GetProperty("words").GetInt64(), tags.Sum(t => t.GetProperty("support").GetInt64()));
        double accuracy = json.GetProperty("accuracy").GetDouble();
        // Accuracy is the support-weighted mean of the per-tag accuracies.
        Assert.Equal(accuracy, tags.Sum(t => t.GetProperty("accuracy").GetDouble() * t.GetProperty("support").GetInt64()) / json.GetProperty("words").GetInt64(), 1e-9);
        Assert.True(accuracy > 0.3, $"accuracy {accuracy}");
        Assert.True(json.GetProperty("unknown_words").GetInt64() > 0);
        Assert.Contains(tags, t => t.GetProperty("tag").GetString() == "PUNCT");

        var table = Cli.Run("tag", "eval", "--model", Path.Combine(run.Out, "best.ckpt"), "--data", run.ValidFile);
        Assert.True(table.ExitCode == 0, table.Err);
        Assert.Contains("precision", table.Out);
        Assert.Contains("NOUN", table.Out);
        Assert.Contains("unknown words", table.Out);
    }

    [Fact]
    public void PredictTagsEveryWord()
    {
        var r = Cli.Run("tag", "predict", "--model", run.Out, "The dog barked .", "Hello", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(["The", "dog", "barked", "."], first.GetProperty("words").EnumerateArray().Select(w => w.GetString()));
        Assert.Equal(4, first.GetProperty("tags").GetArrayLength());
        Assert.All(first.GetProperty("probabilities").EnumerateArray(), p => Assert.InRange(p.GetDouble(), 0.0, 1.0));

        File.WriteAllText(run.Dir.File("sentences.txt"), "I like it .\n\nWe went home\n");
        var plain = Cli.Run("tag", "predict", "--model", run.Out, "--file", run.Dir.File("sentences.txt"));
        Assert.True(plain.ExitCode == 0, plain.Err);
        var plainLines = plain.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, plainLines.Length);
        Assert.Matches(@"^I/\S+ like/\S+ it/\S+ \./\S+$", plainLines[0]);
    }

    [Fact]
    public void ResumeContinuesATaggerRun()
    {
        using var dir = new TempDir();
        string outDir = dir.File("r");
        var common = new[] { "tag", "train", "--data", run.TrainFile, "--valid", run.ValidFile, "--layers", "1", "--hidden", "8", "--embed", "8", "--batch", "16",
            "--threads", "1", "--out", outDir, "--quiet" };
        Assert.Equal(0, Cli.Run([.. common, "--epochs", "1"]).ExitCode);
        var resumed = Cli.Run([.. common, "--epochs", "2", "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Equal("", resumed.Out);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Length);
    }

    [Fact]
    public void UserErrorsGiveOneLineAndNonZeroExit()
    {
        Cli.AssertOneLineError(Cli.Run("tag", "train", "--data", run.Dir.File("nope.conllu"), "--out", run.Dir.File("x")), "nope.conllu");
        File.WriteAllText(run.Dir.File("bad.conllu"), "1\tThe\tthe\tDET\n");
        Cli.AssertOneLineError(Cli.Run("tag", "train", "--data", run.Dir.File("bad.conllu"), "--out", run.Dir.File("x")), "bad.conllu:1:", "10 tab-separated");
        Cli.AssertOneLineError(Cli.Run("tag", "train", "--data", run.TrainFile, "--word-dropout", "1.5", "--out", run.Dir.File("x")), "--word-dropout");
        Cli.AssertOneLineError(Cli.Run("tag", "train", "--data", run.TrainFile, "--suffixes", "-1", "--out", run.Dir.File("x")), "--suffixes");
        Cli.AssertOneLineError(Cli.Run("tag", "train", "--data", run.TrainFile, "--hidden", "0", "--out", run.Dir.File("x")), "--hidden");
        Cli.AssertOneLineError(Cli.Run("tag", "train", "--data", run.TrainFile, "--out", run.Out), "--resume");
        Cli.AssertOneLineError(Cli.Run("tag", "train", "--data", run.TrainFile, "--pooling", "mean"), "--pooling");
        Cli.AssertOneLineError(Cli.Run("tag", "eval", "--model", run.Dir.File("missing.ckpt"), "--data", run.ValidFile), "missing.ckpt");
        Cli.AssertOneLineError(Cli.Run("tag", "predict", "--model", run.Out), "sentences to tag");
        Cli.AssertOneLineError(Cli.Run("tag", "eval", "--model", run.Out, "--data", run.ValidFile, "--column", "xpos"), "not one of the");
        Assert.Equal(2, Cli.Run("tag", "train").ExitCode);
    }
}
