using System.Runtime.CompilerServices;
namespace Recurrent.Numerics;

/// <summary>Long gradient sums (over T·B steps) with float GEMMs on chunks and double between them.</summary>
internal static class GradientSums
{
    /// <summary>
    /// grad [m, n] += aᵀ·b summed over <paramref name="rows"/> (a [rows, m], b [rows, n]): a weight
    /// gradient summed over every step of every sequence. The rows go in at most 16 chunks (of at
    /// least 32), each chunk's product a float GEMM, the chunks added in double and rounded once,
    /// so the long sum over T·B does not accumulate float rounding chunk after chunk (as a running
    /// float sum, or PyTorch's step after step, does). The gradient is done in bands of its rows so
    /// that the double sums hold at most <paramref name="bandValues"/> values (8 MB by default); the
    /// extra cost is one pass over the gradient per chunk.
    /// </summary>
    /// <param name="compute">Threads and SIMD level of the GEMMs.</param>
    /// <param name="a">[rows, m], row-major.</param>
    /// <param name="m">Rows of the gradient.</param>
    /// <param name="b">[rows, n], row-major.</param>
    /// <param name="n">Columns of the gradient.</param>
    /// <param name="rows">The length of the sum (T·B).</param>
    /// <param name="grad">[m, n], added to.</param>
    /// <param name="sum">Scratch, grown as needed and kept by the caller.</param>
    /// <param name="product">Scratch, resized as needed.</param>
    /// <param name="bandValues">The most double values held at once.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddTransposedProduct(Compute compute, ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int rows, Span<float> grad,
        ref double[] sum, Tensor product, int bandValues = 1 << 20)
    {
        ArgumentNullException.ThrowIfNull(compute);
        ArgumentNullException.ThrowIfNull(product);
        int chunk = Math.Max(32, (rows + 15) / 16);
        if (rows <= chunk || n == 0 || m == 0)
        {
            Gemm.Multiply(compute, true, false, m, n, rows, 1f, a, m, b, n, 1f, grad, n);
            return;
        }
        int band = Math.Min(m, Math.Max(1, bandValues / n));
        if (sum.Length < band * n) sum = new double[band * n];
        product.Resize(band, n);
        for (int first = 0; first < m; first += band)
        {
            int bandRows = Math.Min(band, m - first);
            var bandSum = sum.AsSpan(0, bandRows * n);
            var gradBand = grad.Slice(first * n, bandRows * n);
            for (int i = 0; i < bandSum.Length; i++) bandSum[i] = gradBand[i];
            var bandProduct = product.Span[..(bandRows * n)];
            for (int start = 0; start < rows; start += chunk)
            {
                int count = Math.Min(chunk, rows - start);
                // Columns first..first+bandRows of a's rows start..start+count, as aᵀ.
                Gemm.Multiply(compute, true, false, bandRows, n, count, 1f, a.Slice(start * m + first, (count - 1) * m + bandRows), m,
                    b.Slice(start * n, count * n), n, 0f, bandProduct, n);
                Kernels.AddToDouble(bandProduct, bandSum);
            }
            for (int i = 0; i < bandSum.Length; i++) gradBand[i] = (float)bandSum[i];
        }
    }
}
