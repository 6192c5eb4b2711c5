namespace Recurrent.Optimizers;

/// <summary>
/// A learning-rate schedule: the trainer sets <c>optimizer.LearningRate = schedule.LearningRate(optimizer.StepCount)</c>
/// before each step and reports each validation loss. Step-driven schedules are pure functions
/// of the step; <see cref="PlateauSchedule"/> also keeps state, saved with <see cref="GetState"/>.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate for optimizer step <paramref name="step"/> (0 for the first step).</summary>
    float LearningRate(long step);

    /// <summary>Tells the schedule a validation loss (lower is better). Only plateau schedules react.</summary>
    void ReportValidation(double loss);

    /// <summary>The schedule's mutable state, for checkpoints (empty for pure step functions).</summary>
    IReadOnlyDictionary<string, double> GetState();

    /// <summary>Restores a state returned by <see cref="GetState"/>; the keys must be exactly those.</summary>
    void SetState(IReadOnlyDictionary<string, double> state);
}

/// <summary>Shared argument checks and the no-state behaviour of the step-driven schedules.</summary>
public abstract class StepFunctionSchedule : ILearningRateSchedule
{
    private static readonly IReadOnlyDictionary<string, double> NoState = new Dictionary<string, double>();

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    public abstract float LearningRate(long step);

    /// <summary>Ignored: this schedule depends only on the step.</summary>
    public void ReportValidation(double loss) { }

    /// <summary>An empty dictionary: this schedule has no state.</summary>
    /// <returns>An empty, shared dictionary.</returns>
    public IReadOnlyDictionary<string, double> GetState() => NoState;

    /// <summary>Accepts only an empty state, as <see cref="GetState"/> returns.</summary>
    /// <param name="state">The saved state; must be empty.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="state"/> has keys.</exception>
    public void SetState(IReadOnlyDictionary<string, double> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 0)
            throw new ArgumentException($"{GetType().Name} has no state, but the saved state has keys: {string.Join(", ", state.Keys)}.", nameof(state));
    }

    /// <summary>Throws unless <paramref name="step"/> ≥ 0; every step function calls it first.</summary>
    /// <param name="step">The optimizer step asked about.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    protected static void CheckStep(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be >= 0.");
    }

    internal static float CheckLearningRate(float lr, string name)
    {
        if (!(lr > 0) || !float.IsFinite(lr))
            throw new ArgumentOutOfRangeException(name, lr, $"{name} must be finite and > 0.");
        return lr;
    }
}

/// <summary>lr(t) = lr.</summary>
/// <param name="lr">The learning rate of every step, finite and &gt; 0 (checked on construction).</param>
public sealed class ConstantSchedule(float lr) : StepFunctionSchedule
{
    private readonly float _lr = CheckLearningRate(lr, nameof(lr));

    /// <inheritdoc/>
    public override float LearningRate(long step)
    {
        CheckStep(step);
        return _lr;
    }
}

/// <summary>
/// lr(t) = lr · γ^⌊t / stepSize⌋: multiplied by γ every <c>stepSize</c> steps, as torch's StepLR
/// (computed in double, then rounded to float).
/// </summary>
public sealed class StepDecaySchedule : StepFunctionSchedule
{
    private readonly double _lr, _gamma;
    private readonly long _stepSize;

    /// <summary>A schedule that starts at <paramref name="lr"/> and multiplies it by <paramref name="gamma"/> every <paramref name="stepSize"/> steps.</summary>
    /// <param name="lr">Initial learning rate, &gt; 0.</param>
    /// <param name="stepSize">Steps between decays, ≥ 1.</param>
    /// <param name="gamma">Multiplier per decay, in (0, 1].</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public StepDecaySchedule(float lr, long stepSize, float gamma)
    {
        CheckLearningRate(lr, nameof(lr));
        if (stepSize < 1) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "stepSize must be >= 1.");
        if (!(gamma > 0 && gamma <= 1)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be in (0, 1].");
        _lr = Optimizer.AsDecimal(lr);
        _gamma = Optimizer.AsDecimal(gamma);
        _stepSize = stepSize;
    }

    /// <inheritdoc/>
    public override float LearningRate(long step)
    {
        CheckStep(step);
        return (float)(_lr * Math.Pow(_gamma, step / _stepSize));
    }
}

