using System.Text.Json;
using Recurrent.Data;
using Recurrent.Evaluation;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Training;

namespace Recurrent.Applications;

/// <summary>One forecast: the next h times and, per time, a value for each target column ([h, targets] row-major), in data units.</summary>
/// <param name="Targets">The target column names, in the order of the values of each step.</param>
/// <param name="Dates">The h times forecast, one per step (the series' last date advanced by the forecaster's <see cref="Forecaster.Step"/>).</param>
/// <param name="Values">The forecast values, [h, targets] row-major, in data units (exponentiated back when the setup models log).</param>
public sealed record Forecast(IReadOnlyList<string> Targets, DateTime[] Dates, float[] Values)
{
    /// <summary>The forecast of target column <paramref name="target"/> (an index into <see cref="Targets"/>) at step <paramref name="step"/> (0-based: 0 is one step ahead).</summary>
    /// <param name="step">The 0-based step, 0 … h − 1.</param>
    /// <param name="target">The 0-based index of the target column.</param>
    /// <returns>The value in data units.</returns>
    public float this[int step, int target] => Values[step * Targets.Count + target];
}

/// <summary>One scored window: its origin (the last input row), the dates it forecasts, the forecast and the actual values ([h, targets]; NaN where the actual value was missing).</summary>
/// <param name="Origin">The 0-based row index of the window's last input row; the forecast covers rows Origin + 1 … Origin + h.</param>
/// <param name="Dates">The h dates forecast (rows Origin + 1 … Origin + h of the series).</param>
/// <param name="Forecast">The model's forecast, [h, targets] row-major, in data units.</param>
/// <param name="Actual">The series' values at those rows, [h, targets] row-major, in data units; NaN where the value was filled in by the reader.</param>
public sealed record ForecastWindow(int Origin, DateTime[] Dates, float[] Forecast, float[] Actual);

/// <summary>What <see cref="Forecaster.Evaluate"/> measured: a <see cref="ForecastReport"/> per target column (model, naive, seasonal naive, in data units) and every scored window.</summary>
/// <param name="Targets">The target column names, in the order of the reports and of each window's values.</param>
/// <param name="Reports">One report per target column: MAE, RMSE and MASE of the model and both baselines.</param>
/// <param name="Windows">Every scored window of the segment, in chronological order.</param>
public sealed record ForecastEvaluation(IReadOnlyList<string> Targets, IReadOnlyList<ForecastReport> Reports, IReadOnlyList<ForecastWindow> Windows);

/// <summary>The segments of a chronological split.</summary>
public enum ForecastSegment
{
    /// <summary>The first rows: the windows trained on, and the rows whose statistics normalise inputs and targets.</summary>
    Train,
    /// <summary>The rows after training: the windows validated on each epoch (best checkpoint selection).</summary>
    Valid,
    /// <summary>The last rows: the windows scored by <see cref="Forecaster.Evaluate"/> by default.</summary>
    Test
}

/// <summary>
/// Time-series forecasting (many-to-one): a window of T rows of one or many input columns → the
/// next h rows of one or several target columns. The network reads the window with its final
/// state (<see cref="Pooling.Last"/>) and a linear head with h × targets outputs, trained with a
/// regression loss (MSE unless the shape says MAE or Huber). Targets may be modelled in log
/// space and as residuals over the naive or seasonal-naive forecast (<see cref="ForecastSetup"/>).
/// The rows are split by time, never shuffled across it; inputs are standardised with the mean
/// and standard deviation of the training rows (<see cref="Normalizer"/>, into the model's
/// input_norm buffers) and the network's targets with those of the training windows' targets
/// (target_norm), so nothing from validation or test reaches training. A target value the reader
/// filled in (<see cref="TimeSeries.Filled"/>) is read as an input but neither trained on nor scored.
/// <code>
/// var series = TimeSeriesCsv.Read("airline-passengers.csv");
/// var setup = new ForecastSetup { Targets = ["Passengers"], Window = 24, Horizon = 12, Season = 12, Log = true, Residual = ForecastResidual.SeasonalNaive, TrainFraction = 0.65, ValidFraction = 0.15 };
/// var forecaster = Forecaster.Create(series, setup, new SequenceModelConfig { HiddenSize = 16 });
/// forecaster.Fit(series, new TrainingOptions { Epochs = 100, Batch = 8, LearningRate = 5e-3f }, "run");
/// var report = forecaster.Evaluate(series).Reports[0];   // MAE, RMSE, MASE: model, naive, seasonal naive
/// var next = forecaster.Forecast(series);                 // the 12 months after the series' end
/// </code>
/// </summary>
public sealed class Forecaster : SequenceApplication
{
    /// <summary>The task name saved under <see cref="SequenceApplication.TaskKey"/> in a forecaster's checkpoints: <c>"forecast"</c>.</summary>
    public const string Task = "forecast";

