using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Numerics;

/// <summary>
/// The batch-1 step of a recurrent layer as one pass over its weights:
/// <code>y[j] = bias[j] + Σ_p A[j, p]·a[p] + Σ_p B[j, p]·b[p]</code>, j &lt; y.Length,
/// with A [y.Length, a.Length] and B [y.Length, b.Length] row-major (PyTorch's weight_ih and
/// weight_hh as stored, or a band of their rows; no packing) and B optional. Each output is the
/// same sequence of operations whatever band of rows it is computed in, so splitting the rows
/// between threads does not change the bits.
/// </summary>
public static unsafe class MatrixVector
{
    /// <summary>
    /// Writes y. <paramref name="matB"/> and <paramref name="b"/> may both be empty; <paramref name="bias"/>
    /// may be empty for zero. Scalar runs the plain reference loop.
    /// </summary>
    public static void BiasPlusProducts(SimdLevel simd, ReadOnlySpan<float> bias, ReadOnlySpan<float> matA, ReadOnlySpan<float> a,
        ReadOnlySpan<float> matB, ReadOnlySpan<float> b, Span<float> y)
    {
        int ka = a.Length, kb = b.Length, rows = y.Length;
        if (!bias.IsEmpty && bias.Length != rows) throw new ArgumentException($"bias holds {bias.Length} values; y has {rows} rows.", nameof(bias));
        if (matA.Length < (long)rows * ka) throw new ArgumentException($"A holds {matA.Length} values, too few for {rows}×{ka}.", nameof(matA));
        if (matB.Length < (long)rows * kb) throw new ArgumentException($"B holds {matB.Length} values, too few for {rows}×{kb}.", nameof(matB));
        if (rows == 0) return;
        fixed (float* pBias = bias)
        fixed (float* pA = matA)
        fixed (float* pa = a)
        fixed (float* pB = matB)
        fixed (float* pb = b)
        fixed (float* py = y)
        {
            switch (simd)
            {
                case SimdLevel.Avx512: Run<Avx512Ops, Vector512<float>>(pBias, pA, pa, ka, pB, pb, kb, py, rows); break;
                case SimdLevel.Avx2: Run<Avx2Ops, Vector256<float>>(pBias, pA, pa, ka, pB, pb, kb, py, rows); break;
                case SimdLevel.Vector: Run<VectorOps, System.Numerics.Vector<float>>(pBias, pA, pa, ka, pB, pb, kb, py, rows); break;
                default: Reference(pBias, pA, pa, ka, pB, pb, kb, py, rows); break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TS, TV>(float* bias, float* matA, float* a, int ka, float* matB, float* b, int kb, float* y, int rows)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        float* sa = stackalloc float[4];
        float* sb = stackalloc float[4];
        sb[0] = sb[1] = sb[2] = sb[3] = 0;
        for (int j = 0; j < rows; j += 4)
        {
            // Rows past the end repeat the last real row (computed, then dropped).
            int valid = Math.Min(4, rows - j);
            float* r0 = matA + (nint)j * ka;
            float* r1 = valid > 1 ? r0 + ka : r0;
            float* r2 = valid > 2 ? r1 + ka : r1;
            float* r3 = valid > 3 ? r2 + ka : r2;
            GemmMatrixVector.Dot4x1<TS, TV>(r0, r1, r2, r3, a, ka, sa);
            if (kb > 0)
            {
                float* q0 = matB + (nint)j * kb;
                float* q1 = valid > 1 ? q0 + kb : q0;
                float* q2 = valid > 2 ? q1 + kb : q1;
                float* q3 = valid > 3 ? q2 + kb : q2;
                GemmMatrixVector.Dot4x1<TS, TV>(q0, q1, q2, q3, b, kb, sb);
            }
            for (int q = 0; q < valid; q++) y[j + q] = (bias is null ? 0f : bias[j + q]) + sa[q] + sb[q];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Reference(float* bias, float* matA, float* a, int ka, float* matB, float* b, int kb, float* y, int rows)
    {
        for (int j = 0; j < rows; j++)
        {
            float s = 0, t = 0;
            for (int p = 0; p < ka; p++) s = ScalarOps.FusedIfFast(matA[(nint)j * ka + p], a[p], s);
            for (int p = 0; p < kb; p++) t = ScalarOps.FusedIfFast(matB[(nint)j * kb + p], b[p], t);
            y[j] = (bias is null ? 0f : bias[j]) + s + t;
        }
    }
}
