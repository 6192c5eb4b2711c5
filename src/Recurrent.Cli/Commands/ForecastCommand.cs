using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Recurrent.Applications;
using Recurrent.Data;
using Recurrent.Evaluation;
using Recurrent.Models;
using Recurrent.Training;
using Spectre.Console;

namespace Recurrent.Cli.Commands;

/// <summary>
/// <c>recurrent forecast train|eval|predict</c>: time-series forecasting from a CSV file (a date
/// column or year/month/day/hour columns, numeric and one-hot value columns): windows of T rows
/// → the next h rows of the target columns, split by time, scored against the naive and
/// seasonal-naive forecasts.
/// </summary>
public static class ForecastCommand
{
    public static Command Create()
    {
        var command = new Command("forecast", "Time-series forecasting: a window of T rows → the next h values of target columns (train, eval, predict).");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(Eval());
        command.Subcommands.Add(Predict());
        return command;
    }

    /// <summary>How the CSV file was read, kept in the checkpoint's notes so eval and predict read new files the same way.</summary>
    private sealed record CsvNotes(string[]? Date, string[]? Values, string[] OneHot, string Missing)
    {
        public TimeSeriesFormat Format => new() { DateColumns = Date, ValueColumns = Values, OneHotColumns = OneHot, MissingValues = ParseMissing(Missing) };
    }

    private const string CsvKey = "csv";
    private const string DataKey = "data";