    private Forecaster(SequenceModel model, ForecastSetup setup, IReadOnlyList<string> inputs, TimeStep step) : base(model)
    {
        Setup = setup;
        InputColumns = inputs;
        Step = step;
    }

    /// <summary>The data side this forecaster was created with: targets, inputs, window, horizon, season, transform and split.</summary>
    public ForecastSetup Setup { get; }

    /// <summary>The columns the network reads, in order (one-hot columns named <c>column=category</c>).</summary>
    public IReadOnlyList<string> InputColumns { get; }

    /// <summary>The columns forecast, in the order of a forecast's values (<see cref="ForecastSetup.Targets"/>).</summary>
    public IReadOnlyList<string> TargetColumns => Setup.Targets;

    /// <summary>The spacing of the rows, to date the steps of a forecast.</summary>
    public TimeStep Step { get; }

    /// <summary>
    /// A new forecaster for <paramref name="series"/>. <paramref name="shape"/> gives the cell, sizes,
    /// layers, dropout, pooling (<see cref="Pooling.Last"/> if it says none) and the regression loss
    /// (MSE if it says cross-entropy, the default); the input and output sizes are filled in, and the
    /// normalisation buffers set from the training segment of <paramref name="series"/>.
    /// </summary>
    public static Forecaster Create(TimeSeries series, ForecastSetup setup, SequenceModelConfig shape, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(shape);
        setup.Validate();
        var inputs = (setup.Inputs ?? series.Columns).ToArray();
        foreach (var name in setup.Targets.Concat(inputs)) series.ColumnIndex(name);
        var config = shape with
        {
            VocabularySize = 0, EmbeddingSize = 0, Fields = null, TieWeights = false, ClassWeights = null,
            FeatureSize = inputs.Length,
            OutputSize = setup.Horizon * setup.Targets.Count,
            Pooling = shape.Pooling == Pooling.None ? Pooling.Last : shape.Pooling,
            Loss = shape.Loss == LossKind.CrossEntropy ? LossKind.Mse : shape.Loss,
        };
        var forecaster = new Forecaster(new SequenceModel(config, new Rng(seed)), setup, inputs, TimeStep.Infer(series.Dates));
        forecaster.SetStatistics(forecaster.Prepare(series));
        return forecaster;
    }

    /// <summary>Opens a forecaster saved by <see cref="Fit"/> (best.ckpt or latest.ckpt).</summary>
    public static Forecaster Load(string path) => Load(path, out _);

