using System.Collections.ObjectModel;
using System.Globalization;
using Recurrent.Numerics;

namespace Recurrent.Optimizers;

/// <summary>
/// A first-order optimizer over a fixed list of <see cref="Parameter"/>s: each <see cref="Step"/>
/// reads every <see cref="Parameter.Grad"/> and updates <see cref="Parameter.Value"/> in place,
/// following PyTorch 1.13's <c>torch.optim</c> formulas operation by operation in float32
/// (fused multiply-adds exactly where PyTorch's CPU kernels fuse them), so the same
/// hyperparameters, values and gradients give the same numbers.
/// </summary>
/// <remarks>
/// Per-parameter state (moment estimates, momentum buffers) is allocated once, in the
/// constructor; <see cref="Step"/> allocates nothing. The vectorised and scalar paths perform the
/// same IEEE operations in the same order, so results are bit-identical on every CPU.
/// Hyperparameters are float32, but where PyTorch does scalar arithmetic in double (1 − β,
/// βᵗ, lr·λ, lr / (1 − β₁ᵗ)) they enter it at their shortest decimal value, so 0.999f behaves
/// exactly like Python's 0.999 does in torch.optim.
/// </remarks>
public abstract class Optimizer
{
    private readonly Parameter[] _parameters;
    private readonly List<(string Name, Tensor[] PerParameter)> _state = [];
    private float _learningRate;

