using System.Numerics.Tensors;
using Recurrent.Numerics;

namespace Recurrent.Optimizers;

/// <summary>
/// Gradient clipping, as torch.nn.utils.clip_grad_norm_ (L2 norm) and clip_grad_value_.
/// Norms are accumulated in double, in a fixed order, so the result does not depend on the CPU.
/// </summary>
public static class GradientClipping
{
    /// <summary>‖g‖₂ over all gradients together, as if concatenated into one vector.</summary>
    public static double GlobalNorm(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sum = 0;
        foreach (var p in parameters) sum += OptimizerKernels.SumOfSquares(OptimizerKernels.Preferred, p.GradSpan);
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales every gradient by c = maxNorm / (‖g‖₂ + 1e-6) when c &lt; 1, exactly like
    /// clip_grad_norm_, so the norm afterwards is maxNorm·‖g‖/(‖g‖ + 1e-6) — maxNorm to within
    /// 1e-6/‖g‖ relative. Returns the norm before clipping (non-finite if a gradient is; such
    /// gradients are left as they are, and the caller should skip the step).
    /// </summary>
    public static double ClipByGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0) || !double.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be finite and > 0.");
        var list = parameters as IReadOnlyCollection<Parameter> ?? parameters.ToList();
        double norm = GlobalNorm(list);
        double coefficient = maxNorm / (norm + 1e-6);
        if (coefficient < 1)
        {
            float c = (float)coefficient;
            foreach (var p in list) TensorPrimitives.Multiply(p.GradSpan, c, p.GradSpan);
        }
        return norm;
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue] (NaN stays NaN), like clip_grad_value_.</summary>
    public static void ClipByValue(IEnumerable<Parameter> parameters, float clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue > 0) || !float.IsFinite(clipValue))
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "clipValue must be finite and > 0.");
        foreach (var p in parameters)
        {
            var g = p.GradSpan;
            if (g.IsEmpty) continue;
            TensorPrimitives.Max(g, -clipValue, g);
            TensorPrimitives.Min(g, clipValue, g);
        }
    }
}
