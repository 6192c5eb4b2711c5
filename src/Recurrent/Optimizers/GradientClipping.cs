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
        var list = AsList(parameters);
        double sum = 0;
        for (int i = 0; i < list.Count; i++) sum += OptimizerKernels.SumOfSquares(OptimizerKernels.Preferred, list[i].GradSpan);
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Scales every gradient by c = maxNorm / (‖g‖₂ + 1e-6) when c &lt; 1, exactly like
    /// clip_grad_norm_ (c is formed in float32 from the norm, as PyTorch does), so the norm
    /// afterwards is maxNorm·‖g‖/(‖g‖ + 1e-6): maxNorm to within 1e-6/‖g‖ relative plus float
    /// rounding. Returns the norm before clipping. A non-finite norm is returned as it is and the
    /// gradients are left alone; the caller should skip that step.
    /// </summary>
    public static double ClipByGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var list = AsList(parameters);
        if (!(maxNorm > 0) || !double.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be finite and > 0.");
        double norm = GlobalNorm(list);
        if (!double.IsFinite(norm)) return norm;
        float coefficient = (float)maxNorm / ((float)norm + 1e-6f);
        if (coefficient < 1f)
            for (int i = 0; i < list.Count; i++) TensorPrimitives.Multiply(list[i].GradSpan, coefficient, list[i].GradSpan);
        return norm;
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue] (NaN stays NaN), like clip_grad_value_.</summary>
    public static void ClipByValue(IEnumerable<Parameter> parameters, float clipValue)
    {
        var list = AsList(parameters);
        if (!(clipValue > 0) || !float.IsFinite(clipValue))
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, "clipValue must be finite and > 0.");
        for (int i = 0; i < list.Count; i++)
        {
            var g = list[i].GradSpan;
            if (g.IsEmpty) continue;   // TensorPrimitives rejects some empty spans
            TensorPrimitives.Max(g, -clipValue, g);
            TensorPrimitives.Min(g, clipValue, g);
        }
    }

    /// <summary>Indexable view without an enumerator allocation for lists and arrays (the usual case).</summary>
    private static IReadOnlyList<Parameter> AsList(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return parameters as IReadOnlyList<Parameter> ?? parameters.ToArray();
    }
}