    /// <summary>Opens a forecaster and its checkpoint (e.g. to resume).</summary>
    public static Forecaster Load(string path, out Checkpoint checkpoint)
    {
        (checkpoint, var model) = LoadCheckpoint(path, Task);
        var m = checkpoint.Metadata;
        ForecastSetup setup;
        string[] inputs;
        TimeStep step;
        try
        {
            setup = JsonSerializer.Deserialize<ForecastSetup>(Get(m, "setup", path)) ?? throw new JsonException("null setup");
            setup.Validate();
            inputs = JsonSerializer.Deserialize<string[]>(Get(m, "columns", path)) ?? throw new JsonException("null columns");
            step = TimeStep.Parse(Get(m, "step", path));
        }
        catch (Exception e) when (e is JsonException or ArgumentException or FormatException)
        {
            throw new CheckpointException($"Checkpoint '{path}' has an invalid forecast description: {e.Message}", e);
        }
        if (inputs.Length != model.Config.FeatureSize || setup.Horizon * setup.Targets.Count != model.Config.OutputSize)
            throw new CheckpointException($"Checkpoint '{path}': its columns, horizon or targets do not match the model's sizes.");
        return new Forecaster(model, setup, inputs, step).WithNotesFrom<Forecaster>(checkpoint);
    }

    /// <summary>"task" = <see cref="Task"/>, the <see cref="Setup"/> as JSON ("setup"), the <see cref="InputColumns"/> as a JSON array ("columns") and the <see cref="Step"/> ("step").</summary>
    public override IReadOnlyDictionary<string, string> Metadata => new Dictionary<string, string>
    {
        [TaskKey] = Task,
        ["setup"] = Json(Setup),
        ["columns"] = Json(InputColumns),
        ["step"] = Step.ToString(),
    };

    /// <summary>Trains on the training windows of <paramref name="series"/> (the series given to <see cref="Create"/>), validating on its validation windows each epoch.</summary>
    public TrainingSummary Fit(TimeSeries series, TrainingOptions options, string outDir, Action<TrainingReport>? report = null, CancellationToken cancel = default)
    {
        var data = Prepare(series);
        return Fit(Examples(data, ForecastSegment.Train), Examples(data, ForecastSegment.Valid), options, outDir, report, cancel);
    }

    /// <summary>Continues the run saved in <paramref name="latest"/> (a checkpoint of this forecaster) on the same series.</summary>
    public TrainingSummary Resume(Checkpoint latest, string latestPath, TimeSeries series, TrainingOptions options, string outDir,
        Action<TrainingReport>? report = null, CancellationToken cancel = default)
    {
        var data = Prepare(series);
        return Fit(Examples(data, ForecastSegment.Train), Examples(data, ForecastSegment.Valid), options, outDir, report, cancel, latest, latestPath);
    }

    /// <summary>
    /// The network's examples for the windows of one segment: features [T, inputs] in data units
    /// (log applied; the model standardises them) and targets [h, targets] as the network predicts
    /// them (transformed, minus the baseline, standardised; NaN where the value was filled in).
    /// </summary>
    public IReadOnlyList<SequenceExample> Examples(TimeSeries series, ForecastSegment segment) => Examples(Prepare(series), segment);

    /// <summary>The number of windows of <paramref name="segment"/>: trained or validated on by <see cref="Fit"/>, or (test) scored by <see cref="Evaluate"/>.</summary>
    public int WindowCount(TimeSeries series, ForecastSegment segment) => Prepare(series).Windows(segment, forEvaluation: segment == ForecastSegment.Test).Count;