    /// <summary>Takes the parameters (the list is copied; the parameters are updated in place) and the initial learning rate; a subclass then allocates its state with <see cref="CreateState"/>.</summary>
    /// <param name="parameters">The parameters to update; names must be distinct and non-empty (they name the state tensors).</param>
    /// <param name="learningRate">Initial learning rate, &gt; 0 and finite.</param>
    /// <exception cref="ArgumentNullException"><paramref name="parameters"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> is empty, holds null, or has an empty or repeated name.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not finite and &gt; 0.</exception>
    protected Optimizer(IReadOnlyList<Parameter> parameters, float learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0)
            throw new ArgumentException("An optimizer needs at least one parameter.", nameof(parameters));
        var names = new HashSet<string>(StringComparer.Ordinal);
        _parameters = new Parameter[parameters.Count];
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i] ?? throw new ArgumentException($"Parameter {i} is null.", nameof(parameters));
            if (string.IsNullOrWhiteSpace(p.Name))
                throw new ArgumentException($"Parameter {i} has an empty name; optimizer state is keyed by parameter name.", nameof(parameters));
            if (!names.Add(p.Name))
                throw new ArgumentException($"Parameter name '{p.Name}' appears more than once.", nameof(parameters));
            _parameters[i] = p;
        }
        Parameters = new ReadOnlyCollection<Parameter>(_parameters);
        LearningRate = RequirePositive(learningRate, nameof(learningRate));
    }

    /// <summary>The parameters this optimizer updates, in the order given to the constructor (a read-only view).</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>
    /// The learning rate the next <see cref="Step"/> uses. Schedules set it before each step;
    /// it may be 0 (a warm-up's first step, a cosine's end) but not negative or non-finite.
    /// </summary>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0) || !float.IsFinite(value))
                throw new ArgumentOutOfRangeException(nameof(LearningRate), value, "Learning rate must be finite and >= 0.");
            _learningRate = value;
            LearningRateAsDecimal = AsDecimal(value);
        }
    }

    /// <summary>The learning rate at its shortest decimal value, for PyTorch's double-precision scalar arithmetic.</summary>
    protected double LearningRateAsDecimal { get; private set; }

    /// <summary>Number of <see cref="Step"/> calls so far (PyTorch's <c>state['step']</c>).</summary>
    public long StepCount { get; private set; }

    /// <summary>"sgd", "adam", "adamw" or "rmsprop": what a checkpoint records to rebuild the optimizer.</summary>
    public abstract string Kind { get; }

    /// <summary>One update of every parameter from its current gradient. Gradients are not zeroed.</summary>
    public void Step()
    {
        for (int i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            int n = p.Value.Length;
            if (p.Grad.Length != n)
                throw new InvalidOperationException($"Parameter '{p.Name}' has {n} values but its gradient has {p.Grad.Length}.");
            foreach (var (name, perParameter) in _state)
                if (perParameter[i].Length != n)
                    throw new InvalidOperationException($"Parameter '{p.Name}' changed size to {p.Value.ShapeString} after the optimizer was built (its {name} is {perParameter[i].ShapeString}).");
        }
        StepCount++;
        Update(StepCount);
    }

    /// <summary>Applies the update of optimizer step <paramref name="step"/> (1 for the first) to every parameter.</summary>
    protected abstract void Update(long step);

    /// <summary>Sets every parameter's gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.Grad.Clear();
    }

    /// <summary>
    /// A copy of the optimizer's state, keyed "&lt;state&gt;.&lt;parameter name&gt;" with PyTorch's state
    /// names (e.g. "exp_avg.weight_ih_l0"). Together with <see cref="StepCount"/>, <see cref="Kind"/>,
    /// the hyperparameters and <see cref="LearningRate"/>, it is everything needed to resume bit-identically.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateTensors()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, perParameter) in _state)
            for (int i = 0; i < _parameters.Length; i++)
                result.Add(StateKey(name, i), perParameter[i].Clone());
        return result;
    }

    /// <summary>
    /// Restores state saved by <see cref="StateTensors"/> and the step count saved with it. The key
    /// set must be exactly the one <see cref="StateTensors"/> produces and every shape must match;
    /// nothing is changed unless everything is valid. Values are copied in.
    /// </summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, long stepCount)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (stepCount < 0)
            throw new ArgumentOutOfRangeException(nameof(stepCount), stepCount, "Step count must be >= 0.");
        var expected = new HashSet<string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var (name, perParameter) in _state)
            for (int i = 0; i < _parameters.Length; i++)
            {
                string key = StateKey(name, i);
                expected.Add(key);
                if (!tensors.TryGetValue(key, out var t) || t is null) { missing.Add(key); continue; }
                if (!t.Shape.AsSpan().SequenceEqual(perParameter[i].Shape))
                    throw new ArgumentException($"{Kind} state tensor '{key}' has shape {t.ShapeString}; parameter '{_parameters[i].Name}' needs {perParameter[i].ShapeString}.", nameof(tensors));
            }
        if (missing.Count > 0)
            throw new ArgumentException($"{Kind} state is missing {missing.Count} tensor(s): {string.Join(", ", missing.Take(5))}{(missing.Count > 5 ? ", ..." : "")}.", nameof(tensors));
        var unexpected = tensors.Keys.Where(k => !expected.Contains(k)).ToList();
        if (unexpected.Count > 0)
            throw new ArgumentException($"{Kind} state has {unexpected.Count} unexpected tensor(s): {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? ", ..." : "")} (wrong optimizer kind or settings?).", nameof(tensors));

        foreach (var (name, perParameter) in _state)
            for (int i = 0; i < _parameters.Length; i++)
                tensors[StateKey(name, i)].Span.CopyTo(perParameter[i].Span);
        StepCount = stepCount;
    }

    /// <summary>Allocates one zero tensor per parameter (shaped like it) for the named state, e.g. "exp_avg".</summary>
    protected internal Tensor[] CreateState(string name)
    {
        var perParameter = new Tensor[_parameters.Length];
        for (int i = 0; i < perParameter.Length; i++) perParameter[i] = new Tensor(_parameters[i].Value.Shape);
        _state.Add((name, perParameter));
        return perParameter;
    }

    private string StateKey(string name, int parameter) => name + "." + _parameters[parameter].Name;

    /// <summary>
    /// The double nearest the shortest decimal that round-trips <paramref name="x"/>: the value a
    /// Python user would have written (0.999f → 0.999, not 0.99900001287...). Allocates nothing.
    /// </summary>
    internal static double AsDecimal(float x)
    {
        if (!float.IsFinite(x)) return x;
        Span<char> text = stackalloc char[32];
        x.TryFormat(text, out int written, "R", CultureInfo.InvariantCulture);
        return double.Parse(text[..written], NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    internal static void RequireInRange(float value, float min, float maxExclusive, string name, string range)
    {
        if (!(value >= min && value < maxExclusive))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in {range}.");
    }

    internal static void RequireNonNegative(float value, string name)
    {
        if (!(value >= 0) || !float.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and >= 0.");
    }

    /// <summary>Returns <paramref name="value"/> if it is finite and &gt; 0 (usable in a base-constructor call).</summary>
    internal static float RequirePositive(float value, string name)
    {
        if (!(value > 0) || !float.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and > 0.");
        return value;
    }
}
