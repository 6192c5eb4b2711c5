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

    /// <summary>Outputs accumulated at once by <see cref="ByColumns"/>: a strip of y that stays in L1 while rows of the matrix stream past.</summary>
    private const int ColumnStrip = 4096;

    /// <summary>
    /// y[j] = alpha * Σ_p mat[p * ld + j] * x[p] + beta * y[j * incy]. For each strip of outputs, the
    /// rows of the matrix are streamed four at a time (contiguous reads the prefetchers follow) into
    /// an accumulator strip: acc[j] = x[p+3]·M[p+3, j] + (x[p+2]·M[p+2, j] + (… + acc[j])), one
    /// fused multiply-add per element in p order, in vector lanes or scalars alike.
    /// </summary>
    public static void ByColumns<TS, TV>(float* mat, nint ld, float* x, int k, int count,
        float alpha, float beta, float* y, nint incy)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        int w = TS.Width;
        float* acc = stackalloc float[ColumnStrip];
        for (int j0 = 0; j0 < count; j0 += ColumnStrip)
        {
            int width = Math.Min(ColumnStrip, count - j0);
            int vectorWidth = width / w * w;
            new Span<float>(acc, width).Clear();
            float* row = mat + j0;
            int p = 0;
            for (; p + 4 <= k; p += 4, row += 4 * ld)
            {
                TV x0 = TS.Broadcast(x[p]), x1 = TS.Broadcast(x[p + 1]), x2 = TS.Broadcast(x[p + 2]), x3 = TS.Broadcast(x[p + 3]);
                float* m0 = row, m1 = row + ld, m2 = row + 2 * ld, m3 = row + 3 * ld;
                int j = 0;
                for (; j < vectorWidth; j += w)
                {
                    TV a = TS.MultiplyAdd(x0, TS.Load(m0 + j), TS.Load(acc + j));
                    a = TS.MultiplyAdd(x1, TS.Load(m1 + j), a);
                    a = TS.MultiplyAdd(x2, TS.Load(m2 + j), a);
                    TS.Store(acc + j, TS.MultiplyAdd(x3, TS.Load(m3 + j), a));
                }
                for (; j < width; j++)
                {
                    float a = TS.ScalarMultiplyAdd(x[p], m0[j], acc[j]);
                    a = TS.ScalarMultiplyAdd(x[p + 1], m1[j], a);
                    a = TS.ScalarMultiplyAdd(x[p + 2], m2[j], a);
                    acc[j] = TS.ScalarMultiplyAdd(x[p + 3], m3[j], a);
                }
            }
            for (; p < k; p++, row += ld)
            {
                TV xp = TS.Broadcast(x[p]);
                int j = 0;
                for (; j < vectorWidth; j += w)
                    TS.Store(acc + j, TS.MultiplyAdd(xp, TS.Load(row + j), TS.Load(acc + j)));
                for (; j < width; j++)
                    acc[j] = TS.ScalarMultiplyAdd(x[p], row[j], acc[j]);
            }
            for (int j = 0; j < width; j++) Write(y + (j0 + j) * incy, acc[j], alpha, beta);
        }
    }
}
