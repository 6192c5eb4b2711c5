using System.Diagnostics;
using System.Text.Json;

namespace Recurrent.Tests;

/// <summary>Runs the real `recurrent` tool (Recurrent.Cli.dll beside the tests) as a process.</summary>
public static class Cli
{
    public sealed record Result(int ExitCode, string Out, string Err);

    public static Result Run(params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Recurrent.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) { process.Kill(true); throw new TimeoutException("recurrent " + string.Join(' ', args)); }
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A user error: non-zero exit, exactly one line on stderr that contains every expected fragment, no stack trace.</summary>
    public static void AssertOneLineError(Result r, params string[] fragments)
    {
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + r.Err);
        Assert.StartsWith("recurrent: error: ", lines[0]);
        Assert.DoesNotContain("   at ", r.Err);
        foreach (var f in fragments) Assert.Contains(f, lines[0]);
    }
}

/// <summary>One small model trained once, shared by the command tests.</summary>
public sealed class TrainedRun : IDisposable
{
    public TempDir Dir { get; } = new();
    public string Corpus => Dir.File("corpus.txt");
    public string Out => Dir.File("run");
    public Cli.Result Train { get; }

    public TrainedRun()
    {
        var text = string.Concat(Enumerable.Repeat("to be or not to be, that is the question. ", 40));
        File.WriteAllText(Corpus, text);
        Train = Cli.Run("train", "--data", Corpus, "--level", "char", "--cell", "gru", "--layers", "1", "--hidden", "32", "--embed", "16",
            "--batch", "8", "--bptt", "16", "--epochs", "3", "--lr", "0.01", "--threads", "1", "--seed", "7", "--out", Out);
    }

    public void Dispose() => Dir.Dispose();
}

public partial class CliTests(TrainedRun run) : IClassFixture<TrainedRun>
{
    [Fact]
    public void TrainWritesCheckpointsMetricsAndPlot()
    {
        Assert.True(run.Train.ExitCode == 0, run.Train.Err);
        foreach (var f in new[] { "best.ckpt", "latest.ckpt", "metrics.jsonl", "loss.png" })
            Assert.True(File.Exists(Path.Combine(run.Out, f)), f + " missing");
        var lines = File.ReadAllLines(Path.Combine(run.Out, "metrics.jsonl"));
        Assert.Equal(3, lines.Length);
        var first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.True(first.GetProperty("valid_loss").GetDouble() > 0);
        Assert.Contains("done:", run.Train.Out);
        // The checkpoint records how it was trained (the model card of `recurrent serve` shows it).
        var metadata = Recurrent.Training.Checkpoint.Load(Path.Combine(run.Out, "best.ckpt")).Metadata;
        Assert.StartsWith("recurrent train --data " + run.Corpus + " --level char --cell gru", metadata["command"]);
        Assert.Equal(Path.GetFullPath(run.Corpus), metadata["data"]);
        Assert.Equal("0.9", metadata["split"]);
    }

    [Fact]
    public void SampleIsDeterministicForASeed()
    {
        var a = Cli.Run("sample", "--model", run.Out, "--prime", "to be", "--length", "40", "--seed", "3", "--top-k", "5");
        var b = Cli.Run("sample", "--model", run.Out, "--prime", "to be", "--length", "40", "--seed", "3", "--top-k", "5");
        Assert.True(a.ExitCode == 0, a.Err);
        Assert.Equal(a.Out, b.Out);
        Assert.StartsWith("to be", a.Out);
        Assert.True(a.Out.TrimEnd('\n').Length == "to be".Length + 40, a.Out);
    }

