using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Numerics;

/// <summary>
/// A register-blocked GEMM micro-kernel and the cache block sizes that feed it.
/// <para>
/// <c>Tile</c> computes one MR×NR tile of C from packed panels:
/// <c>C[i, j] = alpha * Σ_p Ã[p, i] * B̃[p, j] + beta * C[i, j]</c> for i &lt; MR, j &lt; NR, p &lt; kc,
/// where Ã is a kc×MR micro-panel of op(A) stored as <c>a[p * MR + i]</c> and B̃ a kc×NR
/// block of op(B) stored as <c>b[p * ldb + j]</c>: a packed micro-panel (ldb = NR) or, when op(B)
/// is B itself, B's own rows read in place. When beta is 0, C is written without
/// being read. The sum over p runs in order p = 0, 1, …, so the result for an element depends
/// only on kc, never on where the tile sits: this is what makes the threaded GEMM's bits
/// independent of the thread count.
/// </para>
/// </summary>
internal unsafe interface IGemmKernel
{
    /// <summary>Rows of the C tile (the A micro-panel width).</summary>
    static abstract int MR { get; }
    /// <summary>Columns of the C tile (the B micro-panel width).</summary>
    static abstract int NR { get; }
    /// <summary>Rows of op(A) packed at once (an MC×KC block of A stays in L2).</summary>
    static abstract int MC { get; }
    /// <summary>Depth of one rank-kc update (a KC×NR micro-panel of B stays in L1).</summary>
    static abstract int KC { get; }
    /// <summary>Columns of op(B) packed at once (a KC×NC panel of B stays in L3).</summary>
    static abstract int NC { get; }
    /// <summary>The SIMD level this kernel needs; packing routines may use the same instructions.</summary>
    static abstract SimdLevel Level { get; }

    static abstract void Tile(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta);
}

/// <summary>AVX-512F micro-kernel: 8 rows × 32 columns, 16 zmm accumulators, one broadcast of A and two loads of B per step.</summary>
internal readonly unsafe struct Avx512Kernel : IGemmKernel
{
    public static int MR => 8;
    public static int NR => 32;
    public static int MC => 128;
    public static int KC => 256;
    public static int NC => 2048;
    public static SimdLevel Level => SimdLevel.Avx512;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        // Start bringing the C tile in now; it is read only after the kc-long loop.
        for (int i = 0; i < 8; i++)
        {
            Sse.Prefetch0(c + i * ldc);
            Sse.Prefetch0(c + i * ldc + 16);
        }
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(ai, b0, c00); c01 = Avx512F.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(ai, b0, c10); c11 = Avx512F.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(ai, b0, c20); c21 = Avx512F.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(ai, b0, c30); c31 = Avx512F.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(ai, b0, c40); c41 = Avx512F.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(ai, b0, c50); c51 = Avx512F.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(ai, b0, c60); c61 = Avx512F.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(ai, b0, c70); c71 = Avx512F.FusedMultiplyAdd(ai, b1, c71);
            a += 8;
            b += ldb;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0)
        {
            (va * c00).Store(c); (va * c01).Store(c + 16); c += ldc;
            (va * c10).Store(c); (va * c11).Store(c + 16); c += ldc;
            (va * c20).Store(c); (va * c21).Store(c + 16); c += ldc;
            (va * c30).Store(c); (va * c31).Store(c + 16); c += ldc;
            (va * c40).Store(c); (va * c41).Store(c + 16); c += ldc;
            (va * c50).Store(c); (va * c51).Store(c + 16); c += ldc;
            (va * c60).Store(c); (va * c61).Store(c + 16); c += ldc;
            (va * c70).Store(c); (va * c71).Store(c + 16);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Update(c, c00, c01, va, vb); c += ldc;
            Update(c, c10, c11, va, vb); c += ldc;
            Update(c, c20, c21, va, vb); c += ldc;
            Update(c, c30, c31, va, vb); c += ldc;
            Update(c, c40, c41, va, vb); c += ldc;
            Update(c, c50, c51, va, vb); c += ldc;
            Update(c, c60, c61, va, vb); c += ldc;
            Update(c, c70, c71, va, vb);
        }
    }

    /// <summary>c[0..32] = alpha * (x0, x1) + beta * c[0..32].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector512<float> x0, Vector512<float> x1, Vector512<float> va, Vector512<float> vb)
    {
        Avx512F.FusedMultiplyAdd(va, x0, vb * Vector512.Load(c)).Store(c);
        Avx512F.FusedMultiplyAdd(va, x1, vb * Vector512.Load(c + 16)).Store(c + 16);
    }
}

