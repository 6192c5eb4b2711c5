using System.Globalization;

namespace Recurrent.Data;

/// <summary>
/// The spacing of a time series' rows, to date the steps after its end: a whole number of
/// calendar months (monthly, quarterly, yearly data: <c>"1 month"</c>, <c>"12 months"</c>), or a
/// fixed duration (hourly or daily data: <c>"01:00:00"</c>, <c>"1.00:00:00"</c>).
/// </summary>
public readonly record struct TimeStep
{
    private TimeStep(int months, TimeSpan span) => (Months, Span) = (months, span);

    /// <summary>Calendar months per step (0 when the step is a fixed <see cref="Span"/>).</summary>
    public int Months { get; }

    /// <summary>The fixed duration of a step (zero when it is <see cref="Months"/>).</summary>
    public TimeSpan Span { get; }

    /// <summary>A step of <paramref name="months"/> calendar months (1: monthly, 3: quarterly, 12: yearly).</summary>
    /// <param name="months">Months per step, at least 1.</param>
    /// <returns>The step.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="months"/> is less than 1.</exception>
    public static TimeStep OfMonths(int months) => months >= 1 ? new(months, TimeSpan.Zero)
        : throw new ArgumentOutOfRangeException(nameof(months), months, "A step is at least 1 month.");

    /// <summary>A step of the fixed duration <paramref name="span"/> (e.g. one hour or one day).</summary>
    /// <param name="span">The duration of a step, positive.</param>
    /// <returns>The step.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="span"/> is zero or negative.</exception>
    public static TimeStep Of(TimeSpan span) => span > TimeSpan.Zero ? new(0, span)
        : throw new ArgumentOutOfRangeException(nameof(span), span, "A step must be a positive duration.");

    /// <summary>The time one step after <paramref name="time"/>.</summary>
    public DateTime After(DateTime time) => Months > 0 ? time.AddMonths(Months) : time + Span;

    /// <summary>
    /// The most common spacing of consecutive <paramref name="dates"/>: months when every date
    /// falls on the same day of the month and time of day (monthly data), otherwise the most common
    /// duration (so a daily series without 29 February still steps by one day). One date: one day.
    /// </summary>
    public static TimeStep Infer(IReadOnlyList<DateTime> dates)
    {
        ArgumentNullException.ThrowIfNull(dates);
        if (dates.Count < 2) return Of(TimeSpan.FromDays(1));
        bool calendar = dates.All(d => d.Day == dates[0].Day && d.TimeOfDay == dates[0].TimeOfDay) && dates[0].Day <= 28;
        if (calendar)
            return OfMonths(Enumerable.Range(1, dates.Count - 1)
                .Select(i => (dates[i].Year - dates[i - 1].Year) * 12 + dates[i].Month - dates[i - 1].Month)
                .GroupBy(m => m).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key);
        return Of(Enumerable.Range(1, dates.Count - 1).Select(i => dates[i] - dates[i - 1])
            .GroupBy(s => s).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key);
    }

    /// <summary><c>"N month(s)"</c> or the duration in the invariant "c" format (<c>[d.]hh:mm:ss</c>).</summary>
    public override string ToString() => Months > 0
        ? Months.ToString(CultureInfo.InvariantCulture) + (Months == 1 ? " month" : " months")
        : Span.ToString("c", CultureInfo.InvariantCulture);

    /// <summary>Reads what <see cref="ToString"/> wrote.</summary>
    public static TimeStep Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(' ');
        if (parts.Length == 2 && parts[1] is "month" or "months" && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int months) && months >= 1)
            return OfMonths(months);
        if (TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero) return Of(span);
        throw new FormatException($"'{text}' is not a time step (e.g. '1 month', '1.00:00:00', '01:00:00').");
    }

    /// <summary>How to print a time of a series with this step: yyyy-MM for months, a date for whole days, else date and time.</summary>
    public string Format(DateTime time) => time.ToString(
        Months > 0 && time.Day == 1 && time.TimeOfDay == TimeSpan.Zero ? "yyyy-MM"
        : time.TimeOfDay == TimeSpan.Zero && Span.Ticks % TimeSpan.TicksPerDay == 0 ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm:ss",
        CultureInfo.InvariantCulture);
}
