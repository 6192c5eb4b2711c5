namespace Recurrent.Diagnostics;

/// <summary>Per-unit mean and standard deviation of states [T, H] over some steps: what "usual" looks like for each unit.</summary>
/// <param name="Mean">Each unit's mean over the steps, [H].</param>
/// <param name="Std">Each unit's population standard deviation over the steps, [H].</param>
public sealed record UnitBaseline(float[] Mean, float[] Std)
{
    /// <summary>The statistics of every step of <paramref name="states"/> [T, H] (accumulated in double).</summary>
    public static UnitBaseline Of(ReadOnlySpan<float> states, int units) => Of(states, units, 0, 0);

    /// <summary>The statistics of the steps of <paramref name="states"/> [T, H] outside [skipStart, skipEnd).</summary>
    public static UnitBaseline Of(ReadOnlySpan<float> states, int units, int skipStart, int skipEnd)
    {
        if (units < 1 || states.Length % units != 0) throw new ArgumentException($"States hold {states.Length} values, not a whole number of rows of {units} units.", nameof(states));
        int T = states.Length / units;
        var sum = new double[units];
        var sumSq = new double[units];
        int n = 0;
        for (int t = 0; t < T; t++)
        {
            if (t >= skipStart && t < skipEnd) continue;
            n++;
            var row = states.Slice(t * units, units);
            for (int j = 0; j < units; j++) { sum[j] += row[j]; sumSq[j] += (double)row[j] * row[j]; }
        }
        if (n == 0) throw new ArgumentException("No step is left to take a baseline from.", nameof(states));
        var mean = new float[units];
        var std = new float[units];
        for (int j = 0; j < units; j++)
        {
            double m = sum[j] / n;
            mean[j] = (float)m;
            std[j] = (float)Math.Sqrt(Math.Max(0, sumSq[j] / n - m * m));
        }
        return new UnitBaseline(mean, std);
    }
}

/// <summary>
/// A unit ranked by <see cref="UnitSearch.Rank"/>. <see cref="Sign"/> is +1 when the unit is higher
/// on the span than usual, −1 when lower; it "fires" at a step when Sign·(value − Threshold) &gt; 0,
/// the threshold being halfway between the two means. <see cref="Score"/> = d · c: the effect size
/// d = |μ_span − μ_base| / √((σ_span² + σ_base²)/2 + 10⁻⁴) (Cohen's d) times the share c of the span's
/// steps on which the unit fires, so a unit that is on for the whole span beats one that spikes once.
/// </summary>
/// <param name="Unit">The 0-based index of the hidden unit.</param>
/// <param name="Score">d · c as above (0 or more); higher singles out the span better.</param>
/// <param name="Sign">+1 when the unit's mean on the span is at least its baseline mean, −1 when lower.</param>
/// <param name="SpanMean">The unit's mean over the span.</param>
/// <param name="BaselineMean">The unit's mean over the baseline.</param>
/// <param name="Threshold">Halfway between <c>SpanMean</c> and <c>BaselineMean</c>: where the unit starts to fire.</param>
public sealed record UnitScore(int Unit, double Score, int Sign, float SpanMean, float BaselineMean, float Threshold)
{
    /// <summary>Whether the unit fires at a step where its state is <paramref name="value"/>: <c>Sign · (value − Threshold) &gt; 0</c>, i.e. it is on the span's side of the threshold.</summary>
    /// <param name="value">The unit's state at one step.</param>
    /// <returns>True when the unit fires.</returns>
    public bool Fires(float value) => Sign * (value - Threshold) > 0;
}

/// <summary>A run of steps [Start, End) where the selected units fire together; <see cref="Score"/> orders matches (higher first).</summary>
/// <param name="Start">The first step of the run.</param>
/// <param name="End">One past the last step of the run.</param>
/// <param name="Score">The run's mean firing fraction times min(length, L) / max(length, L), L the selected span's length; in (0, 1].</param>
public sealed record UnitMatch(int Start, int End, double Score)
{
    /// <summary>The number of steps in the run, <c>End − Start</c>.</summary>
    public int Length => End - Start;
}

