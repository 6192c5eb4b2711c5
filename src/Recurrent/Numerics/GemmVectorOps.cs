using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Numerics;

/// <summary>
/// The handful of vector operations the matrix-vector kernels need, one implementation per
/// <see cref="SimdLevel"/>, so each kernel is written once and specialised by the JIT.
/// </summary>
internal unsafe interface ISimdOps<TV> where TV : struct
{
    static abstract int Width { get; }
    static abstract TV Zero { get; }
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);
    static abstract TV Broadcast(float x);
    static abstract TV Add(TV x, TV y);
    static abstract TV Multiply(TV x, TV y);
    /// <summary>x * y + z (fused where the level has FMA).</summary>
    static abstract TV MultiplyAdd(TV x, TV y, TV z);
    static abstract float Sum(TV v);
    /// <summary>The scalar twin of <see cref="MultiplyAdd"/>, for tails shorter than a vector.</summary>
    static abstract float ScalarMultiplyAdd(float x, float y, float z);
}

internal readonly unsafe struct Avx512Ops : ISimdOps<Vector512<float>>
{
    public static int Width => 16;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> x, Vector512<float> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Multiply(Vector512<float> x, Vector512<float> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAdd(Vector512<float> x, Vector512<float> y, Vector512<float> z) => Avx512F.FusedMultiplyAdd(x, y, z);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ScalarMultiplyAdd(float x, float y, float z) => MathF.FusedMultiplyAdd(x, y, z);
}

internal readonly unsafe struct Avx2Ops : ISimdOps<Vector256<float>>
{
    public static int Width => 8;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> x, Vector256<float> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Multiply(Vector256<float> x, Vector256<float> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAdd(Vector256<float> x, Vector256<float> y, Vector256<float> z) => Fma.MultiplyAdd(x, y, z);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ScalarMultiplyAdd(float x, float y, float z) => MathF.FusedMultiplyAdd(x, y, z);
}

internal readonly unsafe struct VectorOps : ISimdOps<Vector<float>>
{
    public static int Width => Vector<float>.Count;
    public static Vector<float> Zero => Vector<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Load(float* p) => Vector.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Broadcast(float x) => new(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Add(Vector<float> x, Vector<float> y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> Multiply(Vector<float> x, Vector<float> y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<float> MultiplyAdd(Vector<float> x, Vector<float> y, Vector<float> z) => Vector.MultiplyAddEstimate(x, y, z);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector<float> v) => Vector.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ScalarMultiplyAdd(float x, float y, float z) => ScalarOps.FusedIfFast(x, y, z);
}

/// <summary>The scalar level seen as vectors of width 1: plain multiplies and adds (fused where the CPU fuses them in hardware).</summary>
internal readonly unsafe struct ScalarOps : ISimdOps<float>
{
    /// <summary>x·y + z rounded once where the CPU has FMA (as MultiplyAddEstimate does for vectors), twice otherwise; a JIT-time constant branch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float FusedIfFast(float x, float y, float z) =>
        Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? MathF.FusedMultiplyAdd(x, y, z) : x * y + z;

    public static int Width => 1;
    public static float Zero => 0f;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Load(float* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, float v) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Broadcast(float x) => x;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Add(float x, float y) => x + y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Multiply(float x, float y) => x * y;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float MultiplyAdd(float x, float y, float z) => FusedIfFast(x, y, z);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(float v) => v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float ScalarMultiplyAdd(float x, float y, float z) => FusedIfFast(x, y, z);
}
