using Recurrent.Numerics;

namespace Recurrent.Optimizers;

/// <summary>
/// Adam (Kingma &amp; Ba) with optional L2 weight decay added to the gradient, exactly as
/// torch.optim.Adam (amsgrad off):
/// <code>
/// g = g + λ·p
/// m = β₁·m + (1 − β₁)·g
/// v = β₂·v + (1 − β₂)·g²
/// p = p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// t is <see cref="Optimizer.StepCount"/> after the increment (1 on the first step). For
/// decoupled decay use <see cref="AdamW"/>. State: "exp_avg.&lt;name&gt;", "exp_avg_sq.&lt;name&gt;".
/// </summary>
public sealed class Adam : Optimizer
{
    private readonly AdamMoments _moments;

    /// <summary>An optimizer with PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, no weight decay) and zeroed moments.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, &gt; 0.</param>
    /// <param name="beta1">First-moment decay β₁ in [0, 1).</param>
    /// <param name="beta2">Second-moment decay β₂ in [0, 1).</param>
    /// <param name="eps">ε &gt; 0, added to the bias-corrected √v.</param>
    /// <param name="weightDecay">L2 penalty λ ≥ 0, added to the gradient before the moments.</param>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> is empty, holds null, or has an empty or repeated name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is outside its range.</exception>
    public Adam(IReadOnlyList<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0)
        : base(parameters, RequirePositive(lr, nameof(lr)))
    {
        _moments = new AdamMoments(this, beta1, beta2, eps, weightDecay);
    }

    /// <summary>First-moment decay β₁, in [0, 1).</summary>
    public float Beta1 => _moments.Beta1;
    /// <summary>Second-moment decay β₂, in [0, 1).</summary>
    public float Beta2 => _moments.Beta2;
    /// <summary>ε &gt; 0, added to the bias-corrected √v in the denominator.</summary>
    public float Eps => _moments.Eps;
    /// <summary>L2 penalty λ ≥ 0: λ·p is added to the gradient before the moments (0: none).</summary>
    public float WeightDecay => _moments.WeightDecay;

    /// <inheritdoc/>
    public override string Kind => "adam";

    /// <inheritdoc/>
    protected override void Update(long step) => _moments.Update(step, LearningRateAsDecimal, decoupled: false);
}

/// <summary>
/// AdamW (Loshchilov &amp; Hutter): Adam with weight decay decoupled from the gradient, exactly
/// as torch.optim.AdamW (amsgrad off):
/// <code>
/// p = p · (1 − lr·λ)
/// m = β₁·m + (1 − β₁)·g
/// v = β₂·v + (1 − β₂)·g²
/// p = p − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
/// </code>
/// State: "exp_avg.&lt;name&gt;", "exp_avg_sq.&lt;name&gt;".
/// </summary>
public sealed class AdamW : Optimizer
{
    private readonly AdamMoments _moments;

    /// <summary>An optimizer with PyTorch's defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01) and zeroed moments.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, &gt; 0.</param>
    /// <param name="beta1">First-moment decay β₁ in [0, 1).</param>
    /// <param name="beta2">Second-moment decay β₂ in [0, 1).</param>
    /// <param name="eps">ε &gt; 0, added to the bias-corrected √v.</param>
    /// <param name="weightDecay">Decoupled decay λ ≥ 0: each step multiplies p by 1 − lr·λ.</param>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> is empty, holds null, or has an empty or repeated name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A hyperparameter is outside its range.</exception>
    public AdamW(IReadOnlyList<Parameter> parameters, float lr = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 1e-2f)
        : base(parameters, RequirePositive(lr, nameof(lr)))
    {
        _moments = new AdamMoments(this, beta1, beta2, eps, weightDecay);
    }

    /// <summary>First-moment decay β₁, in [0, 1).</summary>
    public float Beta1 => _moments.Beta1;
    /// <summary>Second-moment decay β₂, in [0, 1).</summary>
    public float Beta2 => _moments.Beta2;
    /// <summary>ε &gt; 0, added to the bias-corrected √v in the denominator.</summary>
    public float Eps => _moments.Eps;
    /// <summary>Decoupled decay λ ≥ 0: each step first multiplies p by 1 − lr·λ (0: none).</summary>
    public float WeightDecay => _moments.WeightDecay;

    /// <inheritdoc/>
    public override string Kind => "adamw";

    /// <inheritdoc/>
    protected override void Update(long step) => _moments.Update(step, LearningRateAsDecimal, decoupled: true);
}

/// <summary>The moment buffers, hyperparameters and per-step scalars Adam and AdamW share.</summary>
internal sealed class AdamMoments
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Tensor[] _expAvg, _expAvgSq;
    private readonly double _beta1, _beta2, _weightDecay;

    public AdamMoments(Optimizer owner, float beta1, float beta2, float eps, float weightDecay)
    {
        Optimizer.RequireInRange(beta1, 0, 1, nameof(beta1), "[0, 1)");
        Optimizer.RequireInRange(beta2, 0, 1, nameof(beta2), "[0, 1)");
        Optimizer.RequirePositive(eps, nameof(eps));
        Optimizer.RequireNonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        _beta1 = Optimizer.AsDecimal(beta1);
        _beta2 = Optimizer.AsDecimal(beta2);
        _weightDecay = Optimizer.AsDecimal(weightDecay);
        _parameters = owner.Parameters;
        _expAvg = owner.CreateState("exp_avg");
        _expAvgSq = owner.CreateState("exp_avg_sq");
    }

    public float Beta1 { get; }
    public float Beta2 { get; }
    public float Eps { get; }
    public float WeightDecay { get; }

    public void Update(long step, double lr, bool decoupled)
    {
        // Scalars as torch.optim computes them in Python (double), rounded to float where the kernel takes them.
        double biasCorrection1 = 1 - Math.Pow(_beta1, step);
        double biasCorrection2 = 1 - Math.Pow(_beta2, step);
        var scalars = new OptimizerKernels.AdamScalars(
            L2: decoupled ? 0f : WeightDecay,
            Decay: decoupled ? (float)(1 - lr * _weightDecay) : 1f,
            Beta1: Beta1, OneMinusBeta1: (float)(1 - _beta1),
            Beta2: Beta2, OneMinusBeta2: (float)(1 - _beta2),
            BiasCorrection2Sqrt: (float)Math.Sqrt(biasCorrection2),
            Eps: Eps,
            NegStepSize: (float)-(lr / biasCorrection1));
        var simd = OptimizerKernels.Preferred;
        for (int i = 0; i < _parameters.Count; i++)
        {
            var p = _parameters[i];
            OptimizerKernels.Adam(simd, p.Span, p.GradSpan, _expAvg[i].Span, _expAvgSq[i].Span, scalars);
        }
    }
}