/// <summary>
/// Linear warm-up from 0, then cosine annealing to <c>minLr</c>:
/// <code>
/// lr(t) = lr · t / warmupSteps                                          t &lt; warmupSteps
/// lr(t) = minLr + (lr − minLr) · ½(1 + cos(π (t − warmupSteps) / (totalSteps − warmupSteps)))   warmupSteps ≤ t &lt; totalSteps
/// lr(t) = minLr                                                          t ≥ totalSteps
/// </code>
/// So lr(0) = 0 (with warm-up), lr(warmupSteps) = lr, lr(totalSteps) = minLr. Computed in double, rounded to float.
/// </summary>
public sealed class CosineSchedule : StepFunctionSchedule
{
    private readonly double _lr, _minLr;
    private readonly long _warmupSteps, _totalSteps;

    /// <summary>A schedule that warms up linearly to <paramref name="lr"/> over <paramref name="warmupSteps"/> steps, then follows a half cosine down to <paramref name="minLr"/> at <paramref name="totalSteps"/>.</summary>
    /// <param name="lr">Peak learning rate, &gt; 0.</param>
    /// <param name="warmupSteps">Steps of linear warm-up, ≥ 0 and ≤ totalSteps.</param>
    /// <param name="totalSteps">Step at which the cosine reaches minLr, ≥ 1.</param>
    /// <param name="minLr">Final learning rate, in [0, lr].</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public CosineSchedule(float lr, long warmupSteps, long totalSteps, float minLr = 0)
    {
        CheckLearningRate(lr, nameof(lr));
        if (totalSteps < 1) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "totalSteps must be >= 1.");
        if (warmupSteps < 0 || warmupSteps > totalSteps)
            throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, $"warmupSteps must be in [0, totalSteps = {totalSteps}].");
        if (!(minLr >= 0 && minLr <= lr))
            throw new ArgumentOutOfRangeException(nameof(minLr), minLr, $"minLr must be in [0, lr = {lr}].");
        _lr = Optimizer.AsDecimal(lr);
        _minLr = Optimizer.AsDecimal(minLr);
        _warmupSteps = warmupSteps;
        _totalSteps = totalSteps;
    }

    /// <inheritdoc/>
    public override float LearningRate(long step)
    {
        CheckStep(step);
        if (step < _warmupSteps) return (float)(_lr * step / _warmupSteps);
        if (step >= _totalSteps) return (float)_minLr;
        double progress = (double)(step - _warmupSteps) / (_totalSteps - _warmupSteps);
        return (float)(_minLr + (_lr - _minLr) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}

/// <summary>
/// Reduce on plateau (Zaremba et al. divide the learning rate by 4 when validation perplexity
/// stops improving). A validation loss improves when it is below best·(1 − threshold) (PyTorch's
/// ReduceLROnPlateau, mode 'min', threshold_mode 'rel'); after more than <c>patience</c>
/// consecutive evaluations without improvement the rate is multiplied by <c>factor</c> and the
/// count restarts. A NaN loss never improves.
/// </summary>
public sealed class PlateauSchedule : ILearningRateSchedule
{
    private const string LearningRateKey = "learning_rate", BestKey = "best_loss", HasBestKey = "has_best_loss", BadKey = "bad_evaluations";

    private readonly double _factor, _threshold;
    private readonly int _patience;
    private float _lr;
    private double _best = double.PositiveInfinity;
    private int _badEvaluations;

    /// <summary>A schedule that starts at <paramref name="lr"/> with no best loss and reduces the rate on plateaus of the reported validation loss.</summary>
    /// <param name="lr">Initial learning rate, &gt; 0.</param>
    /// <param name="factor">Multiplier applied on a plateau, in (0, 1); 0.25 divides by 4.</param>
    /// <param name="patience">Evaluations without improvement tolerated before reducing, ≥ 0 (0: reduce at the first).</param>
    /// <param name="threshold">Relative improvement needed to count, in [0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range.</exception>
    public PlateauSchedule(float lr, float factor = 0.25f, int patience = 0, double threshold = 0)
    {
        _lr = StepFunctionSchedule.CheckLearningRate(lr, nameof(lr));
        if (!(factor > 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "factor must be in (0, 1).");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "patience must be >= 0.");
        if (!(threshold >= 0 && threshold < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "threshold must be in [0, 1).");
        _factor = Optimizer.AsDecimal(factor);
        _patience = patience;
        _threshold = threshold;
    }

    /// <summary>The current rate, whatever the step.</summary>
    public float LearningRate(long step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), step, "step must be >= 0.");
        return _lr;
    }

    /// <summary>Best loss seen so far (+∞ before the first finite report).</summary>
    public double BestLoss => _best;

    /// <summary>Consecutive evaluations without improvement since the last improvement or reduction.</summary>
    public int BadEvaluations => _badEvaluations;

    /// <summary>
    /// Records a validation loss: below best·(1 − threshold) it becomes the best and the count of bad
    /// evaluations restarts; otherwise the count grows, and once it exceeds <c>patience</c> the rate is
    /// multiplied by <c>factor</c> and the count restarts. NaN counts as no improvement.
    /// </summary>
    /// <param name="loss">The validation loss (lower is better).</param>
    public void ReportValidation(double loss)
    {
        if (loss < _best * (1 - _threshold))   // +∞·(1 − threshold) = +∞: the first finite loss improves
        {
            _best = loss;
            _badEvaluations = 0;
            return;
        }
        if (++_badEvaluations > _patience)
        {
            _lr = (float)(_lr * _factor);
            _badEvaluations = 0;
        }
    }

    /// <summary>
    /// The state as four numbers: <c>learning_rate</c>, <c>best_loss</c> (0 when there is none),
    /// <c>has_best_loss</c> (1 or 0) and <c>bad_evaluations</c>.
    /// </summary>
    /// <returns>A new dictionary with exactly those keys.</returns>
    public IReadOnlyDictionary<string, double> GetState() => new Dictionary<string, double>
    {
        [LearningRateKey] = _lr,
        [BestKey] = double.IsFinite(_best) ? _best : 0,
        [HasBestKey] = double.IsFinite(_best) ? 1 : 0,
        [BadKey] = _badEvaluations,
    };

    /// <summary>Restores a state from <see cref="GetState"/>; nothing changes unless every value is valid.</summary>
    /// <param name="state">The four keys <see cref="GetState"/> writes, no others.</param>
    /// <exception cref="ArgumentNullException"><paramref name="state"/> is null.</exception>
    /// <exception cref="ArgumentException">A key is missing or unexpected, or a value is invalid (learning rate not a finite positive float32, flag not 0 or 1, best loss not finite, bad evaluations not an integer in [0, patience]).</exception>
    public void SetState(IReadOnlyDictionary<string, double> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        string[] keys = [LearningRateKey, BestKey, HasBestKey, BadKey];
        var unexpected = state.Keys.Where(k => Array.IndexOf(keys, k) < 0).ToList();
        if (unexpected.Count > 0)
            throw new ArgumentException($"Plateau schedule state has unexpected keys: {string.Join(", ", unexpected)}.", nameof(state));
        double Get(string key) => state.TryGetValue(key, out double v) ? v
            : throw new ArgumentException($"Plateau schedule state is missing '{key}'.", nameof(state));
        double lr = Get(LearningRateKey), best = Get(BestKey), hasBest = Get(HasBestKey), bad = Get(BadKey);
        if (!(lr > 0) || !double.IsFinite(lr) || (float)lr != lr)
            throw new ArgumentException($"Plateau schedule state '{LearningRateKey}' = {lr} is not a finite positive float32.", nameof(state));
        if (hasBest != 0 && hasBest != 1)
            throw new ArgumentException($"Plateau schedule state '{HasBestKey}' = {hasBest} must be 0 or 1.", nameof(state));
        if (!double.IsFinite(best))
            throw new ArgumentException($"Plateau schedule state '{BestKey}' = {best} must be finite.", nameof(state));
        if (!(bad >= 0 && bad <= _patience) || bad != Math.Floor(bad))
            throw new ArgumentException($"Plateau schedule state '{BadKey}' = {bad} must be an integer in [0, patience = {_patience}].", nameof(state));
        _lr = (float)lr;
        _best = hasBest == 1 ? best : double.PositiveInfinity;
        _badEvaluations = (int)bad;
    }
}
