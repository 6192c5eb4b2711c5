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

    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, &gt; 0.</param>
    /// <param name="alpha">Smoothing α of the squared-gradient average, in [0, 1).</param>
    /// <param name="eps">ε &gt; 0, added to the root of the average.</param>
    /// <param name="momentum">Momentum μ in [0, 1); 0 disables it (no buffer).</param>
    /// <param name="centered">Normalise by the estimated variance (s − ḡ²) instead of s.</param>
    /// <param name="weightDecay">L2 penalty λ ≥ 0, added to the gradient.</param>
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

    public float Alpha { get; }
    public float Eps { get; }
    public float Momentum { get; }
    public bool Centered { get; }
    public float WeightDecay { get; }

    public override string Kind => "rmsprop";

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