/// <summary>
/// "Find units like this" (after LSTMVis, Strobelt et al. 2017): select a span of a text, rank the
/// hidden units by how selectively they fire on it compared with their usual values, then find the
/// other places in a text where the same units fire together.
/// </summary>
public static class UnitSearch
{
    /// <summary>
    /// The <paramref name="top"/> units of <paramref name="states"/> [T, H] that single out the span
    /// [start, end), best first (ties by unit index). The baseline is the rest of the text unless
    /// <paramref name="baseline"/> is given (e.g. the statistics of a reference text).
    /// </summary>
    public static IReadOnlyList<UnitScore> Rank(ReadOnlySpan<float> states, int units, int start, int end, int top, UnitBaseline? baseline = null)
    {
        if (units < 1 || states.Length % units != 0) throw new ArgumentException($"States hold {states.Length} values, not a whole number of rows of {units} units.", nameof(states));
        int T = states.Length / units;
        if (start < 0 || end > T || start >= end) throw new ArgumentOutOfRangeException(nameof(start), $"The span [{start}, {end}) must be a non-empty part of the {T} steps.");
        if (top < 1) throw new ArgumentOutOfRangeException(nameof(top), top, "Ask for at least one unit.");
        if (baseline is null && end - start == T) throw new ArgumentException("The span covers the whole text; select a part of it so the rest can serve as the baseline.", nameof(start));
        var background = baseline ?? UnitBaseline.Of(states, units, start, end);
        if (background.Mean.Length != units) throw new ArgumentException($"The baseline has {background.Mean.Length} units; the states have {units}.", nameof(baseline));
        var span = UnitBaseline.Of(states.Slice(start * units, (end - start) * units), units);
        var scores = new UnitScore[units];
        for (int j = 0; j < units; j++)
        {
            double diff = span.Mean[j] - background.Mean[j];
            double spread = Math.Sqrt(((double)span.Std[j] * span.Std[j] + (double)background.Std[j] * background.Std[j]) / 2 + 1e-4);
            var unit = new UnitScore(j, 0, diff >= 0 ? 1 : -1, span.Mean[j], background.Mean[j], (span.Mean[j] + background.Mean[j]) / 2);
            int on = 0;
            for (int t = start; t < end; t++) if (unit.Fires(states[t * units + j])) on++;
            scores[j] = unit with { Score = Math.Abs(diff) / spread * on / (end - start) };
        }
        return scores.OrderByDescending(s => s.Score).ThenBy(s => s.Unit).Take(top).ToList();
    }

    /// <summary>
    /// Per step of <paramref name="states"/> [T, H]: the fraction of <paramref name="selected"/> units that fire.
    /// </summary>
    public static float[] FiringFraction(ReadOnlySpan<float> states, int units, IReadOnlyList<UnitScore> selected)
    {
        if (units < 1 || states.Length % units != 0) throw new ArgumentException($"States hold {states.Length} values, not a whole number of rows of {units} units.", nameof(states));
        ArgumentNullException.ThrowIfNull(selected);
        if (selected.Count == 0) throw new ArgumentException("Select at least one unit.", nameof(selected));
        foreach (var u in selected)
            if ((uint)u.Unit >= (uint)units) throw new ArgumentOutOfRangeException(nameof(selected), u.Unit, $"Units must be in 0..{units - 1}.");
        int T = states.Length / units;
        var fraction = new float[T];
        for (int t = 0; t < T; t++)
        {
            var row = states.Slice(t * units, units);
            int on = 0;
            foreach (var u in selected) if (u.Fires(row[u.Unit])) on++;
            fraction[t] = (float)on / selected.Count;
        }
        return fraction;
    }

    /// <summary>
    /// The runs of steps of <paramref name="states"/> [T, H] where at least <paramref name="minFraction"/>
    /// of the <paramref name="selected"/> units fire (runs split by at most <paramref name="maxGap"/>
    /// steps that fall short are joined, as LSTMVis allows), best first: a run's score is its mean
    /// firing fraction times min(length, L)/max(length, L), L = <paramref name="spanLength"/> (the
    /// selected span's length), so runs about as long as the selection come first. At most <paramref name="max"/>.
    /// </summary>
    public static IReadOnlyList<UnitMatch> FindMatches(ReadOnlySpan<float> states, int units, IReadOnlyList<UnitScore> selected, int spanLength, int max,
        double minFraction = 1.0, int maxGap = 1)
    {
        if (spanLength < 1) throw new ArgumentOutOfRangeException(nameof(spanLength), spanLength, "The span length must be at least 1.");
        if (max < 1) throw new ArgumentOutOfRangeException(nameof(max), max, "Ask for at least one match.");
        if (!(minFraction > 0 && minFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(minFraction), minFraction, "The fraction of units that must fire is in (0, 1].");
        if (maxGap < 0) throw new ArgumentOutOfRangeException(nameof(maxGap), maxGap, "The gap must be at least 0 steps.");
        var fraction = FiringFraction(states, units, selected);
        float need = (float)minFraction - 1e-6f;
        var matches = new List<UnitMatch>();
        for (int t = 0; t < fraction.Length;)
        {
            if (fraction[t] < need) { t++; continue; }
            int start = t;
            double sum = 0;
            int end = t;   // one past the last step that fired enough
            while (t < fraction.Length && t - end <= maxGap)
            {
                if (fraction[t] >= need) end = t + 1;
                t++;
            }
            t = end;
            for (int i = start; i < end; i++) sum += fraction[i];
            int length = end - start;
            double shape = (double)Math.Min(length, spanLength) / Math.Max(length, spanLength);
            matches.Add(new UnitMatch(start, end, sum / length * shape));
        }
        return matches.OrderByDescending(m => m.Score).ThenBy(m => m.Start).Take(max).ToList();
    }
}
