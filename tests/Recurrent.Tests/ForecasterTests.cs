using Recurrent.Applications;
using Recurrent.Data;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>The forecaster on the airline passengers series (144 months) and on small written series: learning, the time split, resume, units.</summary>
public sealed class ForecasterTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TimeSeries Airline() =>
        TimeSeriesCsv.Read(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "timeseries", "airline-passengers.csv"));

    /// <summary>One-step airline forecasts from a year of history, in log space over the seasonal naive forecast: the recipe of docs/applications/forecasting.md, smaller.</summary>
    private static readonly ForecastSetup OneStep = new()
    {
        Targets = ["Passengers"], Window = 12, Horizon = 1, Season = 12, Log = true, Residual = ForecastResidual.SeasonalNaive,
        TrainFraction = 0.65, ValidFraction = 0.15,
    };

    private static readonly SequenceModelConfig Small = new() { Cell = CellType.Lstm, HiddenSize = 8 };

    private static readonly TrainingOptions Quick = new() { Epochs = 12, Batch = 8, LearningRate = 5e-3f, Seed = 3 };

    /// <summary>
    /// Twelve epochs of an 8-unit LSTM on 82 training windows beat both baselines on the last 29
    /// months (1958-08 … 1960-12), which the naive forecast misses by 44.7 and the seasonal naive
    /// by 41.3 passengers (thousands) on average.
    /// </summary>
    [Fact]
    public void AFewEpochsOnAirlinePassengersBeatTheNaiveForecasts()
    {
        var series = Airline();
        var forecaster = Forecaster.Create(series, OneStep, Small, seed: 3);
        forecaster.Fit(series, Quick, _dir.File("run"));
        var report = forecaster.Evaluate(series).Reports[0];
        Assert.Equal(29, report.Count);
        Assert.Equal(44.724, report.Naive.Mae, 3);
        Assert.Equal(41.310, report.SeasonalNaive.Mae, 3);
        Assert.True(report.Model.Mae < 0.75 * report.SeasonalNaive.Mae, $"model MAE {report.Model.Mae:F2}, seasonal naive {report.SeasonalNaive.Mae:F2}");
        Assert.True(report.Model.Mae < 0.6 * report.Naive.Mae && report.Model.Rmse < report.Naive.Rmse, $"model MAE {report.Model.Mae:F2} RMSE {report.Model.Rmse:F2}, naive {report.Naive.Mae:F2} {report.Naive.Rmse:F2}");
    }

    /// <summary>
    /// The statistics and the training examples depend on the training rows alone: rescaling every
    /// value from the validation segment on changes neither, and rescaling the test segment does
    /// not change the trained weights (validation picks the best epoch, so it may use validation
    /// targets, but nothing later). The same change one row earlier (the last training row) does
    /// change them, so the test would catch a split or a normaliser that looked past its segment.
    /// </summary>
    [Fact]
    public void NoLaterTargetReachesTrainingOrNormalisation()
    {
        var series = Airline();
        var (trainEnd, validEnd) = OneStep.Boundaries(series);
        Assert.Equal((94, 115), (trainEnd, validEnd));
        var reference = Forecaster.Create(series, OneStep, Small);

        var laterChanged = Forecaster.Create(Rescaled(series, trainEnd), OneStep, Small);
        AssertSameStatistics(reference, laterChanged, same: true);
        AssertSameExamples(reference.Examples(series, ForecastSegment.Train), laterChanged.Examples(Rescaled(series, trainEnd), ForecastSegment.Train), same: true);

        var lastTrainingRowChanged = Forecaster.Create(Rescaled(series, trainEnd - 1), OneStep, Small);
        AssertSameStatistics(reference, lastTrainingRowChanged, same: false);
        AssertSameExamples(reference.Examples(series, ForecastSegment.Train), lastTrainingRowChanged.Examples(Rescaled(series, trainEnd - 1), ForecastSegment.Train), same: false);

        var options = Quick with { Epochs = 3 };
        reference.Fit(series, options, _dir.File("a"));
        var testChanged = Forecaster.Create(Rescaled(series, validEnd), OneStep, Small);
        testChanged.Fit(Rescaled(series, validEnd), options, _dir.File("b"));
        foreach (var ((name, a), (_, b)) in reference.Model.NamedParameters.Zip(testChanged.Model.NamedParameters))
            Assert.True(a.Value.Span.SequenceEqual(b.Value.Span), $"{name} depends on the test segment");
    }

    private static TimeSeries Rescaled(TimeSeries series, int fromRow)
    {
        var values = series.Values.ToArray();
        for (int i = fromRow * series.ColumnCount; i < values.Length; i++) values[i] = values[i] * 3 + 100;
        return new TimeSeries(series.Dates, series.Columns, values);
    }

    private static void AssertSameStatistics(Forecaster a, Forecaster b, bool same)
    {
        var buffers = a.Model.NamedBuffers.Zip(b.Model.NamedBuffers).Select(p => p.First.Buffer.Span.SequenceEqual(p.Second.Buffer.Span)).ToList();
        if (same) Assert.All(buffers, Assert.True);
        else Assert.Contains(false, buffers);
    }

    private static void AssertSameExamples(IReadOnlyList<SequenceExample> a, IReadOnlyList<SequenceExample> b, bool same)
    {
        Assert.Equal(a.Count, b.Count);
        bool equal = a.Zip(b).All(p => p.First.Features!.SequenceEqual(p.Second.Features!) && p.First.Target!.SequenceEqual(p.Second.Target!));
        Assert.Equal(same, equal);
    }

    [Fact]
    public void ResumeIsBitIdenticalAndTheCheckpointKeepsTheSetup()
    {
        var series = Airline();
        var options = Quick with { Epochs = 4, EvalEvery = 5 };
        var straight = Forecaster.Create(series, OneStep, Small with { Dropout = 0.1f }, seed: 5);
        straight.Fit(series, options, _dir.File("a"));

        var interrupted = Forecaster.Create(series, OneStep, Small with { Dropout = 0.1f }, seed: 5);
        using var cancel = new CancellationTokenSource();
        interrupted.Fit(series, options, _dir.File("b"), r => { if (r.Step == 15) cancel.Cancel(); }, cancel.Token);   // step 15 evaluates anyway
        string latest = Path.Combine(_dir.File("b"), Trainer.LatestFile);
        var resumed = Forecaster.Load(latest, out var checkpoint);
        Assert.Equal(15, checkpoint.Progress.Step);
        Assert.Equal(OneStep.Targets, resumed.Setup.Targets);
        Assert.Equal(OneStep, resumed.Setup with { Targets = OneStep.Targets });
        Assert.Equal(["Passengers"], resumed.InputColumns);
        Assert.Equal(TimeStep.OfMonths(1), resumed.Step);
        resumed.Resume(checkpoint, latest, series, options, _dir.File("b"));

        Assert.Equal(ValidLosses(_dir.File("a")), ValidLosses(_dir.File("b")));
        foreach (var ((name, a), (_, b)) in straight.Model.NamedParameters.Zip(resumed.Model.NamedParameters))
            Assert.True(a.Value.Span.SequenceEqual(b.Value.Span), $"{name} differs after resume");
        Assert.Equal(straight.Forecast(series).Values, resumed.Forecast(series).Values);
        var reloaded = Forecaster.Load(Path.Combine(_dir.File("a"), Trainer.BestFile));
        Assert.Equal(straight.Forecast(series).Values, reloaded.Forecast(series).Values);
    }

    private static List<double> ValidLosses(string run) => File.ReadLines(Path.Combine(run, Trainer.MetricsFile))
        .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("valid_loss").GetDouble()).ToList();

    /// <summary>
    /// The network's targets are standardised with target_norm; Denormalize maps them back to the
    /// values of the series (two targets, three steps ahead: six outputs, each with its own statistics).
    /// </summary>
    [Fact]
    public void DenormalizeTurnsTheNetworksTargetsBackIntoDataUnits()
    {
        var series = Written(60, r => (10 + r + 3 * MathF.Sin(r), 500 - 2 * r));
        var setup = new ForecastSetup { Targets = ["a", "b"], Window = 5, Horizon = 3, TrainFraction = 0.6, ValidFraction = 0.2 };
        var forecaster = Forecaster.Create(series, setup, Small);
        Assert.Equal(6, forecaster.Model.Config.OutputSize);
        Assert.Equal(LossKind.Mse, forecaster.Model.Config.Loss);
        Assert.Equal(Pooling.Last, forecaster.Model.Config.Pooling);
        var examples = forecaster.Examples(series, ForecastSegment.Train);
        Assert.Equal(36 - 5 - 3 + 1, examples.Count);
        double sum = 0;
        for (int w = 0; w < examples.Count; w++)
        {
            var values = examples[w].Target!.ToArray();
            sum += values.Sum(v => (double)v);
            forecaster.Model.Denormalize(values);
            for (int k = 0; k < 3; k++)
                for (int j = 0; j < 2; j++) Assert.Equal(series[w + 5 + k, j], values[k * 2 + j], 1e-4f * Math.Abs(series[w + 5 + k, j]));
        }
        Assert.True(Math.Abs(sum / (examples.Count * 6)) < 1e-5, "standardised training targets have mean 0");
    }

    /// <summary>
    /// A missing target that the reader filled in is read as an input but neither trained on nor
    /// scored; dates of a forecast continue the series' step (here one day).
    /// </summary>
    [Fact]
    public void FilledTargetsAreNeitherTrainedOnNorScored()
    {
        string path = _dir.File("gaps.csv");
        var lines = Enumerable.Range(0, 40).Select(r => $"{new DateTime(2020, 1, 1).AddDays(r):yyyy-MM-dd},{(r is 10 or 35 ? "NA" : (r % 7).ToString())},{r}");
        File.WriteAllLines(path, ["day,y,x", .. lines]);
        var series = TimeSeriesCsv.Read(path, new TimeSeriesFormat { MissingValues = MissingValues.FillForward });
        Assert.True(series.IsFilled(10, 0) && series.IsFilled(35, 0) && !series.IsFilled(11, 0));
        var setup = new ForecastSetup { Targets = ["y"], Window = 4, Horizon = 2, Season = 7, TrainFraction = 0.6, ValidFraction = 0.1 };
        var forecaster = Forecaster.Create(series, setup, Small);
        var train = forecaster.Examples(series, ForecastSegment.Train);
        // Window w predicts rows w + 4 and w + 5: row 10 is the second target of window 5 and the first of window 6.
        Assert.True(float.IsNaN(train[5].Target![1]) && float.IsNaN(train[6].Target![0]));
        Assert.Equal(2, train.Sum(e => e.Target!.Count(float.IsNaN)));
        forecaster.Fit(series, Quick with { Epochs = 1 }, _dir.File("run"));
        var test = forecaster.Evaluate(series);
        // Test rows 28 … 39 (12 rows): windows 24 … 34 (11 windows × 2 steps), less the two forecasts of row 35.
        Assert.Equal(11, test.Windows.Count);
        Assert.Equal(20, test.Reports[0].Count);
        var forecast = forecaster.Forecast(series);
        Assert.Equal([new DateTime(2020, 2, 10), new DateTime(2020, 2, 11)], forecast.Dates);
    }

    [Fact]
    public void OneHotCategoriesMissingFromANewFileReadAsZeros()
    {
        string train = _dir.File("wind.csv"), later = _dir.File("later.csv");
        string[] winds = ["NW", "SE", "cv"];
        File.WriteAllLines(train, ["hour,pm,wind", .. Enumerable.Range(0, 48).Select(r => $"{new DateTime(2020, 1, 1).AddHours(r):yyyy-MM-dd HH:mm:ss},{r % 5},{winds[r % 3]}")]);
        File.WriteAllLines(later, ["hour,pm,wind", .. Enumerable.Range(0, 6).Select(r => $"{new DateTime(2021, 1, 1).AddHours(r):yyyy-MM-dd HH:mm:ss},{r},NW")]);
        var format = new TimeSeriesFormat { OneHotColumns = ["wind"] };
        var series = TimeSeriesCsv.Read(train, format);
        var forecaster = Forecaster.Create(series, new ForecastSetup { Targets = ["pm"], Window = 6, Season = 24, TrainFraction = 0.5, ValidFraction = 0.25 }, Small);
        Assert.Equal(["pm", "wind=NW", "wind=SE", "wind=cv"], forecaster.InputColumns);
        var forecast = forecaster.Forecast(TimeSeriesCsv.Read(later, format));
        Assert.Equal(new DateTime(2021, 1, 1, 6, 0, 0), forecast.Dates[0]);
        Assert.True(float.IsFinite(forecast.Values[0]));
        var error = Assert.Throws<ArgumentException>(() => forecaster.Forecast(Written(10, r => (r, r))));
        Assert.Contains("no column 'pm'", error.Message);
    }

    [Fact]
    public void SetupErrorsNameTheField()
    {
        var series = Written(30, r => (r, r));
        Assert.Contains("No column 'c'", Assert.Throws<ArgumentException>(() => Forecaster.Create(series, new ForecastSetup { Targets = ["c"] }, Small)).Message);
        Assert.Equal("Horizon", Assert.Throws<ArgumentOutOfRangeException>(() => Forecaster.Create(series, new ForecastSetup { Targets = ["a"], Horizon = 0 }, Small)).ParamName);
        Assert.Contains("too short", Assert.Throws<ArgumentException>(() => Forecaster.Create(series, new ForecastSetup { Targets = ["a"], Window = 20, TrainFraction = 0.5, ValidFraction = 0.3 }, Small)).Message);
        Assert.Contains("positive values", Assert.Throws<ArgumentException>(() => Forecaster.Create(series, new ForecastSetup { Targets = ["a"], Window = 3, Log = true }, Small)).Message);
    }

    [Theory]
    [InlineData(new[] { "1949-01-01", "1949-02-01", "1949-03-01" }, "1 month", "1949-04-01")]
    [InlineData(new[] { "2000-01-01", "2000-04-01", "2000-07-01" }, "3 months", "2000-10-01")]
    [InlineData(new[] { "1988-02-27", "1988-02-28", "1988-03-01", "1988-03-02" }, "1.00:00:00", "1988-03-03")]
    [InlineData(new[] { "2014-12-31 22:00:00", "2014-12-31 23:00:00" }, "01:00:00", "2015-01-01 00:00:00")]
    public void TimeStepIsInferredFromTheDatesAndRoundTrips(string[] dates, string step, string next)
    {
        var parsed = dates.Select(d => DateTime.Parse(d, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var inferred = TimeStep.Infer(parsed);
        Assert.Equal(step, inferred.ToString());
        Assert.Equal(inferred, TimeStep.Parse(step));
        Assert.Equal(DateTime.Parse(next, System.Globalization.CultureInfo.InvariantCulture), inferred.After(parsed[^1]));
    }

    /// <summary>A daily series of two columns a and b from <paramref name="value"/>(row).</summary>
    private static TimeSeries Written(int rows, Func<int, (float A, float B)> value)
    {
        var dates = Enumerable.Range(0, rows).Select(r => new DateTime(2000, 1, 1).AddDays(r)).ToArray();
        var values = Enumerable.Range(0, rows).SelectMany(r => new[] { value(r).A, value(r).B }).ToArray();
        return new TimeSeries(dates, ["a", "b"], values);
    }
}
