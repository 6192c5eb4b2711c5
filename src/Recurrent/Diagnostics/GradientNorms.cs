using Recurrent.Numerics;

namespace Recurrent.Diagnostics;

/// <summary>Norm of one parameter's gradient before and after clipping.</summary>
/// <param name="Name">The parameter's <c>Name</c> (e.g. <c>weight_hh_l0</c>).</param>
/// <param name="BeforeClip">‖g‖₂ of its gradient before clipping.</param>
/// <param name="AfterClip">‖g‖₂ after clipping by global norm (equal to <c>BeforeClip</c> when there was no clipping).</param>
public sealed record ParameterGradientNorm(string Name, double BeforeClip, double AfterClip);

/// <summary>
/// L2 norms of parameter gradients, accumulated in double (clipping is
/// <see cref="Optimizers.GradientClipping"/>, the trainer's).
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

    private static double SumOfSquares(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += (double)v * v;
        return sum;
    }
}