/// <summary>AVX2+FMA micro-kernel: 6 rows × 16 columns, 12 ymm accumulators (fits the 16 ymm registers).</summary>
internal readonly unsafe struct Avx2Kernel : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static int MC => 120;
    public static int KC => 256;
    public static int NC => 2048;
    public static SimdLevel Level => SimdLevel.Avx2;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> ai = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(ai, b0, c00); c01 = Fma.MultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(ai, b0, c10); c11 = Fma.MultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(ai, b0, c20); c21 = Fma.MultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(ai, b0, c30); c31 = Fma.MultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(ai, b0, c40); c41 = Fma.MultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(ai, b0, c50); c51 = Fma.MultiplyAdd(ai, b1, c51);
            a += 6;
            b += ldb;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0)
        {
            (va * c00).Store(c); (va * c01).Store(c + 8); c += ldc;
            (va * c10).Store(c); (va * c11).Store(c + 8); c += ldc;
            (va * c20).Store(c); (va * c21).Store(c + 8); c += ldc;
            (va * c30).Store(c); (va * c31).Store(c + 8); c += ldc;
            (va * c40).Store(c); (va * c41).Store(c + 8); c += ldc;
            (va * c50).Store(c); (va * c51).Store(c + 8);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Update(c, c00, c01, va, vb); c += ldc;
            Update(c, c10, c11, va, vb); c += ldc;
            Update(c, c20, c21, va, vb); c += ldc;
            Update(c, c30, c31, va, vb); c += ldc;
            Update(c, c40, c41, va, vb); c += ldc;
            Update(c, c50, c51, va, vb);
        }
    }

    /// <summary>c[0..16] = alpha * (x0, x1) + beta * c[0..16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, Vector256<float> x0, Vector256<float> x1, Vector256<float> va, Vector256<float> vb)
    {
        Fma.MultiplyAdd(va, x0, vb * Vector256.Load(c)).Store(c);
        Fma.MultiplyAdd(va, x1, vb * Vector256.Load(c + 8)).Store(c + 8);
    }
}

/// <summary>
/// Portable <see cref="Vector{T}"/> micro-kernel: 6 rows × 2 vectors (16 columns where Vector&lt;float&gt;
/// is 256-bit), 12 vector accumulators.
/// </summary>
internal readonly unsafe struct VectorKernel : IGemmKernel
{
    public static int MR => 6;
    public static int NR => 2 * Vector<float>.Count;
    public static int MC => 120;
    public static int KC => 256;
    public static int NC => 2048;
    public static SimdLevel Level => SimdLevel.Vector;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        int w = Vector<float>.Count;
        Vector<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector<float> b0 = Vector.Load(b), b1 = Vector.Load(b + w);
            var ai = new Vector<float>(a[0]);
            c00 = Vector.MultiplyAddEstimate(ai, b0, c00); c01 = Vector.MultiplyAddEstimate(ai, b1, c01);
            ai = new Vector<float>(a[1]);
            c10 = Vector.MultiplyAddEstimate(ai, b0, c10); c11 = Vector.MultiplyAddEstimate(ai, b1, c11);
            ai = new Vector<float>(a[2]);
            c20 = Vector.MultiplyAddEstimate(ai, b0, c20); c21 = Vector.MultiplyAddEstimate(ai, b1, c21);
            ai = new Vector<float>(a[3]);
            c30 = Vector.MultiplyAddEstimate(ai, b0, c30); c31 = Vector.MultiplyAddEstimate(ai, b1, c31);
            ai = new Vector<float>(a[4]);
            c40 = Vector.MultiplyAddEstimate(ai, b0, c40); c41 = Vector.MultiplyAddEstimate(ai, b1, c41);
            ai = new Vector<float>(a[5]);
            c50 = Vector.MultiplyAddEstimate(ai, b0, c50); c51 = Vector.MultiplyAddEstimate(ai, b1, c51);
            a += 6;
            b += ldb;
        }
        var va = new Vector<float>(alpha);
        var vb = new Vector<float>(beta);
        bool overwrite = beta == 0;
        Update(c, w, c00, c01, va, vb, overwrite); c += ldc;
        Update(c, w, c10, c11, va, vb, overwrite); c += ldc;
        Update(c, w, c20, c21, va, vb, overwrite); c += ldc;
        Update(c, w, c30, c31, va, vb, overwrite); c += ldc;
        Update(c, w, c40, c41, va, vb, overwrite); c += ldc;
        Update(c, w, c50, c51, va, vb, overwrite);
    }

    /// <summary>c[0..2w] = alpha * (x0, x1) + beta * c[0..2w], or alpha * (x0, x1) when overwriting.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, int w, Vector<float> x0, Vector<float> x1, Vector<float> va, Vector<float> vb, bool overwrite)
    {
        if (overwrite)
        {
            (va * x0).Store(c);
            (va * x1).Store(c + w);
        }
        else
        {
            Vector.MultiplyAddEstimate(va, x0, vb * Vector.Load(c)).Store(c);
            Vector.MultiplyAddEstimate(va, x1, vb * Vector.Load(c + w)).Store(c + w);
        }
    }
}