    /// <summary>
    /// MAE, RMSE and MASE of the model, the naive and the seasonal-naive forecast (m = <see cref="ForecastSetup.Season"/>)
    /// on every window of <paramref name="segment"/> whose targets lie in it, per target column, in
    /// data units; MASE's scale is the one-step naive error on the training rows.
    /// </summary>
    public ForecastEvaluation Evaluate(TimeSeries series, ForecastSegment segment = ForecastSegment.Test, int batchSize = 256)
    {
        var data = Prepare(series);
        var windows = data.Windows(segment, forEvaluation: true);
        if (windows.Count == 0) throw new ArgumentException($"The {segment.ToString().ToLowerInvariant()} segment holds no window to score.");
        int J = TargetColumns.Count, h = Setup.Horizon, m = Setup.Season;
        var raw = data.RawTargets;
        var reports = Enumerable.Range(0, J).Select(j => new ForecastReport(raw[j].AsSpan(0, data.TrainEnd), m)).ToArray();
        var scored = new ForecastWindow[windows.Count];
        var examples = windows.Select(w => new SequenceExample { Features = data.Input(w) }).ToList();
        Predict(examples, batchSize, (i, output) =>
        {
            int origin = windows[i] + Setup.Window - 1;
            var forecast = ToDataUnits(data, origin, output);
            var actual = new float[h * J];
            for (int k = 0; k < h; k++)
                for (int j = 0; j < J; j++) actual[k * J + j] = data.TargetFilled(origin + 1 + k, j) ? float.NaN : raw[j][origin + 1 + k];
            var dates = Enumerable.Range(1, h).Select(k => series.Dates[origin + k]).ToArray();
            scored[i] = new ForecastWindow(origin, dates, forecast, actual);
        });
        var forecastColumn = new float[h];
        var actualColumn = new float[h];
        foreach (var window in scored)
            for (int j = 0; j < J; j++)
            {
                for (int k = 0; k < h; k++) (forecastColumn[k], actualColumn[k]) = (window.Forecast[k * J + j], window.Actual[k * J + j]);
                reports[j].Add(forecastColumn, actualColumn, raw[j].AsSpan(0, window.Origin + 1));
            }
        return new ForecastEvaluation(TargetColumns, reports, scored);
    }

    /// <summary>The next h values of every target after the last row of <paramref name="series"/>, dated by <see cref="Step"/>.</summary>
    public Forecast Forecast(TimeSeries series)
    {
        var data = Prepare(series);
        int origin = series.Rows - 1;
        int first = origin - Setup.Window + 1;
        if (first < 0) throw new ArgumentException($"The series has {series.Rows} rows; a forecast reads the last {Setup.Window}.");
        if (Setup.Residual == ForecastResidual.SeasonalNaive && origin + 1 < Setup.Season)
            throw new ArgumentException($"The series has {series.Rows} rows; a forecast over the seasonal naive one needs the last season ({Setup.Season} rows).");
        float[]? output = null;
        Predict([new SequenceExample { Features = data.Input(first) }], 1, (_, o) => output = o);
        var dates = new DateTime[Setup.Horizon];
        var time = series.Dates[origin];
        for (int k = 0; k < dates.Length; k++) dates[k] = time = Step.After(time);
        return new Forecast(TargetColumns, dates, ToDataUnits(data, origin, output!));
    }

    /// <summary>The network's output for origin <paramref name="origin"/> (standardised residuals) in data units, [h, targets].</summary>
    private float[] ToDataUnits(PreparedSeries data, int origin, float[] output)
    {
        var values = output.ToArray();
        Model.Denormalize(values);
        int J = TargetColumns.Count;
        for (int k = 0; k < Setup.Horizon; k++)
            for (int j = 0; j < J; j++)
            {
                float v = values[k * J + j] + data.Baseline(origin, k, j);
                values[k * J + j] = Setup.Log ? MathF.Exp(v) : v;
            }
        return values;
    }

    private IReadOnlyList<SequenceExample> Examples(PreparedSeries data, ForecastSegment segment)
    {
        var mean = Model.TargetMean!.Span.ToArray();
        var std = Model.TargetStd!.Span.ToArray();
        return data.Windows(segment, forEvaluation: false).Select(w =>
        {
            var target = data.Target(w);
            for (int i = 0; i < target.Length; i++) target[i] = (target[i] - mean[i]) / std[i];
            return new SequenceExample { Features = data.Input(w), Target = target };
        }).ToList();
    }