    [Fact]
    public void EvalReportsPerplexityAndBitsPerCharacter()
    {
        var r = Cli.Run("eval", "--model", Path.Combine(run.Out, "best.ckpt"), "--data", run.Corpus, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        double nats = json.GetProperty("cross_entropy").GetDouble();
        Assert.Equal(Math.Exp(nats), json.GetProperty("perplexity").GetDouble(), 1e-9);
        Assert.Equal(nats / Math.Log(2), json.GetProperty("bits_per_token").GetDouble(), 1e-9);
        Assert.True(nats < Math.Log(14), $"a trained model should beat uniform guessing: {nats}");
    }

    [Fact]
    public void NextGivesRankedProbabilities()
    {
        var r = Cli.Run("next", "--model", run.Out, "to be or not to b", "--top", "3", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var candidates = JsonDocument.Parse(r.Out).RootElement.GetProperty("candidates").EnumerateArray().ToList();
        Assert.Equal(3, candidates.Count);
        var p = candidates.Select(c => c.GetProperty("probability").GetDouble()).ToList();
        Assert.Equal(p.OrderByDescending(x => x), p);
        Assert.True(p.Sum() <= 1 + 1e-6);
        var table = Cli.Run("next", "--model", run.Out, "to be");
        Assert.True(table.ExitCode == 0, table.Err);
        Assert.Contains("probability", table.Out);
    }

    [Fact]
    public void UserErrorsGiveOneLineAndNonZeroExit()
    {
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Dir.File("nope.txt"), "--out", run.Dir.File("x")), "nope.txt", "does not exist");
        File.WriteAllText(run.Dir.File("empty.txt"), "");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Dir.File("empty.txt"), "--out", run.Dir.File("x")), "empty.txt", "empty");
        File.WriteAllText(run.Dir.File("tiny.txt"), "abc");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Dir.File("tiny.txt"), "--out", run.Dir.File("x")), "validation text", "--split");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Corpus, "--batch", "1000", "--out", run.Dir.File("x")), "too few", "--batch");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Corpus, "--cell", "transformer"), "transformer");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Corpus, "--hidden", "0", "--out", run.Dir.File("x")), "--hidden");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Corpus, "--lr", "-1"), "--lr");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Corpus, "--out", run.Out), "--resume");
        Cli.AssertOneLineError(Cli.Run("train", "--data", run.Corpus, "--resume", "--out", run.Dir.File("fresh")), "latest.ckpt", "does not exist");
        Cli.AssertOneLineError(Cli.Run("sample", "--model", run.Out, "--prime", "Zebra"), "'Z'", "position 0");
        Cli.AssertOneLineError(Cli.Run("sample", "--model", run.Out, "--temperature", "-1"), "--temperature");
        Cli.AssertOneLineError(Cli.Run("sample", "--model", run.Dir.File("missing.ckpt")), "missing.ckpt");
        File.WriteAllText(run.Dir.File("junk.ckpt"), "definitely not a checkpoint");
        Cli.AssertOneLineError(Cli.Run("eval", "--model", run.Dir.File("junk.ckpt"), "--data", run.Corpus), "junk.ckpt");
        Cli.AssertOneLineError(Cli.Run("next", "--model", run.Out, "x", "--top", "0"), "--top");
        Cli.AssertOneLineError(Cli.Run("bogus-command"));
        Assert.Equal(2, Cli.Run("train").ExitCode);
    }

    [Fact]
    public void ResumeContinuesARun()
    {
        using var dir = new TempDir();
        string outDir = dir.File("r");
        var common = new[] { "--data", run.Corpus, "--level", "char", "--cell", "lstm", "--layers", "1", "--hidden", "16", "--embed", "8",
            "--batch", "8", "--bptt", "16", "--threads", "1", "--out", outDir, "--quiet" };
        Assert.Equal(0, Cli.Run(["train", .. common, "--epochs", "1"]).ExitCode);
        var resumed = Cli.Run(["train", .. common, "--epochs", "2", "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, "metrics.jsonl")).Length);
    }

    [Fact]
    public void DemoRunsWithNoInput()
    {
        using var dir = new TempDir();
        var r = Cli.Run("demo", "--minutes", "0.05", "--sentences", "400", "--out", dir.Path, "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("subject-verb agreement", r.Out);
        Assert.Contains("generated sentences", r.Out);
        Assert.True(File.Exists(Path.Combine(dir.Path, "run", "best.ckpt")));
    }
}

public class GradientsCliTests
{
    [Fact]
    public void GradientsWritesPlotsJsonAndTable()
    {
        using var dir = new TempDir();
        var r = Cli.Run("gradients", "--task", "adding", "--length", "10", "--steps", "5", "--hidden", "4", "--batch", "4",
            "--probe-batch", "4", "--threads", "1", "--out", dir.Path);
        Assert.True(r.ExitCode == 0, r.Err);
        string[] cells = ["rnn-tanh", "irnn", "lstm", "gru"];
        foreach (var f in cells.Select(c => $"heatmap-{c}.png").Concat(["decay.png", "loss.png", "gradients.json"]))
            Assert.True(File.Exists(Path.Combine(dir.Path, f)), f + " missing");
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp", SearchOption.AllDirectories));
        foreach (var c in cells) Assert.Contains(c, r.Out);
        Assert.Contains("baseline", r.Out);

        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "gradients.json"))).RootElement;
        Assert.Equal("adding", json.GetProperty("task").GetString());
        var lstm = json.GetProperty("cells").EnumerateArray().Single(c => c.GetProperty("cell").GetString() == "lstm");
        var runs = lstm.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);   // clipped (default --clip 1) and unclipped
        Assert.Equal(1.0, runs[0].GetProperty("clip").GetDouble());
        Assert.Equal(JsonValueKind.Null, runs[1].GetProperty("clip").ValueKind);
        Assert.Equal(5, runs[0].GetProperty("loss").GetArrayLength());
        var probes = runs[0].GetProperty("probes").EnumerateArray().ToList();
        Assert.Equal(6, probes.Count);   // before each of the 5 updates, and after the last
        Assert.Equal(5, probes[^1].GetProperty("step").GetInt32());
        Assert.All(probes, p => Assert.Equal(10, p.GetProperty("hidden_grad_norms").GetArrayLength()));
        Assert.True(probes[0].GetProperty("global_norm_after_clip").GetDouble() <= 1.0 + 1e-6);
    }

    [Fact]
    public void GradientsTrainsOnlyTheNamedCells()
    {
        using var dir = new TempDir();
        var r = Cli.Run("gradients", "--task", "first-token", "--length", "6", "--cells", "gru", "--steps", "3", "--hidden", "4",
            "--batch", "2", "--clip", "0", "--init-scale", "3", "--quiet", "--threads", "1", "--out", dir.Path);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal("", r.Out);
        Assert.True(File.Exists(Path.Combine(dir.Path, "heatmap-gru.png")));
        Assert.False(File.Exists(Path.Combine(dir.Path, "heatmap-lstm.png")));
        var cell = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "gradients.json"))).RootElement.GetProperty("cells")[0];
        Assert.Single(cell.GetProperty("runs").EnumerateArray());
    }

    [Fact]
    public void GradientsBadArgumentsGiveOneLine()
    {
        using var dir = new TempDir();
        string o = dir.File("g");
        Cli.AssertOneLineError(Cli.Run("gradients", "--length", "1", "--out", o), "--length");
        Cli.AssertOneLineError(Cli.Run("gradients", "--cells", "lstm,transformer", "--out", o), "--cells", "transformer");
        Cli.AssertOneLineError(Cli.Run("gradients", "--cells", "lstm,lstm", "--out", o), "--cells");
        Cli.AssertOneLineError(Cli.Run("gradients", "--steps", "0", "--out", o), "--steps");
        Cli.AssertOneLineError(Cli.Run("gradients", "--clip", "-1", "--out", o), "--clip");
        Cli.AssertOneLineError(Cli.Run("gradients", "--lr", "0", "--out", o), "--lr");
        Cli.AssertOneLineError(Cli.Run("gradients", "--init-scale", "0", "--out", o), "--init-scale");
        Cli.AssertOneLineError(Cli.Run("gradients", "--task", "sorting", "--out", o), "sorting");
        File.WriteAllText(dir.File("file"), "x");
        Cli.AssertOneLineError(Cli.Run("gradients", "--length", "5", "--steps", "1", "--out", dir.File("file")), "--out");
        Assert.False(Directory.Exists(o));
    }
}
