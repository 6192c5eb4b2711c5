using System.Text.Json;

namespace Recurrent.Tests;

/// <summary>recurrent classify train|eval|predict as processes, on a small text data set and on numeric sequences.</summary>
public class ClassifyCliTests
{
    private static string Texts(TempDir dir)
    {
        // Two easy classes: words of a's and b's against words of x's and y's, long enough never to repeat.
        var rng = new Numerics.Rng(1);
        var lines = Enumerable.Range(0, 160).Select(i =>
        {
            string alphabet = i % 2 == 0 ? "ab" : "xy";
            var word = new string(Enumerable.Range(0, 10 + rng.NextInt(6)).Select(_ => alphabet[rng.NextInt(2)]).ToArray());
            return $"{word}\t{(i % 2 == 0 ? "ab" : "xy")}";
        });
        var path = dir.File("texts.tsv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void TrainEvalPredictOnTexts()
    {
        using var dir = new TempDir();
        string data = Texts(dir), run = dir.File("run");
        var train = Cli.Run("classify", "train", "--data", data, "--hidden", "8", "--embed", "4", "--epochs", "4", "--batch", "8", "--lr", "0.02", "--out", run);
        Assert.True(train.ExitCode == 0, train.Err);
        Assert.Contains("test: accuracy", train.Out);
        Assert.True(File.Exists(Path.Combine(run, "best.ckpt")) && File.Exists(Path.Combine(run, "loss.png")));

        var eval = Cli.Run("classify", "eval", "--model", run, "--data", data, "--part", "test", "--json", "--confusion", dir.File("cm.png"));
        Assert.True(eval.ExitCode == 0, eval.Err);
        var json = JsonDocument.Parse(eval.Out).RootElement;
        Assert.Equal(16, json.GetProperty("examples").GetInt32());            // 10% of 160, stratified
        Assert.True(json.GetProperty("accuracy").GetDouble() >= 0.9, eval.Out);
        Assert.True(new FileInfo(dir.File("cm.png")).Length > 1000);

        var predict = Cli.Run("classify", "predict", "--model", run, "abba", "xyyx", "--json", "--top", "1");
        Assert.True(predict.ExitCode == 0, predict.Err);
        var lines = predict.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("ab", lines[0].GetProperty("predictions")[0].GetProperty("label").GetString());
        Assert.Equal("xy", lines[1].GetProperty("predictions")[0].GetProperty("label").GetString());

        // A second run into the same folder is refused; --resume of a finished run keeps its epochs.
        Cli.AssertOneLineError(Cli.Run("classify", "train", "--data", data, "--out", run), "already holds a training run");
    }

    [Fact]
    public void TrainsOnNumericSequencesWithAGroupSplit()
    {
        using var dir = new TempDir();
        string root = Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "indoor-movement");
        var r = Cli.Run("classify", "train", "--sequences", Path.Combine(root, "dataset"), "--labels", Path.Combine(root, "dataset", "MovementAAL_target.csv"),
            "--pattern", "MovementAAL_RSS_{id}.csv", "--groups", Path.Combine(root, "groups", "MovementAAL_DatasetGroup.csv"), "--test-group", "3",
            "--hidden", "8", "--epochs", "2", "--batch", "16", "--out", dir.File("run"));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("104 test sequences", r.Out);    // environment 3 held out
        var predict = Cli.Run("classify", "predict", "--model", dir.File("run"), Path.Combine(root, "dataset", "MovementAAL_RSS_1.csv"));
        Assert.True(predict.ExitCode == 0, predict.Err);
        Assert.Matches(@"MovementAAL_RSS_1\.csv\t-?1 ", predict.Out);
    }

    [Fact]
    public void BadInputGetsOneLine()
    {
        using var dir = new TempDir();
        string data = Texts(dir);
        Cli.AssertOneLineError(Cli.Run("classify", "train", "--out", dir.File("x")), "--data", "--sequences");
        Cli.AssertOneLineError(Cli.Run("classify", "train", "--sequences", dir.Path, "--out", dir.File("x")), "--labels");
        Cli.AssertOneLineError(Cli.Run("classify", "train", "--data", data, "--split", "0.9,0.3", "--out", dir.File("x")), "--split");
        File.WriteAllText(dir.File("bad.tsv"), "only-one-field\n");
        Cli.AssertOneLineError(Cli.Run("classify", "train", "--data", dir.File("bad.tsv"), "--out", dir.File("x")), "bad.tsv:1");
        Cli.AssertOneLineError(Cli.Run("classify", "eval", "--model", dir.File("missing"), "--data", data), "missing");
    }
}
