using Recurrent.Numerics;

namespace Recurrent.Optimizers;

/// <summary>
/// RMSprop (Hinton), optionally centered and with momentum, exactly as torch.optim.RMSprop:
/// <code>
/// g = g + λ·p
/// s = α·s + (1 − α)·g²
/// a = √(s − ḡ²) + ε  with ḡ = α·ḡ + (1 − α)·g   (centered)
/// a = √s + ε                                     (otherwise)
/// b = μ·b + g / a;  p = p − lr·b                (momentum μ &gt; 0)
/// p = p − lr·g / a                              (otherwise)
/// </code>
/// State: "square_avg.&lt;name&gt;", plus "momentum_buffer.&lt;name&gt;" with momentum and
/// "grad_avg.&lt;name&gt;" when centered.
/// </summary>
public sealed class RmsProp : Optimizer
{
    private readonly Tensor[] _squareAvg;
    private readonly Tensor[]? _gradAvg, _buffers;
    private readonly float _oneMinusAlpha;

    /// <summary>An RMSprop optimizer with PyTorch's defaults (lr 1e-2, alpha 0.99, eps 1e-8) and zeroed state.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, &gt; 0.</param>
    /// <param name="alpha">Smoothing α of the squared-gradient average, in [0, 1).</param>
    /// <param name="eps">ε &gt; 0, added to the root of the average.</param>
    /// <param name="momentum">Momentum μ in [0, 1); 0 disables it (no buffer).</param>
    /// <param name="centered">Normalise by the estimated variance (s − ḡ²) instead of s.</param>
    /// <param name="weightDecay">L2 penalty λ ≥ 0, added to the gradient.</param>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> is empty, holds null, or has an empty or repeated name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is outside its range.</exception>
    public RmsProp(IReadOnlyList<Parameter> parameters, float lr = 1e-2f, float alpha = 0.99f, float eps = 1e-8f, float momentum = 0, bool centered = false, float weightDecay = 0)
        : base(parameters, RequirePositive(lr, nameof(lr)))
    {
        RequireInRange(alpha, 0, 1, nameof(alpha), "[0, 1)");
        RequirePositive(eps, nameof(eps));
        RequireInRange(momentum, 0, 1, nameof(momentum), "[0, 1)");
        RequireNonNegative(weightDecay, nameof(weightDecay));
        Alpha = alpha; Eps = eps; Momentum = momentum; Centered = centered; WeightDecay = weightDecay;
        _oneMinusAlpha = (float)(1 - AsDecimal(alpha));
        _squareAvg = CreateState("square_avg");
        if (momentum != 0) _buffers = CreateState("momentum_buffer");
        if (centered) _gradAvg = CreateState("grad_avg");
    }

    /// <summary>Smoothing α of the squared-gradient average s, in [0, 1).</summary>
    public float Alpha { get; }
    /// <summary>ε &gt; 0, added to the root of the (centered) average.</summary>
    public float Eps { get; }
    /// <summary>Momentum μ in [0, 1); 0 means no momentum buffer.</summary>
    public float Momentum { get; }
    /// <summary>Whether the update divides by √(s − ḡ²), with ḡ the running mean of the gradient (state <c>grad_avg</c>), instead of √s.</summary>
    public bool Centered { get; }
    /// <summary>L2 penalty λ ≥ 0: λ·p is added to the gradient (0: none).</summary>
    public float WeightDecay { get; }

    /// <inheritdoc/>
    public override string Kind => "rmsprop";

    /// <inheritdoc/>
    protected override void Update(long step)
    {
        var scalars = new OptimizerKernels.RmsPropScalars(
            NegLr: (float)-LearningRateAsDecimal, Alpha: Alpha, OneMinusAlpha: _oneMinusAlpha,
            Eps: Eps, Momentum: Momentum, WeightDecay: WeightDecay, Centered: Centered);
        var simd = OptimizerKernels.Preferred;
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            Span<float> gradAvg = _gradAvg is null ? default : _gradAvg[i].Span;
            Span<float> buffer = _buffers is null ? default : _buffers[i].Span;
            OptimizerKernels.RmsProp(simd, p.Span, p.GradSpan, _squareAvg[i].Span, gradAvg, buffer, scalars);
        }
    }
}
