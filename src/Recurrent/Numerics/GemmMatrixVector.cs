using System.Runtime.CompilerServices;

namespace Recurrent.Numerics;

/// <summary>
/// Matrix-vector products for GEMMs with one row or one column of output (batch-1 inference),
/// where packing would cost more than it saves:
/// <c>y[j] = alpha * Σ_p M(j, p) * x[p] + beta * y[j]</c> for j &lt; count, p &lt; k, x contiguous.
/// <list type="bullet">
/// <item><see cref="ByRows"/>: M(j, p) = <c>mat[j * ld + p]</c>; each output is a dot product of a contiguous row with x.</item>
/// <item><see cref="ByColumns"/>: M(j, p) = <c>mat[p * ld + j]</c>; x[p] scales contiguous row segments (axpy form).</item>
/// </list>
/// Every output is computed by the same sequence of operations wherever it sits in the range,
/// so splitting the range between threads (at multiples of <see cref="SplitUnit"/>) never changes the bits.
/// </summary>
internal static unsafe class GemmMatrixVector
{
    /// <summary>Outputs are handed to threads in multiples of this many (a multiple of every column block).</summary>
    public const int SplitUnit = 128;

    /// <summary>y[j] = alpha * dot(mat[j * ld .. j * ld + k], x) + beta * y[j * incy], four rows at a time.</summary>
    public static void ByRows<TS, TV>(float* mat, nint ld, float* x, int k, int count,
        float alpha, float beta, float* y, nint incy)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        for (int j = 0; j < count; j += 4)
        {
            // Rows past the end repeat the last real row (computed, then dropped), so every
            // output goes through the same four-row code.
            float* r0 = mat + j * ld;
            float* r1 = j + 1 < count ? r0 + ld : r0;
            float* r2 = j + 2 < count ? r1 + ld : r1;
            float* r3 = j + 3 < count ? r2 + ld : r2;
            Dot4<TS, TV>(r0, r1, r2, r3, x, k, out float s0, out float s1, out float s2, out float s3);
            Write(y + j * incy, s0, alpha, beta);
            if (j + 1 < count) Write(y + (j + 1) * incy, s1, alpha, beta);
            if (j + 2 < count) Write(y + (j + 2) * incy, s2, alpha, beta);
            if (j + 3 < count) Write(y + (j + 3) * incy, s3, alpha, beta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(float* y, float s, float alpha, float beta) =>
        *y = beta == 0 ? alpha * s : alpha * s + beta * *y;

    /// <summary>Four dot products of length k with the same x, two vectors deep per row to hide FMA latency.</summary>
    private static void Dot4<TS, TV>(float* r0, float* r1, float* r2, float* r3, float* x, int k,
        out float s0, out float s1, out float s2, out float s3)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        int w = TS.Width;
        TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
        TV b0 = TS.Zero, b1 = TS.Zero, b2 = TS.Zero, b3 = TS.Zero;
        int p = 0;
        for (; p <= k - 2 * w; p += 2 * w)
        {
            TV x0 = TS.Load(x + p), x1 = TS.Load(x + p + w);
            a0 = TS.MultiplyAdd(TS.Load(r0 + p), x0, a0); b0 = TS.MultiplyAdd(TS.Load(r0 + p + w), x1, b0);
            a1 = TS.MultiplyAdd(TS.Load(r1 + p), x0, a1); b1 = TS.MultiplyAdd(TS.Load(r1 + p + w), x1, b1);
            a2 = TS.MultiplyAdd(TS.Load(r2 + p), x0, a2); b2 = TS.MultiplyAdd(TS.Load(r2 + p + w), x1, b2);
            a3 = TS.MultiplyAdd(TS.Load(r3 + p), x0, a3); b3 = TS.MultiplyAdd(TS.Load(r3 + p + w), x1, b3);
        }
        if (p <= k - w)
        {
            TV x0 = TS.Load(x + p);
            a0 = TS.MultiplyAdd(TS.Load(r0 + p), x0, a0);
            a1 = TS.MultiplyAdd(TS.Load(r1 + p), x0, a1);
            a2 = TS.MultiplyAdd(TS.Load(r2 + p), x0, a2);
            a3 = TS.MultiplyAdd(TS.Load(r3 + p), x0, a3);
            p += w;
        }
        s0 = TS.Sum(TS.Add(a0, b0));
        s1 = TS.Sum(TS.Add(a1, b1));
        s2 = TS.Sum(TS.Add(a2, b2));
        s3 = TS.Sum(TS.Add(a3, b3));
        for (; p < k; p++)
        {
            float xp = x[p];
            s0 = TS.ScalarMultiplyAdd(r0[p], xp, s0);
            s1 = TS.ScalarMultiplyAdd(r1[p], xp, s1);
            s2 = TS.ScalarMultiplyAdd(r2[p], xp, s2);
            s3 = TS.ScalarMultiplyAdd(r3[p], xp, s3);
        }
    }

    /// <summary>y[j] = alpha * Σ_p mat[p * ld + j] * x[p] + beta * y[j * incy]: blocks of 8 vectors of outputs, then single vectors, then scalars.</summary>
    public static void ByColumns<TS, TV>(float* mat, nint ld, float* x, int k, int count,
        float alpha, float beta, float* y, nint incy)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        int w = TS.Width;
        float* acc = stackalloc float[8 * 16];
        int j = 0;
        for (; j <= count - 8 * w; j += 8 * w)
        {
            TV c0 = TS.Zero, c1 = TS.Zero, c2 = TS.Zero, c3 = TS.Zero;
            TV c4 = TS.Zero, c5 = TS.Zero, c6 = TS.Zero, c7 = TS.Zero;
            float* row = mat + j;
            for (int p = 0; p < k; p++, row += ld)
            {
                TV xp = TS.Broadcast(x[p]);
                c0 = TS.MultiplyAdd(xp, TS.Load(row), c0);
                c1 = TS.MultiplyAdd(xp, TS.Load(row + w), c1);
                c2 = TS.MultiplyAdd(xp, TS.Load(row + 2 * w), c2);
                c3 = TS.MultiplyAdd(xp, TS.Load(row + 3 * w), c3);
                c4 = TS.MultiplyAdd(xp, TS.Load(row + 4 * w), c4);
                c5 = TS.MultiplyAdd(xp, TS.Load(row + 5 * w), c5);
                c6 = TS.MultiplyAdd(xp, TS.Load(row + 6 * w), c6);
                c7 = TS.MultiplyAdd(xp, TS.Load(row + 7 * w), c7);
            }
            TS.Store(acc, c0); TS.Store(acc + w, c1); TS.Store(acc + 2 * w, c2); TS.Store(acc + 3 * w, c3);
            TS.Store(acc + 4 * w, c4); TS.Store(acc + 5 * w, c5); TS.Store(acc + 6 * w, c6); TS.Store(acc + 7 * w, c7);
            for (int q = 0; q < 8 * w; q++) Write(y + (j + q) * incy, acc[q], alpha, beta);
        }
        for (; j <= count - w; j += w)
        {
            TV c0 = TS.Zero;
            float* row = mat + j;
            for (int p = 0; p < k; p++, row += ld)
                c0 = TS.MultiplyAdd(TS.Broadcast(x[p]), TS.Load(row), c0);
            TS.Store(acc, c0);
            for (int q = 0; q < w; q++) Write(y + (j + q) * incy, acc[q], alpha, beta);
        }
        for (; j < count; j++)
        {
            float s = 0;
            float* e = mat + j;
            for (int p = 0; p < k; p++, e += ld) s = TS.ScalarMultiplyAdd(x[p], *e, s);
            Write(y + j * incy, s, alpha, beta);
        }
    }
}
