using System.Text.Json.Serialization;
using Recurrent.Data;

namespace Recurrent.Applications;

/// <summary>
/// What the network of a <see cref="Forecaster"/> predicts for target y at origin t (the last
/// input row) and step k = 1…h: the value itself, or its difference from a baseline forecast —
/// the naive one (y[t]) or the seasonal naive one (y[t + k − m·⌈k/m⌉], the value one season
/// before). A residual keeps the targets in the range the training data showed even when the
/// series trends out of it (airline passengers), and starts the network from the baseline.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ForecastResidual>))]
public enum ForecastResidual
{
    /// <summary>The network predicts the target values themselves (the default).</summary>
    None,
    /// <summary>The network predicts each step's difference from the last input value y[t].</summary>
    Naive,
    /// <summary>The network predicts each step's difference from the seasonal naive forecast: the value at the same point of the last season (m = <see cref="ForecastSetup.Season"/> rows) up to the origin; a window needs a season of history.</summary>
    SeasonalNaive
}

/// <summary>
/// The data side of a <see cref="Forecaster"/>: which columns are forecast from which, over what
/// window and horizon, the seasonal period of the baselines, the target transform, and the
/// chronological split (fractions of the rows, or the dates where validation and test start).
/// </summary>
public sealed record ForecastSetup
{
    /// <summary>The columns to forecast (at least one).</summary>
    public required IReadOnlyList<string> Targets { get; init; }

    /// <summary>The columns the network reads at each step; null: every column of the series (the targets' past included).</summary>
    public IReadOnlyList<string>? Inputs { get; init; }

    /// <summary>T, the rows each forecast reads.</summary>
    public int Window { get; init; } = 24;

    /// <summary>h, the rows after the window that are forecast (1: one step ahead).</summary>
    public int Horizon { get; init; } = 1;

    /// <summary>m, the seasonal period in rows of the seasonal naive baseline (1: none, it equals naive).</summary>
    public int Season { get; init; } = 1;

    /// <summary>What the network predicts: the targets themselves (<see cref="ForecastResidual.None"/>, the default) or their residual over the naive or seasonal naive forecast; applied after the log transform when <see cref="Log"/> is set.</summary>
    public ForecastResidual Residual { get; init; }

    /// <summary>Model log(target) (inputs and outputs) and exponentiate the forecast: for a positive series that grows multiplicatively.</summary>
    public bool Log { get; init; }

    /// <summary>Fraction of the rows (the first ones) in the training segment.</summary>
    public double TrainFraction { get; init; } = 0.7;

    /// <summary>Fraction of the rows in the validation segment (after training); the rest is test.</summary>
    public double ValidFraction { get; init; } = 0.15;

    /// <summary>When set (with <see cref="TestFrom"/>), the first row at or after this time starts validation, overriding the fractions.</summary>
    public DateTime? ValidFrom { get; init; }

    /// <summary>When set (with <see cref="ValidFrom"/>), the first row at or after this time starts the test segment.</summary>
    public DateTime? TestFrom { get; init; }

    /// <summary>Throws an exception naming the first invalid field and what is allowed.</summary>
    public void Validate()
    {
        if (Targets is null || Targets.Count == 0) throw new ArgumentException("Name at least one target column.", nameof(Targets));
        if (Targets.Distinct(StringComparer.Ordinal).Count() != Targets.Count) throw new ArgumentException("A target column is named twice.", nameof(Targets));
        if (Inputs is { Count: 0 }) throw new ArgumentException("Name at least one input column (or none at all for every column).", nameof(Inputs));
        if (Inputs is not null && Inputs.Distinct(StringComparer.Ordinal).Count() != Inputs.Count) throw new ArgumentException("An input column is named twice.", nameof(Inputs));
        if (Window is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(Window), Window, "The window must be 1..100000 rows.");
        if (Horizon is < 1 or > 10_000) throw new ArgumentOutOfRangeException(nameof(Horizon), Horizon, "The horizon must be 1..10000 rows.");
        if (Season is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(Season), Season, "The season must be 1..100000 rows (1: no season).");
        if (!Enum.IsDefined(Residual)) throw new ArgumentOutOfRangeException(nameof(Residual), Residual, "The residual must be None, Naive or SeasonalNaive.");
        if ((ValidFrom is null) != (TestFrom is null)) throw new ArgumentException("Give both ValidFrom and TestFrom, or neither.", nameof(ValidFrom));
        if (ValidFrom is { } v && TestFrom is { } t && t < v) throw new ArgumentException($"The test segment ({t:s}) cannot start before validation ({v:s}).", nameof(TestFrom));
        if (ValidFrom is null && !(TrainFraction > 0 && ValidFraction >= 0 && TrainFraction + ValidFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(TrainFraction), $"Fractions train = {TrainFraction}, valid = {ValidFraction} must satisfy train > 0, valid >= 0, train + valid <= 1.");
    }

    /// <summary>
    /// Where the segments of <paramref name="series"/> start: training is rows [0, TrainEnd), validation
    /// [TrainEnd, ValidEnd), test [ValidEnd, Rows) — by date when <see cref="ValidFrom"/> is set,
    /// otherwise round(Rows · fraction) as <see cref="TimeSeriesWindows.SplitByTime"/>.
    /// </summary>
    public (int TrainEnd, int ValidEnd) Boundaries(TimeSeries series)
    {
        ArgumentNullException.ThrowIfNull(series);
        int rows = series.Rows;
        if (ValidFrom is not { } validFrom || TestFrom is not { } testFrom)
            return ((int)Math.Round(rows * TrainFraction), Math.Min(rows, (int)Math.Round(rows * (TrainFraction + ValidFraction))));
        int First(DateTime time) => Array.FindIndex(series.Dates, d => d >= time) is var i and >= 0 ? i : rows;
        int trainEnd = First(validFrom), validEnd = First(testFrom);
        if (trainEnd == 0) throw new ArgumentException($"Validation starts at {validFrom:s}, before the series' first row ({series.Dates[0]:s}): nothing is left to train on.");
        return (trainEnd, validEnd);
    }
}
