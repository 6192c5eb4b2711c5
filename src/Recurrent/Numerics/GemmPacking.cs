using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Numerics;

/// <summary>
/// Packing of GEMM operands into micro-panels: a panel of <c>lanes</c> (≤ w) rows or columns of
/// op(A) or op(B), kc deep, stored as <c>dst[p * w + r]</c> (depth-major, lanes contiguous) and
/// zero-filled for lanes ≥ <c>lanes</c>, so a micro-kernel reads it with unit stride.
/// Two source layouts cover all four transpose cases:
/// <list type="bullet">
/// <item><see cref="PackAlongLanes"/>: lane r, depth p at <c>src[p * ld + r]</c> (op(B) not transposed, or op(A) transposed): row copies.</item>
/// <item><see cref="PackAlongDepth"/>: lane r, depth p at <c>src[r * ld + p]</c> (op(A) not transposed, or op(B) transposed): a transpose.</item>
/// </list>
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>Packs a panel whose lanes are contiguous in the source (copies kc rows of <paramref name="lanes"/> floats).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackAlongLanes(float* src, nint ld, int lanes, int kc, int w, float* dst, SimdLevel level)
    {
        if (lanes == w && level >= SimdLevel.Avx2 && (w & 7) == 0)
        {
            for (int p = 0; p < kc; p++, src += ld, dst += w)
                for (int r = 0; r < w; r += 8)
                    Vector256.Store(Vector256.Load(src + r), dst + r);
            return;
        }
        for (int p = 0; p < kc; p++, src += ld, dst += w)
        {
            int r = 0;
            for (; r < lanes; r++) dst[r] = src[r];
            for (; r < w; r++) dst[r] = 0;
        }
    }

    /// <summary>
    /// Packs consecutive lane-contiguous panels at once (<paramref name="lanes"/> lanes in all, panel q
    /// at <c>dst + q * kc * w</c>), sweeping each source row once: long contiguous reads suit the
    /// hardware prefetchers far better than kc short reads per panel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackAlongLanesWide(float* src, nint ld, int lanes, int kc, int w, float* dst, SimdLevel level)
    {
        int full = lanes / w;
        if (level < SimdLevel.Avx2 || (w & 7) != 0 || full == 0)
        {
            for (int q = 0; q * w < lanes; q++)
                PackAlongLanes(src + q * w, ld, Math.Min(w, lanes - q * w), kc, w, dst + q * kc * w, level);
            return;
        }
        nint panel = (nint)kc * w;
        for (int p = 0; p < kc; p++)
        {
            float* s = src + p * ld;
            float* d = dst + p * w;
            for (int q = 0; q < full; q++, s += w, d += panel)
                for (int r = 0; r < w; r += 8)
                    Vector256.Store(Vector256.Load(s + r), d + r);
        }
        if (full * w < lanes)
            PackAlongLanes(src + full * w, ld, lanes - full * w, kc, w, dst + full * panel, level);
    }

    /// <summary>Packs a panel whose depth is contiguous in the source: <c>dst[p * w + r] = src[r * ld + p]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackAlongDepth(float* src, nint ld, int lanes, int kc, int w, float* dst, SimdLevel level)
    {
        int r0 = 0;
        if (level >= SimdLevel.Avx2)
        {
            int kc8 = kc & ~7;
            for (; r0 + 8 <= lanes; r0 += 8)
            {
                for (int p = 0; p < kc8; p += 8)
                    Transpose8x8(src + r0 * ld + p, ld, dst + p * w + r0, w);
                for (int p = kc8; p < kc; p++)
                    for (int r = r0; r < r0 + 8; r++)
                        dst[p * w + r] = src[r * ld + p];
            }
        }
        for (int r = r0; r < lanes; r++)
        {
            float* s = src + r * ld;
            for (int p = 0; p < kc; p++) dst[p * w + r] = s[p];
        }
        for (int r = lanes; r < w; r++)
            for (int p = 0; p < kc; p++) dst[p * w + r] = 0;
    }

    /// <summary>Writes the transpose of the 8×8 block at <paramref name="src"/> (row stride ld) to <paramref name="dst"/> (row stride ldd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint ld, float* dst, nint ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + ld);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * ld), r3 = Avx.LoadVector256(src + 3 * ld);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * ld), r5 = Avx.LoadVector256(src + 5 * ld);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * ld), r7 = Avx.LoadVector256(src + 7 * ld);
        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldd, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ldd, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ldd, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ldd, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ldd, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ldd, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ldd, Avx.Permute2x128(s3, s7, 0x31));
    }
}

/// <summary>
/// One growable, pinned, 64-byte-aligned scratch buffer per thread for packed panels, so a GEMM
/// allocates nothing once its thread has seen the largest size it needs.
/// </summary>
internal static unsafe class GemmScratch
{
    [ThreadStatic] private static float[]? t_buffer;

    /// <summary>A pointer to at least <paramref name="floats"/> floats, aligned to 64 bytes, valid until the thread's next call.</summary>
    public static float* Get(int floats)
    {
        var buffer = t_buffer;
        if (buffer is null || buffer.Length < floats + 16)
        {
            buffer = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
            t_buffer = buffer;
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((p + 63) & ~(nint)63);
    }

    /// <summary>Rounds a float count up to a whole number of 64-byte lines, to keep sub-buffers aligned.</summary>
    public static int Align(int floats) => (floats + 15) & ~15;
}
