using System.Text.Json;

namespace Recurrent.Tests;

/// <summary>A small forecaster of airline passengers (3 months ahead from 2 years) trained once through the CLI, shared by the command tests.</summary>
public sealed class TrainedForecaster : IDisposable
{
    public TempDir Dir { get; } = new();
    public string Data { get; } = Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "timeseries", "airline-passengers.csv");
    public string Out => Dir.File("run");
    public Cli.Result Train { get; }

    public TrainedForecaster()
    {
        Train = Cli.Run("forecast", "train", "--data", Data, "--target", "Passengers", "--window", "24", "--horizon", "3", "--season", "12", "--split", "0.65,0.15",
            "--log", "--residual", "seasonal", "--hidden", "8", "--batch", "8", "--epochs", "3", "--lr", "0.005", "--threads", "1", "--seed", "2", "--out", Out);
    }

    public void Dispose() => Dir.Dispose();
}

public class ForecastCliTests(TrainedForecaster run) : IClassFixture<TrainedForecaster>
{
    [Fact]
    public void TrainWritesCheckpointsAndScoresTheTestSegment()
    {
        Assert.True(run.Train.ExitCode == 0, run.Train.Err);
        foreach (var f in new[] { "best.ckpt", "latest.ckpt", "metrics.jsonl", "loss.png" })
            Assert.True(File.Exists(Path.Combine(run.Out, f)), f + " missing");
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run.Out, "metrics.jsonl")).Length);
        Assert.Contains("T = 24 → h = 3 of Passengers, season 12, log, residual seasonal naive", run.Train.Out);
        Assert.Contains("Passengers (test, 81 values)", run.Train.Out);   // 27 windows × 3 months
        Assert.Contains("seasonal naive (m = 12)", run.Train.Out);
    }

    [Fact]
    public void EvalPrintsJsonBesideTheBaselinesAndPlots()
    {
        string png = run.Dir.File("forecast.png");
        var r = Cli.Run("forecast", "eval", "--model", run.Out, "--json", "--plot", png);
        Assert.True(r.ExitCode == 0, r.Err);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal("test", json.GetProperty("segment").GetString());
        Assert.Equal(27, json.GetProperty("windows").GetInt32());
        var target = json.GetProperty("targets")[0];
        Assert.Equal("Passengers", target.GetProperty("target").GetString());
        // The baselines on these windows, computed independently (numpy): naive MAE 69.630, seasonal naive 42.420.
        Assert.Equal(69.630, target.GetProperty("naive").GetProperty("mae").GetDouble(), 3);
        Assert.Equal(42.420, target.GetProperty("seasonal_naive").GetProperty("mae").GetDouble(), 3);
        Assert.True(target.GetProperty("model").GetProperty("rmse").GetDouble() > 0);
        var bytes = File.ReadAllBytes(png);
        Assert.True(bytes.Length > 10_000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', "a PNG");

        var valid = Cli.Run("forecast", "eval", "--model", Path.Combine(run.Out, "best.ckpt"), "--segment", "valid");
        Assert.True(valid.ExitCode == 0, valid.Err);
        Assert.Contains("Passengers (valid,", valid.Out);
    }

    [Fact]
    public void PredictPrintsTheNextValuesWithTheirDates()
    {
        var r = Cli.Run("forecast", "predict", "--model", run.Out);
        Assert.True(r.ExitCode == 0, r.Err);
        var lines = r.Out.TrimEnd('\n').Split('\n');
        Assert.Equal(["date\tPassengers", "1961-01", "1961-02", "1961-03"], lines.Select(l => l.Split('\t')[0] == "date" ? l : l.Split('\t')[0]));
        var json = JsonDocument.Parse(Cli.Run("forecast", "predict", "--model", run.Out, "--data", run.Data, "--json").Out).RootElement;
        Assert.Equal("1 month", json.GetProperty("step").GetString());
        var steps = json.GetProperty("forecast").EnumerateArray().ToList();
        Assert.Equal(3, steps.Count);
        Assert.Equal("1961-03", steps[2].GetProperty("date").GetString());
        // Airline passengers in early 1961: a few hundred thousand a month.
        Assert.All(steps, s => Assert.InRange(s.GetProperty("values")[0].GetDouble(), 300, 700));
    }

    [Fact]
    public void ResumeContinuesTheRun()
    {
        string dir = run.Dir.File("resumed");
        string[] args = ["forecast", "train", "--data", run.Data, "--target", "Passengers", "--window", "12", "--season", "12", "--hidden", "4", "--batch", "16", "--threads", "1", "--out", dir, "-q"];
        Assert.Equal(0, Cli.Run([.. args, "--epochs", "1"]).ExitCode);
        Cli.AssertOneLineError(Cli.Run([.. args, "--epochs", "2"]), "already holds a training run", "--resume");
        var resumed = Cli.Run([.. args, "--epochs", "2", "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Err);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length);
    }

    [Fact]
    public void UserErrorsGiveOneLineAndNonZeroExit()
    {
        string[] train = ["forecast", "train", "--data", run.Data, "--threads", "1", "--epochs", "1", "-q"];
        Cli.AssertOneLineError(Cli.Run([.. train, "--target", "Passangers", "--out", run.Dir.File("e1")]), "No column 'Passangers'", "the columns are Passengers");
        Cli.AssertOneLineError(Cli.Run([.. train, "--target", "Passengers", "--split", "0.9,0.2", "--out", run.Dir.File("e2")]), "--split", "0.9,0.2");
        Cli.AssertOneLineError(Cli.Run([.. train, "--target", "Passengers", "--window", "0", "--out", run.Dir.File("e3")]), "--window", "1..100000");
        Cli.AssertOneLineError(Cli.Run([.. train, "--target", "Passengers", "--window", "200", "--out", run.Dir.File("e4")]), "too few", "200");
        string gaps = run.Dir.File("gaps.csv");
        File.WriteAllText(gaps, "Month,Passengers\n1949-01,112\n1949-02,NA\n1949-03,132\n");
        Cli.AssertOneLineError(Cli.Run(["forecast", "train", "--data", gaps, "--target", "Passengers", "--out", run.Dir.File("e5")]), "gaps.csv:3", "missing value", "--missing fill-forward");
        Cli.AssertOneLineError(Cli.Run("forecast", "eval", "--model", run.Dir.File("nope")), "nope", "does not exist");
        Cli.AssertOneLineError(Cli.Run("forecast", "predict", "--model", run.Out, "--data", gaps), "gaps.csv:3");
        string shortFile = run.Dir.File("short.csv");
        File.WriteAllText(shortFile, "Month,Passengers\n1960-11,390\n1960-12,432\n");
        Cli.AssertOneLineError(Cli.Run("forecast", "predict", "--model", run.Out, "--data", shortFile), "2 rows", "last 24");
    }
}
