using Recurrent.Numerics;

namespace Recurrent.Diagnostics;

/// <summary>Norm of one parameter's gradient before and after clipping.</summary>
public sealed record ParameterGradientNorm(string Name, double BeforeClip, double AfterClip);

/// <summary>
/// L2 norms of parameter gradients (accumulated in double) and clipping by global norm,
/// as torch.nn.utils.clip_grad_norm_ but without its 1e-6 in the denominator, so that after
/// clipping the global norm equals the threshold to float rounding.
/// </summary>
public static class GradientNorms
{
    /// <summary>‖g‖₂ of one gradient.</summary>
    public static double Of(Parameter parameter) => Math.Sqrt(SumOfSquares(parameter.GradSpan));

    /// <summary>√(Σ_p ‖g_p‖²), the global norm over all the given gradients.</summary>
    public static double Global(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sum = 0;
        foreach (var p in parameters) sum += SumOfSquares(p.GradSpan);
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// When the global norm N exceeds <paramref name="maxNorm"/>, scales every gradient by
    /// maxNorm / N so the global norm becomes maxNorm; otherwise leaves them unchanged. A
    /// non-finite N (an overflowed gradient) is left as it is: no scale can repair it.
    /// Returns N, the norm before clipping.
    /// </summary>
    public static double ClipByGlobalNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        if (!(maxNorm > 0) || !double.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The clipping threshold must be a positive finite number.");
        double norm = Global(parameters);
        if (norm > maxNorm && double.IsFinite(norm))
        {
            float scale = (float)(maxNorm / norm);
            foreach (var p in parameters)
                System.Numerics.Tensors.TensorPrimitives.Multiply(p.GradSpan, scale, p.GradSpan);
        }
        return norm;
    }

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += (double)v * v;
        return sum;
    }
}
