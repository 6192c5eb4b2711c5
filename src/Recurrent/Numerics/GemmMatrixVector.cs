using System.Runtime.CompilerServices;

namespace Recurrent.Numerics;

/// <summary>
/// Products with a few rows (or one column) of output — batch-1 and small-batch inference —
/// where packing would cost more than it saves. With X a few vectors of length k (x_i at
/// <c>x + i * ldx</c>, i &lt; rows) and M a count×k matrix:
/// <c>y(i, j) = alpha * Σ_p M(j, p) * x_i[p] + beta * y(i, j)</c>, y(i, j) at <c>y + i * ldy + j * incy</c>.
/// <list type="bullet">
/// <item><see cref="ByRows"/>: M(j, p) = <c>mat[j * ld + p]</c>; each output is a dot product of a contiguous row of M with x_i.</item>
/// <item><see cref="ByColumns"/>: M(j, p) = <c>mat[p * ld + j]</c>; x_i[p] scales contiguous row segments (axpy form).</item>
/// </list>
/// Either way M is read once from memory for all rows of X. Every output is computed by the
/// same sequence of operations wherever it sits in the range, so splitting the range between
/// threads (at multiples of <see cref="SplitUnit"/>) never changes the bits.
/// </summary>
internal static unsafe class GemmMatrixVector
{
    /// <summary>Outputs are handed to threads in multiples of this many (a multiple of every column block).</summary>
    public const int SplitUnit = 128;

    /// <summary>The most rows of X these kernels take; more rows go to the packed GEMM.</summary>
    public const int MaxRows = 4;