    /// <summary>
    /// input_norm: mean and std of each input column over the training rows; target_norm: of each
    /// of the h × targets outputs over the training windows whose targets are all real (none filled in).
    /// </summary>
    private void SetStatistics(PreparedSeries data)
    {
        var inputs = Normalizer.Fit(data.Series, data.TrainEnd, InputColumns);
        for (int i = 0; i < InputColumns.Count; i++)
        {
            int c = data.Series.ColumnIndex(InputColumns[i]);
            Model.InputMean!.Span[i] = inputs.Mean[c];
            Model.InputStd!.Span[i] = inputs.Std[c];
        }
        // One row per complete training window (dated by its origin), one column per output "target@step".
        var rows = data.Windows(ForecastSegment.Train, forEvaluation: false)
            .Select(w => (Origin: w + Setup.Window - 1, Target: data.Target(w))).Where(x => !x.Target.Any(float.IsNaN)).ToList();
        if (rows.Count == 0) throw new ArgumentException("Every training window has a missing target value; there is nothing to learn from.");
        int K = Model.Config.OutputSize;
        var columns = Enumerable.Range(0, K).Select(i => $"{TargetColumns[i % TargetColumns.Count]}@{i / TargetColumns.Count + 1}").ToArray();
        var table = new TimeSeries(rows.Select(x => data.Series.Dates[x.Origin]).ToArray(), columns, rows.SelectMany(x => x.Target).ToArray());
        var targets = Normalizer.Fit(table, table.Rows);
        targets.Mean.CopyTo(Model.TargetMean!.Span);
        targets.Std.CopyTo(Model.TargetStd!.Span);
    }

    private PreparedSeries Prepare(TimeSeries series) => new(series, this);

    /// <summary>
    /// A series as this forecaster reads it: its input and target columns (log applied to the targets
    /// when asked), the split, and the windows of each segment.
    /// </summary>
    private sealed class PreparedSeries
    {
        private readonly Forecaster _owner;
        private readonly float[][] _targets;       // per target column, transformed (log) values over all rows
        private readonly bool[][] _filled;         // per target column, filled-in rows
        private readonly Lazy<TimeSeriesSplit> _split;   // a forecast needs none (its series may be a single window long)
        private readonly int[] _inputColumns;      // indices into Series

        public PreparedSeries(TimeSeries series, Forecaster owner)
        {
            ArgumentNullException.ThrowIfNull(series);
            _owner = owner;
            var setup = owner.Setup;
            var columns = owner.InputColumns.Concat(setup.Targets.Where(t => !owner.InputColumns.Contains(t))).ToArray();
            int rows = series.Rows, width = columns.Length;
            var values = new float[rows * width];
            for (int c = 0; c < width; c++)
            {
                int source = SourceColumn(series, columns[c]);
                bool log = setup.Log && setup.Targets.Contains(columns[c]);
                for (int r = 0; r < rows; r++)
                {
                    float v = source < 0 ? 0f : series[r, source];
                    if (!float.IsFinite(v)) throw new ArgumentException($"Column '{columns[c]}' has no value at {series.Dates[r]:s}; fill missing values first (TimeSeriesFormat.MissingValues).");
                    if (log && !(v > 0)) throw new ArgumentException($"Column '{columns[c]}' is {v} at {series.Dates[r]:s}; a log forecast needs positive values.");
                    values[r * width + c] = log ? MathF.Log(v) : v;
                }
            }
            Series = new TimeSeries(series.Dates, columns, values);
            _inputColumns = owner.InputColumns.Select(Series.ColumnIndex).ToArray();
            _targets = setup.Targets.Select(t => Column(Series, t)).ToArray();
            RawTargets = setup.Targets.Select(t => Column(series, t)).ToArray();
            _filled = setup.Targets.Select(series.ColumnIndex).Select(c => Enumerable.Range(0, rows).Select(r => series.IsFilled(r, c)).ToArray()).ToArray();
            _split = new Lazy<TimeSeriesSplit>(() => Split(series));
        }

        private TimeSeriesSplit Split(TimeSeries series)
        {
            var setup = _owner.Setup;
            int rows = series.Rows;
            var (trainEnd, validEnd) = setup.Boundaries(series);
            var split = new TimeSeriesWindows(Series, setup.Window, setup.Horizon, setup.Targets, _owner.InputColumns)
                .SplitByTime((double)trainEnd / rows, (double)(validEnd - trainEnd) / rows);
            if (split.TrainEnd != trainEnd || split.ValidEnd != validEnd)
                throw new InvalidOperationException($"The split rows {split.TrainEnd}, {split.ValidEnd} differ from the boundaries {trainEnd}, {validEnd}.");
            if (split.Train.Count == 0) throw new ArgumentException($"The training segment ({trainEnd} rows) holds no window of {setup.Window} + {setup.Horizon} rows.");
            return split;
        }

