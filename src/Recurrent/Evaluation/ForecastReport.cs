namespace Recurrent.Evaluation;

/// <summary>MAE, RMSE and MASE of one forecaster on the evaluation windows.</summary>
/// <param name="Name">Which forecaster: <c>"model"</c>, <c>"naive"</c> or <c>"seasonal naive (m = …)"</c>.</param>
/// <param name="Mae">Mean absolute error, in data units; NaN when no value was scored.</param>
/// <param name="Rmse">Root mean squared error, in data units; NaN when no value was scored.</param>
/// <param name="Mase">MAE divided by the in-sample MAE of the one-step naive forecast on the training series (below 1 beats it); NaN when no value was scored or that scale is 0.</param>
public sealed record ForecastScore(string Name, double Mae, double Rmse, double Mase);

/// <summary>
/// Forecast errors in data units, beside two baselines computed on the same windows:
/// naive (every future step = the last observed value) and seasonal naive (step h = the value
/// one season before it). MASE divides a forecaster's MAE by the in-sample MAE of the one-step
/// naive forecast on the training series (Hyndman &amp; Koehler 2006), so MASE &lt; 1 beats
/// that naive forecast on average.
/// </summary>
public sealed class ForecastReport
{
    private readonly double _scale;
    private readonly Accumulator _model = new(), _naive = new(), _seasonal = new();

    /// <summary>m, the seasonal period in steps of the seasonal naive baseline (1: it equals naive).</summary>
    public int Season { get; }

    /// <summary>An empty report whose MASE scale is the mean absolute one-step change of <paramref name="trainingTarget"/> (the in-sample MAE of the naive forecast).</summary>
    /// <param name="trainingTarget">The target series of the training part (for MASE's scale).</param>
    /// <param name="season">The seasonal period in steps (1 = no season: seasonal naive equals naive).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="season"/> is less than 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="trainingTarget"/> has fewer than 2 values.</exception>
    public ForecastReport(ReadOnlySpan<float> trainingTarget, int season)
    {
        if (season < 1) throw new ArgumentOutOfRangeException(nameof(season), season, "The season must be at least 1 step.");
        if (trainingTarget.Length < 2) throw new ArgumentException("MASE needs at least 2 training values.", nameof(trainingTarget));
        double sum = 0;
        for (int i = 1; i < trainingTarget.Length; i++) sum += Math.Abs(trainingTarget[i] - trainingTarget[i - 1]);
        _scale = sum / (trainingTarget.Length - 1);
        Season = season;
    }

    /// <summary>
    /// Adds one window: the model's forecast and the actual values of the next h steps, and the
    /// history before them (at least one value; at least <see cref="Season"/> for the seasonal baseline).
    /// A NaN actual value (missing in the data) is not counted, for the model nor for the baselines.
    /// </summary>
    public void Add(ReadOnlySpan<float> forecast, ReadOnlySpan<float> actual, ReadOnlySpan<float> history)
    {
        if (forecast.Length != actual.Length) throw new ArgumentException($"The forecast has {forecast.Length} steps, the actual values {actual.Length}.");
        if (history.Length < Season) throw new ArgumentException($"The seasonal naive baseline needs {Season} past values; the window has {history.Length}.", nameof(history));
        for (int h = 0; h < actual.Length; h++)
        {
            if (float.IsNaN(actual[h])) continue;
            _model.Add(forecast[h] - actual[h]);
            _naive.Add(history[^1] - actual[h]);
            // Step h ahead is one season after index len − Season + (h mod Season) of the history.
            _seasonal.Add(history[history.Length - Season + h % Season] - actual[h]);
        }
    }

    /// <summary>The scores of the forecasts given to <see cref="Add"/>, named <c>"model"</c>.</summary>
    public ForecastScore Model => _model.Score("model", _scale);
    /// <summary>The scores of the naive baseline (every step = the last value of the history), named <c>"naive"</c>.</summary>
    public ForecastScore Naive => _naive.Score("naive", _scale);
    /// <summary>The scores of the seasonal naive baseline (each step = the history's value at the same point of its last <see cref="Season"/> steps), named <c>"seasonal naive (m = …)"</c>.</summary>
    public ForecastScore SeasonalNaive => _seasonal.Score($"seasonal naive (m = {Season})", _scale);
    /// <summary>The number of values scored: every non-NaN actual value of every window added (the same for the model and both baselines).</summary>
    public long Count => _model.Count;

    private sealed class Accumulator
    {
        private double _abs, _sq;
        public long Count { get; private set; }
        public void Add(double error) { _abs += Math.Abs(error); _sq += error * error; Count++; }
        public ForecastScore Score(string name, double scale) =>
            Count == 0 ? new(name, double.NaN, double.NaN, double.NaN) : new(name, _abs / Count, Math.Sqrt(_sq / Count), scale > 0 ? _abs / Count / scale : double.NaN);
    }
}
