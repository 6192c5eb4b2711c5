using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace Recurrent.Numerics;

/// <summary>
/// Row-wise softmax and log-softmax over the rows of a [rows, cols] matrix, numerically stable:
/// each row subtracts its maximum before exponentiating, and the normaliser is summed in double.
/// Exponentials, maxima and scaling run on <see cref="TensorPrimitives"/>. Output may alias input.
/// </summary>
internal static class Softmax
{
    /// <summary>y_r = exp(x_r − max x_r) / Σ exp(x_r − max x_r) for every row r of width <paramref name="cols"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Rows(ReadOnlySpan<float> x, int cols, Span<float> y)
    {
        int rows = CheckShapes(x, cols, y);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            TensorPrimitives.Subtract(xr, TensorPrimitives.Max(xr), yr);
            TensorPrimitives.Exp(yr, yr);
            TensorPrimitives.Multiply(yr, (float)(1.0 / SumDouble(yr)), yr);
        }
    }

    /// <summary>y_r = x_r − max x_r − log Σ exp(x_r − max x_r) for every row r of width <paramref name="cols"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LogRows(ReadOnlySpan<float> x, int cols, Span<float> y)
    {
        int rows = CheckShapes(x, cols, y);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * cols, cols);
            var yr = y.Slice(r * cols, cols);
            float max = TensorPrimitives.Max(xr);
            TensorPrimitives.Subtract(xr, max, yr);
            // log Σ exp(x − max) without a second buffer: exponentiate, sum, then redo the shift.
            TensorPrimitives.Exp(yr, yr);
            float logZ = (float)Math.Log(SumDouble(yr));
            TensorPrimitives.Subtract(xr, max + logZ, yr);
        }
    }

    /// <summary>dx = y ⊙ (dy − Σ dy ⊙ y) per row: the softmax Jacobian applied to dy, written with the output y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowsBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, int cols, Span<float> dx)
    {
        int rows = CheckShapes(y, cols, dx);
        if (dy.Length != y.Length) throw new ArgumentException($"dy has {dy.Length} values; y has {y.Length}.", nameof(dy));
        for (int r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * cols, cols);
            var dyr = dy.Slice(r * cols, cols);
            double dot = 0;
            for (int i = 0; i < cols; i++) dot += (double)yr[i] * dyr[i];
            var dxr = dx.Slice(r * cols, cols);
            TensorPrimitives.Subtract(dyr, (float)dot, dxr);
            TensorPrimitives.Multiply(dxr, yr, dxr);
        }
    }

    private static double SumDouble(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (float f in v) s += f;
        return s;
    }

    private static int CheckShapes(ReadOnlySpan<float> x, int cols, ReadOnlySpan<float> y)
    {
        if (cols < 1) throw new ArgumentOutOfRangeException(nameof(cols), cols, "cols must be at least 1.");
        if (x.Length % cols != 0) throw new ArgumentException($"x has {x.Length} values, not a multiple of cols = {cols}.", nameof(x));
        if (y.Length != x.Length) throw new ArgumentException($"y has {y.Length} values; x has {x.Length}.", nameof(y));
        return x.Length / cols;
    }
}