        /// <summary>The input and target columns, log applied to the targets when asked.</summary>
        public TimeSeries Series { get; }

        /// <summary>Per target column, the values in data units over all rows (filled-in values included).</summary>
        public float[][] RawTargets { get; }

        public int TrainEnd => _split.Value.TrainEnd;

        public bool TargetFilled(int row, int target) => _filled[target][row];

        /// <summary>
        /// The windows of a segment: all of them for evaluation (which needs a season of history for
        /// its baseline), for training those that have the history their residual needs.
        /// </summary>
        public List<int> Windows(ForecastSegment segment, bool forEvaluation)
        {
            var split = _split.Value;
            var range = segment switch { ForecastSegment.Train => split.Train, ForecastSegment.Valid => split.Valid, _ => split.Test };
            var setup = _owner.Setup;
            // Window w's origin is w + T − 1; the seasonal baseline reads row origin + 1 − m.
            int needed = forEvaluation || setup.Residual == ForecastResidual.SeasonalNaive ? setup.Season - setup.Window : 0;
            return Enumerable.Range(range.Start, range.Count).Where(w => w >= needed).ToList();
        }

        /// <summary>The inputs of rows <paramref name="first"/> … first + T − 1 (window <paramref name="first"/>, or the last T rows for a forecast), [T, inputs].</summary>
        public float[] Input(int first)
        {
            int T = _owner.Setup.Window, F = _inputColumns.Length, width = Series.ColumnCount;
            var input = new float[T * F];
            for (int t = 0; t < T; t++)
                for (int f = 0; f < F; f++) input[t * F + f] = Series.Values[(first + t) * width + _inputColumns[f]];
            return input;
        }

        /// <summary>Window <paramref name="window"/>'s targets as the network predicts them before standardisation: [h, targets], NaN where filled in.</summary>
        public float[] Target(int window)
        {
            int origin = window + _owner.Setup.Window - 1, J = _targets.Length;
            var target = new float[_owner.Setup.Horizon * J];
            for (int k = 0; k < _owner.Setup.Horizon; k++)
                for (int j = 0; j < J; j++)
                    target[k * J + j] = _filled[j][origin + 1 + k] ? float.NaN : _targets[j][origin + 1 + k] - Baseline(origin, k, j);
            return target;
        }

        /// <summary>The baseline the network's residual is added to, for step k (0-based) of target j from <paramref name="origin"/>, in transformed units.</summary>
        public float Baseline(int origin, int k, int j) => _owner.Setup.Residual switch
        {
            ForecastResidual.Naive => _targets[j][origin],
            ForecastResidual.SeasonalNaive => _targets[j][origin + 1 - _owner.Setup.Season + k % _owner.Setup.Season],
            _ => 0f,
        };

        private static float[] Column(TimeSeries series, string name)
        {
            int c = series.ColumnIndex(name);
            var column = new float[series.Rows];
            for (int r = 0; r < column.Length; r++) column[r] = series[r, c];
            return column;
        }

        /// <summary>The column of <paramref name="series"/> named <paramref name="name"/>; −1 (zeros) for a one-hot category this series lacks.</summary>
        private static int SourceColumn(TimeSeries series, string name)
        {
            int index = Array.IndexOf(series.Columns, name);
            if (index >= 0) return index;
            int equals = name.IndexOf('=');
            if (equals > 0 && series.Columns.Any(c => c.StartsWith(name[..(equals + 1)], StringComparison.Ordinal))) return -1;
            throw new ArgumentException($"The series has no column '{name}', which the forecaster reads; its columns are {string.Join(", ", series.Columns)}.");
        }
    }
}