    private static Command Train()
    {
        var data = new Option<string>("--data") { Description = "CSV file with a header line: a date column (or year, month[, day[, hour]] columns) and value columns.", Required = true };
        var target = new Option<string>("--target") { Description = "The column(s) to forecast, comma-separated.", Required = true };
        var inputs = new Option<string?>("--inputs") { Description = "The numeric columns the model reads, comma-separated (default: every column but the date; one-hot columns are always read)." };
        var date = new Option<string?>("--date") { Description = "The date column, or year,month[,day[,hour]] columns (default: year/month/day/hour if present, else the first column)." };
        var oneHot = new Option<string?>("--one-hot") { Description = "Categorical columns to one-hot encode as inputs, comma-separated (e.g. a wind direction)." };
        var missing = new Option<string>("--missing") { Description = "Missing values (empty, NA, NaN): an error, filled forward, interpolated, or their rows dropped. Filled target values are never trained on or scored.", DefaultValueFactory = _ => "error" };
        missing.AcceptOnlyFromAmong("error", "fill-forward", "interpolate", "drop");
        var window = new Option<int>("--window") { Description = "T: rows each forecast reads.", DefaultValueFactory = _ => 24 };
        var horizon = new Option<int>("--horizon") { Description = "h: rows forecast after the window.", DefaultValueFactory = _ => 1 };
        var season = new Option<int>("--season") { Description = "m: the seasonal period in rows, for the seasonal-naive baseline (1: none).", DefaultValueFactory = _ => 1 };
        var split = new Option<string>("--split") { Description = "Train and validation fractions of the rows, in time order (the rest is test), or the dates where validation and test start: 0.7,0.15 or 2013-01-01,2014-01-01.", DefaultValueFactory = _ => "0.7,0.15" };
        var residual = new Option<string>("--residual") { Description = "The network predicts the target itself, or its difference from the naive or the seasonal-naive forecast.", DefaultValueFactory = _ => "none" };
        residual.AcceptOnlyFromAmong("none", "naive", "seasonal");
        var log = new Option<bool>("--log") { Description = "Model log(target): for a positive series that grows multiplicatively." };
        var loss = new Option<string>("--loss") { Description = "Regression loss.", DefaultValueFactory = _ => "mse" };
        loss.AcceptOnlyFromAmong("mse", "mae", "huber");
        var delta = new Option<float>("--huber-delta") { Description = "Huber loss: where it turns from quadratic to linear (in standardised units).", DefaultValueFactory = _ => 1f };
        var shape = new ModelOptionSet(layers: 1, hidden: 32, embed: 0, sequenceTask: true, pooling: "last");
        var training = new TrainingOptionSet("Windows per batch.", batch: 32, epochs: 20, lr: 2e-3f, evalBatch: 256);
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory: best.ckpt, latest.ckpt, metrics.jsonl, loss.png.", DefaultValueFactory = _ => "run" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out/latest.ckpt (bit-identical at the same thread count)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output." };
        var command = new Command("train", "Train a forecaster; prints MAE, RMSE and MASE on the test segment beside the naive and seasonal-naive forecasts.")
            { data, target, inputs, date, oneHot, missing, window, horizon, season, split, residual, log, loss, delta, outDir, resume, quiet };
        shape.AddTo(command);
        training.AddTo(command);
        command.SetAction((r, cancel) => Task.FromResult(CliErrors.Run(() =>
        {
            var options = training.Read(r);
            string dir = r.GetValue(outDir)!;
            bool isQuiet = r.GetValue(quiet), isResume = r.GetValue(resume);
            string latest = Path.Combine(dir, Trainer.LatestFile);
            if (!isResume && File.Exists(latest)) throw new IOException($"'{dir}' already holds a training run; use --resume to continue it or choose another --out.");
            if (isResume && !File.Exists(latest)) throw new FileNotFoundException($"--resume: '{latest}' does not exist (train into --out first).");
            string path = r.GetValue(data)!;
            Forecaster forecaster;
            TimeSeries series;
            if (isResume)
            {
                forecaster = Forecaster.Load(latest, out _);
                series = Read(path, forecaster, isQuiet);
            }
            else
            {
                var targets = List(r.GetValue(target))!;
                var inputColumns = List(r.GetValue(inputs));
                var oneHotColumns = List(r.GetValue(oneHot)) ?? [];
                var csv = new CsvNotes(List(r.GetValue(date)), inputColumns?.Union(targets).ToArray(), oneHotColumns, r.GetValue(missing)!);
                series = Read(path, csv.Format, isQuiet);
                var setup = ParseSplit(r.GetValue(split)!, new ForecastSetup
                {
                    Targets = targets,
                    // With --inputs: those columns and every one-hot column, in the series' order.
                    Inputs = inputColumns is null ? null : series.Columns.Where(c => inputColumns.Contains(c) || oneHotColumns.Any(o => c.StartsWith(o + "=", StringComparison.Ordinal))).ToArray(),
                    Window = r.GetValue(window), Horizon = r.GetValue(horizon), Season = r.GetValue(season), Log = r.GetValue(log),
                    Residual = r.GetValue(residual) switch { "naive" => ForecastResidual.Naive, "seasonal" => ForecastResidual.SeasonalNaive, _ => ForecastResidual.None },
                });
                var config = shape.Read(r) with
                {
                    Loss = r.GetValue(loss) switch { "mae" => LossKind.Mae, "huber" => LossKind.Huber, _ => LossKind.Mse },
                    HuberDelta = r.GetValue(delta),
                };
                ModelOptionSet.Validate(config with { FeatureSize = 1, OutputSize = 1, Loss = LossKind.Mse });
                forecaster = Forecaster.Create(series, Named(setup), config, options.Seed);
                forecaster.Notes[CsvKey] = JsonSerializer.Serialize(csv);
                forecaster.Notes[DataKey] = Path.GetFullPath(path);
            }
            if (!isQuiet)
            {
                var c = forecaster.Model.Config;
                var s = forecaster.Setup;
                Console.WriteLine($"{(isResume ? "resuming" : "training")} {c.Cell} {c.Layers}x{c.HiddenSize} ({forecaster.Model.ParameterCount:N0} parameters): " +
                    $"{forecaster.InputColumns.Count} input column(s), T = {s.Window} → h = {s.Horizon} of {string.Join(", ", s.Targets)}, season {s.Season}, " +
                    $"{(s.Log ? "log, " : "")}residual {Residual(s.Residual)}, loss {c.Loss.ToString().ToLowerInvariant()}; " +
                    $"{forecaster.WindowCount(series, ForecastSegment.Train)} training / {forecaster.WindowCount(series, ForecastSegment.Valid)} validation windows; output in {dir}");
            }
            var summary = TrainingView.Show((report, token) => isResume
                ? forecaster.Resume(Checkpoint.Load(latest), latest, series, options, dir, report, token)
                : forecaster.Fit(series, options, dir, report, token), isQuiet, "value", cancel, () => LossPlot.Write(dir));
            if (!isQuiet)
            {
                Console.WriteLine($"done: {summary.Steps} steps{(summary.StoppedEarly ? " (stopped early)" : "")}, {summary.Elapsed:hh\\:mm\\:ss}; best model {summary.BestCheckpoint}");
                if (forecaster.WindowCount(series, ForecastSegment.Test) > 0) PrintTable(forecaster.Evaluate(series), "test");
            }
            return CliErrors.Interrupted(cancel, summary, dir);
        })));
        return command;
    }

    private static Command Eval()
    {
        var model = CommonOptions.Model();
        var data = new Option<string?>("--data") { Description = "The CSV file to score (default: the file the model was trained on), read as in training." };
        var segment = new Option<string>("--segment") { Description = "Which segment of the time split to score.", DefaultValueFactory = _ => "test" };
        segment.AcceptOnlyFromAmong("train", "valid", "test");
        var json = new Option<bool>("--json") { Description = "Print the scores as JSON." };
        var plot = new Option<string?>("--plot") { Description = "Write a forecast-vs-actual PNG to this file." };
        var plotLast = new Option<int>("--plot-last") { Description = "--plot: show the last this many rows of the segment (0: all).", DefaultValueFactory = _ => 600 };
        var command = new Command("eval", "Score a forecaster: MAE, RMSE and MASE of the model, the naive and the seasonal-naive forecast, in data units.") { model, data, segment, json, plot, plotLast };
        command.SetAction(r => CliErrors.Run(() =>
        {
            var forecaster = Forecaster.Load(ModelFiles.Resolve(r.GetValue(model)!));
            var series = Read(r.GetValue(data) ?? DataPath(forecaster), forecaster, quiet: r.GetValue(json));
            var which = r.GetValue(segment) switch { "train" => ForecastSegment.Train, "valid" => ForecastSegment.Valid, _ => ForecastSegment.Test };
            var evaluation = forecaster.Evaluate(series, which);
            if (r.GetValue(plot) is { } png) Plot(forecaster, series, evaluation, which, r.GetValue(plotLast), png);
            if (r.GetValue(json)) PrintJson(forecaster, evaluation, which);
            else PrintTable(evaluation, which.ToString().ToLowerInvariant());
            return 0;
        }));
        return command;
    }

    private static Command Predict()
    {
        var model = CommonOptions.Model();
        var data = new Option<string?>("--data") { Description = "The CSV file whose end to forecast from (default: the file the model was trained on), read as in training." };
        var json = new Option<bool>("--json") { Description = "Print the forecast as JSON." };
        var command = new Command("predict", "Forecast the next h values after the end of a series, with their dates.") { model, data, json };
        command.SetAction(r => CliErrors.Run(() =>
        {
            var forecaster = Forecaster.Load(ModelFiles.Resolve(r.GetValue(model)!));
            var series = Read(r.GetValue(data) ?? DataPath(forecaster), forecaster, quiet: r.GetValue(json));
            var forecast = forecaster.Forecast(series);
            var step = forecaster.Step;
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    targets = forecast.Targets,
                    step = step.ToString(),
                    forecast = forecast.Dates.Select((d, k) => new { date = step.Format(d), values = forecast.Targets.Select((_, j) => forecast[k, j]) }),
                }));
                return 0;
            }
            Console.WriteLine("date\t" + string.Join("\t", forecast.Targets));
            for (int k = 0; k < forecast.Dates.Length; k++)
                Console.WriteLine(step.Format(forecast.Dates[k]) + "\t" + string.Join("\t", forecast.Targets.Select((_, j) => forecast[k, j].ToString("G6", CultureInfo.InvariantCulture))));
            return 0;
        }));
        return command;
    }

    private static TimeSeries Read(string path, Forecaster forecaster, bool quiet)
    {
        if (!forecaster.Notes.TryGetValue(CsvKey, out var csv))
            throw new ArgumentException("This forecaster was not trained from the command line: its checkpoint does not say how to read a CSV file.");
        var notes = JsonSerializer.Deserialize<CsvNotes>(csv) ?? throw new CheckpointException("The checkpoint's CSV notes are empty.");
        return Read(path, notes.Format, quiet);
    }

    private static TimeSeries Read(string path, TimeSeriesFormat format, bool quiet)
    {
        TimeSeries series;
        try { series = TimeSeriesCsv.Read(path, format); }
        catch (DataFormatException e) when (e.Message.Contains("set MissingValues to", StringComparison.Ordinal))
        {
            throw new FormatException(e.Message[..e.Message.IndexOf("set MissingValues to", StringComparison.Ordinal)] + "use --missing fill-forward, interpolate or drop to accept missing values.", e);
        }
        if (!quiet) foreach (var w in series.Warnings) Console.WriteLine("note: " + w);
        return series;
    }

    private static string DataPath(Forecaster forecaster) => forecaster.Notes.TryGetValue(DataKey, out var p) ? p
        : throw new ArgumentException("Give --data: the checkpoint does not name the file it was trained on.");

    private static void PrintTable(ForecastEvaluation evaluation, string segment)
    {
        for (int j = 0; j < evaluation.Targets.Count; j++)
        {
            var report = evaluation.Reports[j];
            var table = new Table().AddColumn($"{Markup.Escape(evaluation.Targets[j])} ({segment}, {report.Count} values)")
                .AddColumn(new TableColumn("MAE").RightAligned()).AddColumn(new TableColumn("RMSE").RightAligned()).AddColumn(new TableColumn("MASE").RightAligned());
            foreach (var s in new[] { report.Model, report.Naive, report.SeasonalNaive })
                table.AddRow(Markup.Escape(s.Name), F(s.Mae), F(s.Rmse), F(s.Mase));
            AnsiConsole.Write(table);
        }
    }

    private static void PrintJson(Forecaster forecaster, ForecastEvaluation evaluation, ForecastSegment segment)
    {
        static object Score(ForecastScore s) => new { mae = s.Mae, rmse = s.Rmse, mase = s.Mase };
        var s = forecaster.Setup;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            segment = segment.ToString().ToLowerInvariant(),
            window = s.Window, horizon = s.Horizon, season = s.Season,
            windows = evaluation.Windows.Count,
            targets = evaluation.Targets.Select((t, j) => new
            {
                target = t,
                values = evaluation.Reports[j].Count,
                model = Score(evaluation.Reports[j].Model),
                naive = Score(evaluation.Reports[j].Naive),
                seasonal_naive = Score(evaluation.Reports[j].SeasonalNaive),
            }),
        }, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
    }

    /// <summary>
    /// Actual values of the segment's last rows and the model's forecasts: every window's for h = 1;
    /// for h &gt; 1 those of windows h rows apart, each drawn as its own piece, so every row is forecast once.
    /// </summary>
    private static void Plot(Forecaster forecaster, TimeSeries series, ForecastEvaluation evaluation, ForecastSegment segment, int last, string path)
    {
        if (last < 0) throw new ArgumentException($"--plot-last is {last}; it must be 0 (all) or more.");
        var windows = evaluation.Windows;
        int h = forecaster.Setup.Horizon, J = evaluation.Targets.Count;
        int firstRow = windows[0].Origin + 1, lastRow = windows[^1].Origin + h;
        if (last > 0) firstRow = Math.Max(firstRow, lastRow - last + 1);
        // Windows h apart, counted back from the last one so that the end of the segment is covered.
        var shown = windows.Where(w => (windows[^1].Origin - w.Origin) % h == 0 && w.Origin + 1 >= firstRow).ToList();
        string part = firstRow > windows[0].Origin + 1 ? $", its last {lastRow - firstRow + 1} rows" : "";
        var chart = new LineChart($"{string.Join(", ", evaluation.Targets)}: forecast vs actual ({segment.ToString().ToLowerInvariant()}{part}, h = {h})", "time", "value") { DateAxis = true, LegendAt = ScottPlot.Alignment.UpperLeft };
        for (int j = 0; j < J; j++)
        {
            int column = series.ColumnIndex(evaluation.Targets[j]);
            var rows = Enumerable.Range(firstRow, lastRow - firstRow + 1).ToList();
            chart.Add(new Series($"{evaluation.Targets[j]} actual", rows.Select(r => series.Dates[r].ToOADate()).ToArray(),
                rows.Select(r => series.IsFilled(r, column) ? double.NaN : series[r, column]).ToArray()) { Color = 2 * j });
            var xs = new List<double>();
            var ys = new List<double>();
            foreach (var w in shown)
            {
                for (int k = 0; k < h; k++) { xs.Add(w.Dates[k].ToOADate()); ys.Add(w.Forecast[k * J + j]); }
                if (h > 1) { xs.Add(double.NaN); ys.Add(double.NaN); }
            }
            var score = evaluation.Reports[j];
            chart.Add(new Series(string.Create(CultureInfo.InvariantCulture, $"{evaluation.Targets[j]} forecast (RMSE {score.Model.Rmse:G4}; seasonal naive {score.SeasonalNaive.Rmse:G4})"), xs, ys) { Color = 2 * j + 1 });
        }
        chart.SavePng(path, 1100, 560);
    }

    private static ForecastSetup Named(ForecastSetup setup)
    {
        try { setup.Validate(); }
        catch (ArgumentException e)
        {
            string option = e.ParamName switch { "Window" => "--window: ", "Horizon" => "--horizon: ", "Season" => "--season: ", "Targets" => "--target: ", "Inputs" => "--inputs: ", _ => "--split: " };
            throw new ArgumentException(option + e.Message.Split('\n')[0].Replace($" (Parameter '{e.ParamName}')", ""));
        }
        return setup;
    }

    /// <summary>Fractions "0.7,0.15" or dates "2013-01-01,2014-01-01" into <paramref name="setup"/>.</summary>
    private static ForecastSetup ParseSplit(string text, ForecastSetup setup)
    {
        var parts = text.Split(',');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double train)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double valid))
        {
            if (!(train > 0 && valid >= 0 && train + valid < 1))
                throw new ArgumentException($"--split is '{text}'; the fractions must be train > 0, valid >= 0 and train + valid < 1 (the rest is test).");
            return setup with { TrainFraction = train, ValidFraction = valid };
        }
        string[] formats = ["yyyy-MM-dd", "yyyy-MM", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-ddTHH:mm:ss"];
        if (parts.Length == 2 && DateTime.TryParseExact(parts[0].Trim(), formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var validFrom)
            && DateTime.TryParseExact(parts[1].Trim(), formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var testFrom))
            return setup with { ValidFrom = validFrom, TestFrom = testFrom };
        throw new ArgumentException($"--split is '{text}'; give 'train,valid' fractions (e.g. 0.7,0.15) or the dates where validation and test start (e.g. 2013-01-01,2014-01-01).");
    }

    private static MissingValues ParseMissing(string name) => name switch
    {
        "fill-forward" => MissingValues.FillForward,
        "interpolate" => MissingValues.Interpolate,
        "drop" => MissingValues.Drop,
        "error" => MissingValues.Error,
        _ => throw new ArgumentException($"--missing is '{name}'; it must be error, fill-forward, interpolate or drop."),
    };

    private static string Residual(ForecastResidual r) => r switch { ForecastResidual.Naive => "naive", ForecastResidual.SeasonalNaive => "seasonal naive", _ => "none" };

    private static string[]? List(string? text) => text?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
}