/// <summary>Plain scalar micro-kernel: 4 rows × 4 columns of float accumulators (multiply-adds fused where the CPU has FMA).</summary>
internal readonly unsafe struct ScalarKernel : IGemmKernel
{
    public static int MR => 4;
    public static int NR => 4;
    public static int MC => 64;
    public static int KC => 256;
    public static int NC => 1024;
    public static SimdLevel Level => SimdLevel.Scalar;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int kc, float* a, float* b, nint ldb, float* c, nint ldc, float alpha, float beta)
    {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++)
        {
            float b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
            float ai = a[0];
            c00 = ScalarOps.FusedIfFast(ai, b0, c00); c01 = ScalarOps.FusedIfFast(ai, b1, c01); c02 = ScalarOps.FusedIfFast(ai, b2, c02); c03 = ScalarOps.FusedIfFast(ai, b3, c03);
            ai = a[1];
            c10 = ScalarOps.FusedIfFast(ai, b0, c10); c11 = ScalarOps.FusedIfFast(ai, b1, c11); c12 = ScalarOps.FusedIfFast(ai, b2, c12); c13 = ScalarOps.FusedIfFast(ai, b3, c13);
            ai = a[2];
            c20 = ScalarOps.FusedIfFast(ai, b0, c20); c21 = ScalarOps.FusedIfFast(ai, b1, c21); c22 = ScalarOps.FusedIfFast(ai, b2, c22); c23 = ScalarOps.FusedIfFast(ai, b3, c23);
            ai = a[3];
            c30 = ScalarOps.FusedIfFast(ai, b0, c30); c31 = ScalarOps.FusedIfFast(ai, b1, c31); c32 = ScalarOps.FusedIfFast(ai, b2, c32); c33 = ScalarOps.FusedIfFast(ai, b3, c33);
            a += 4;
            b += ldb;
        }
        bool overwrite = beta == 0;
        Update(c, c00, c01, c02, c03, alpha, beta, overwrite); c += ldc;
        Update(c, c10, c11, c12, c13, alpha, beta, overwrite); c += ldc;
        Update(c, c20, c21, c22, c23, alpha, beta, overwrite); c += ldc;
        Update(c, c30, c31, c32, c33, alpha, beta, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* c, float x0, float x1, float x2, float x3, float alpha, float beta, bool overwrite)
    {
        if (overwrite)
        {
            c[0] = alpha * x0; c[1] = alpha * x1; c[2] = alpha * x2; c[3] = alpha * x3;
        }
        else
        {
            c[0] = alpha * x0 + beta * c[0]; c[1] = alpha * x1 + beta * c[1];
            c[2] = alpha * x2 + beta * c[2]; c[3] = alpha * x3 + beta * c[3];
        }
    }
}