    /// <summary>y(i, j) = alpha * dot(mat[j * ld ..], x_i) + beta * y(i, j), four rows of M at a time, rows of X one or two at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ByRows<TS, TV>(float* mat, nint ld, float* x, nint ldx, int rows, int k, int count,
        float alpha, float beta, float* y, nint ldy, nint incy)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        float* sums = stackalloc float[8];
        for (int j = 0; j < count; j += 4)
        {
            // Rows past the end repeat the last real row (computed, then dropped), so every
            // output goes through the same four-row code.
            float* r0 = mat + j * ld;
            float* r1 = j + 1 < count ? r0 + ld : r0;
            float* r2 = j + 2 < count ? r1 + ld : r1;
            float* r3 = j + 3 < count ? r2 + ld : r2;
            int valid = Math.Min(4, count - j);
            if (rows == 1)
            {
                Dot4x1<TS, TV>(r0, r1, r2, r3, x, k, sums);
                for (int q = 0; q < valid; q++) Write(y + (j + q) * incy, sums[q], alpha, beta);
                continue;
            }
            for (int i = 0; i < rows; i += 2)
            {
                float* x0 = x + i * ldx;
                float* x1 = i + 1 < rows ? x0 + ldx : x0;
                Dot4x2<TS, TV>(r0, r1, r2, r3, x0, x1, k, sums);
                for (int q = 0; q < valid; q++)
                {
                    Write(y + i * ldy + (j + q) * incy, sums[q], alpha, beta);
                    if (i + 1 < rows) Write(y + (i + 1) * ldy + (j + q) * incy, sums[4 + q], alpha, beta);
                }
            }
        }
    }

    /// <summary>Four dot products of length k with the same x, two vectors deep per row to hide FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dot4x1<TS, TV>(float* r0, float* r1, float* r2, float* r3, float* x, int k, float* sums)
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
        float s0 = TS.Sum(TS.Add(a0, b0)), s1 = TS.Sum(TS.Add(a1, b1));
        float s2 = TS.Sum(TS.Add(a2, b2)), s3 = TS.Sum(TS.Add(a3, b3));
        for (; p < k; p++)
        {
            float xp = x[p];
            s0 = TS.ScalarMultiplyAdd(r0[p], xp, s0);
            s1 = TS.ScalarMultiplyAdd(r1[p], xp, s1);
            s2 = TS.ScalarMultiplyAdd(r2[p], xp, s2);
            s3 = TS.ScalarMultiplyAdd(r3[p], xp, s3);
        }
        sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
    }

    /// <summary>Eight dot products of length k: four rows of M with each of two vectors (sums[q] with x0, sums[4 + q] with x1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4x2<TS, TV>(float* r0, float* r1, float* r2, float* r3, float* x0, float* x1, int k, float* sums)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        int w = TS.Width;
        TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
        TV b0 = TS.Zero, b1 = TS.Zero, b2 = TS.Zero, b3 = TS.Zero;
        int p = 0;
        for (; p <= k - w; p += w)
        {
            TV u = TS.Load(x0 + p), v = TS.Load(x1 + p);
            TV m = TS.Load(r0 + p);
            a0 = TS.MultiplyAdd(m, u, a0); b0 = TS.MultiplyAdd(m, v, b0);
            m = TS.Load(r1 + p);
            a1 = TS.MultiplyAdd(m, u, a1); b1 = TS.MultiplyAdd(m, v, b1);
            m = TS.Load(r2 + p);
            a2 = TS.MultiplyAdd(m, u, a2); b2 = TS.MultiplyAdd(m, v, b2);
            m = TS.Load(r3 + p);
            a3 = TS.MultiplyAdd(m, u, a3); b3 = TS.MultiplyAdd(m, v, b3);
        }
        float s0 = TS.Sum(a0), s1 = TS.Sum(a1), s2 = TS.Sum(a2), s3 = TS.Sum(a3);
        float t0 = TS.Sum(b0), t1 = TS.Sum(b1), t2 = TS.Sum(b2), t3 = TS.Sum(b3);
        for (; p < k; p++)
        {
            float u = x0[p], v = x1[p];
            s0 = TS.ScalarMultiplyAdd(r0[p], u, s0); t0 = TS.ScalarMultiplyAdd(r0[p], v, t0);
            s1 = TS.ScalarMultiplyAdd(r1[p], u, s1); t1 = TS.ScalarMultiplyAdd(r1[p], v, t1);
            s2 = TS.ScalarMultiplyAdd(r2[p], u, s2); t2 = TS.ScalarMultiplyAdd(r2[p], v, t2);
            s3 = TS.ScalarMultiplyAdd(r3[p], u, s3); t3 = TS.ScalarMultiplyAdd(r3[p], v, t3);
        }
        sums[0] = s0; sums[1] = s1; sums[2] = s2; sums[3] = s3;
        sums[4] = t0; sums[5] = t1; sums[6] = t2; sums[7] = t3;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Write(float* y, float s, float alpha, float beta) =>
        *y = beta == 0 ? alpha * s : alpha * s + beta * *y;

    /// <summary>Four dot products of length k with the same x, two vectors deep per row to hide FMA latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    /// <summary>Outputs accumulated at once by <see cref="ByColumns"/>: strips of y that stay in L1 while rows of M stream past.</summary>
    private const int ColumnStrip = 4096;

    /// <summary>
    /// y(i, j) = alpha * Σ_p mat[p * ld + j] * x_i[p] + beta * y(i, j). For each strip of outputs, the
    /// rows of M are streamed four at a time (contiguous reads the prefetchers follow) into
    /// accumulator strips, one per x_i: acc[j] = x[p+3]·M[p+3, j] + (x[p+2]·M[p+2, j] + (… + acc[j])),
    /// one fused multiply-add per element in p order, in vector lanes or scalars alike.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ByColumns<TS, TV>(float* mat, nint ld, float* x, nint ldx, int rows, int k, int count,
        float alpha, float beta, float* y, nint ldy, nint incy)
        where TS : struct, ISimdOps<TV> where TV : struct
    {
        int w = TS.Width;
        int strip = ColumnStrip / rows & ~15;
        float* acc = stackalloc float[ColumnStrip];
        for (int j0 = 0; j0 < count; j0 += strip)
        {
            int width = Math.Min(strip, count - j0);
            int vectorWidth = width / w * w;
            new Span<float>(acc, rows * width).Clear();
            float* row = mat + j0;
            int p = 0;
            for (; p + 4 <= k; p += 4, row += 4 * ld)
            {
                float* m0 = row, m1 = row + ld, m2 = row + 2 * ld, m3 = row + 3 * ld;
                for (int i = 0; i < rows; i++)
                {
                    float* xi = x + i * ldx + p;
                    float* ai = acc + i * width;
                    TV x0 = TS.Broadcast(xi[0]), x1 = TS.Broadcast(xi[1]), x2 = TS.Broadcast(xi[2]), x3 = TS.Broadcast(xi[3]);
                    int j = 0;
                    for (; j < vectorWidth; j += w)
                    {
                        TV a = TS.MultiplyAdd(x0, TS.Load(m0 + j), TS.Load(ai + j));
                        a = TS.MultiplyAdd(x1, TS.Load(m1 + j), a);
                        a = TS.MultiplyAdd(x2, TS.Load(m2 + j), a);
                        TS.Store(ai + j, TS.MultiplyAdd(x3, TS.Load(m3 + j), a));
                    }
                    for (; j < width; j++)
                    {
                        float a = TS.ScalarMultiplyAdd(xi[0], m0[j], ai[j]);
                        a = TS.ScalarMultiplyAdd(xi[1], m1[j], a);
                        a = TS.ScalarMultiplyAdd(xi[2], m2[j], a);
                        ai[j] = TS.ScalarMultiplyAdd(xi[3], m3[j], a);
                    }
                }
            }
            for (; p < k; p++, row += ld)
            {
                for (int i = 0; i < rows; i++)
                {
                    float xp = x[i * ldx + p];
                    float* ai = acc + i * width;
                    TV xv = TS.Broadcast(xp);
                    int j = 0;
                    for (; j < vectorWidth; j += w)
                        TS.Store(ai + j, TS.MultiplyAdd(xv, TS.Load(row + j), TS.Load(ai + j)));
                    for (; j < width; j++)
                        ai[j] = TS.ScalarMultiplyAdd(xp, row[j], ai[j]);
                }
            }
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < width; j++)
                    Write(y + i * ldy + (j0 + j) * incy, acc[i * width + j], alpha, beta);
        }
    }
}
