using Recurrent.Numerics;

namespace Recurrent.Optimizers;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum, dampening and L2
/// weight decay, exactly as torch.optim.SGD:
/// <code>
/// d = g + λ·p
/// b = d                       (first step)
/// b = μ·b + (1 − τ)·d          (later steps)
/// d = b,  or  d = d + μ·b     (Nesterov)
/// p = p − lr·d
/// </code>
/// State (with momentum only): "momentum_buffer.&lt;name&gt;".
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly Tensor[]? _buffers;
    private readonly float _oneMinusDampening;

    /// <summary>An SGD optimizer; with momentum it allocates one zeroed momentum buffer per parameter.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, &gt; 0.</param>
    /// <param name="momentum">Momentum μ in [0, 1); 0 disables momentum (no state).</param>
    /// <param name="nesterov">Nesterov momentum; needs momentum &gt; 0 and dampening 0.</param>
    /// <param name="weightDecay">L2 penalty λ ≥ 0, added to the gradient.</param>
    /// <param name="dampening">Dampening τ in [0, 1] of the momentum buffer's gradient term.</param>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> is empty, holds null, or has an empty or repeated name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is outside its range, or <paramref name="nesterov"/> is set with momentum 0 or dampening other than 0.</exception>
    public Sgd(IReadOnlyList<Parameter> parameters, float lr, float momentum = 0, bool nesterov = false, float weightDecay = 0, float dampening = 0)
        : base(parameters, RequirePositive(lr, nameof(lr)))
    {
        RequireInRange(momentum, 0, 1, nameof(momentum), "[0, 1)");
        RequireNonNegative(weightDecay, nameof(weightDecay));
        if (!(dampening >= 0 && dampening <= 1))
            throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "dampening must be in [0, 1].");
        if (nesterov && momentum == 0)
            throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Nesterov momentum needs momentum in (0, 1).");
        if (nesterov && dampening != 0)
            throw new ArgumentOutOfRangeException(nameof(dampening), dampening, "Nesterov momentum needs dampening 0.");
        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
        Dampening = dampening;
        _oneMinusDampening = (float)(1.0 - AsDecimal(dampening));
        if (momentum != 0) _buffers = CreateState("momentum_buffer");
    }

    /// <summary>Momentum μ in [0, 1); 0 means plain SGD (no momentum buffer).</summary>
    public float Momentum { get; }
    /// <summary>Whether the update uses Nesterov momentum, d = d + μ·b.</summary>
    public bool Nesterov { get; }
    /// <summary>L2 penalty λ ≥ 0: λ·p is added to the gradient (0: none).</summary>
    public float WeightDecay { get; }
    /// <summary>Dampening τ in [0, 1]: the momentum buffer adds (1 − τ)·d after the first step.</summary>
    public float Dampening { get; }

    /// <inheritdoc/>
    public override string Kind => "sgd";

    /// <inheritdoc/>
    protected override void Update(long step)
    {
        float negLr = (float)-LearningRateAsDecimal;
        var simd = OptimizerKernels.Preferred;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            Span<float> buffer = _buffers is null ? default : _buffers[i].Span;
            // PyTorch starts the buffer as a copy of the first (decayed) gradient, undamped.
            OptimizerKernels.Sgd(simd, p.Span, p.GradSpan, buffer, negLr, WeightDecay, Momentum, _oneMinusDampening, Nesterov, firstStep: step == 1);
        }
    }
}
