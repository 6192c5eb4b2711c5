using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Numerics;

/// <summary>
/// tanh and the logistic sigmoid in float32, accurate to a few ulp over the whole float range
/// (tests: at most 3 ulp from the float64 result, mean well under 1; tanh(±0) = ±0 and
/// tanh(−x) = −tanh(x) exactly), on every <see cref="SimdLevel"/>. The math is written once,
/// generic over the vector type (float itself for <see cref="SimdLevel.Scalar"/>, Vector&lt;float&gt;,
/// Vector256, Vector512), with the same fused multiply-adds in the same order, so every level
/// returns the same bits as the scalar twin.
/// <list type="bullet">
/// <item>exp(x), x ∈ [−104, 89]: n = round(x·log2 e) by the 1.5·2²³ trick, r = x − n·ln 2 in two
/// parts (Cody–Waite), e^r by Cephes' degree-6 polynomial, times 2^n applied in two halves so
/// sub-normal results round once.</item>
/// <item>tanh of |x|: |x| &lt; 0.625: |x| + |x|·z·P(z), z = x² (Cephes tanhf); otherwise 1 − 2/(e^{2|x|} + 1)
/// with |x| capped at 9.1 (tanh is 1 in float32 beyond); then the sign bit of x put on.</item>
/// <item>sigmoid: e = e^{−|x|}; 1/(1 + e) for x ≥ 0, e/(1 + e) for x &lt; 0 (no cancellation, no overflow).</item>
/// </list>
/// TensorPrimitives.Tanh is not used: in System.Numerics.Tensors 11.0.0 it is ~6e-8 off in
/// absolute terms near 0 (tanh(1e-8) is off by 10⁹ ulp), which shows as extra rounding noise
/// in long tanh RNNs (docs/RELIABILITY.md).
/// </summary>
internal static class Activations
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tanh(SimdLevel simd, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckLengths(x, y);
        switch (simd)
        {
            case SimdLevel.Avx512 when Vector512.IsHardwareAccelerated: Apply<Vector512<float>, V512, TanhOp>(x, y); break;
            case SimdLevel.Avx2 or SimdLevel.Avx512 when Vector256.IsHardwareAccelerated: Apply<Vector256<float>, V256, TanhOp>(x, y); break;
            case not SimdLevel.Scalar when Vector.IsHardwareAccelerated: Apply<Vector<float>, VNumerics, TanhOp>(x, y); break;
            default: for (int i = 0; i < x.Length; i++) y[i] = Tanh(x[i]); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sigmoid(SimdLevel simd, ReadOnlySpan<float> x, Span<float> y)
    {
        CheckLengths(x, y);
        switch (simd)
        {
            case SimdLevel.Avx512 when Vector512.IsHardwareAccelerated: Apply<Vector512<float>, V512, SigmoidOp>(x, y); break;
            case SimdLevel.Avx2 or SimdLevel.Avx512 when Vector256.IsHardwareAccelerated: Apply<Vector256<float>, V256, SigmoidOp>(x, y); break;
            case not SimdLevel.Scalar when Vector.IsHardwareAccelerated: Apply<Vector<float>, VNumerics, SigmoidOp>(x, y); break;
            default: for (int i = 0; i < x.Length; i++) y[i] = Sigmoid(x[i]); break;
        }
    }

    /// <summary>The scalar twin of <see cref="Tanh(SimdLevel, ReadOnlySpan{float}, Span{float})"/>: the same bits.</summary>
    public static float Tanh(float x) => TanhOp.Invoke<float, VScalar>(x);

    /// <summary>The scalar twin of <see cref="Sigmoid(SimdLevel, ReadOnlySpan{float}, Span{float})"/>: the same bits.</summary>
    public static float Sigmoid(float x) => SigmoidOp.Invoke<float, VScalar>(x);

    /// <summary>e^x by the algorithm above (the building block; exposed for tests).</summary>
    internal static float Exp(float x) => ExpCore<float, VScalar>(VScalar.Min(VScalar.Max(x, -104f), 88.7f));

    private static void CheckLengths(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"The output has {y.Length} values for {x.Length} inputs.", nameof(y));
    }

    /// <summary>y = op(x) a vector at a time; the tail is one more vector over the last Count values (overlapping, recomputed identically).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Apply<TV, TOps, TOp>(ReadOnlySpan<float> x, Span<float> y)
        where TV : struct where TOps : struct, IVectorOps<TV> where TOp : struct, IActivation
    {
        int n = x.Length, width = TOps.Count, i = 0;
        if (n < width)
        {
            for (; i < n; i++) y[i] = TOp.Invoke<float, VScalar>(x[i]);
            return;
        }
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        // x and y may be the same span: the overlapping tail is read before it is written only when it was not yet written.
        bool aliased = Unsafe.AreSame(ref xs, ref ys);
        for (; i <= n - width; i += width) TOps.Store(TOp.Invoke<TV, TOps>(TOps.Load(ref Unsafe.Add(ref xs, i))), ref Unsafe.Add(ref ys, i));
        if (i == n) return;
        if (aliased) { for (; i < n; i++) y[i] = TOp.Invoke<float, VScalar>(x[i]); return; }
        TOps.Store(TOp.Invoke<TV, TOps>(TOps.Load(ref Unsafe.Add(ref xs, n - width))), ref Unsafe.Add(ref ys, n - width));
    }

    private interface IActivation
    {
        static abstract TV Invoke<TV, TOps>(TV x) where TV : struct where TOps : struct, IVectorOps<TV>;
    }

    private readonly struct TanhOp : IActivation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Invoke<TV, TOps>(TV x) where TV : struct where TOps : struct, IVectorOps<TV>
        {
            // tanh(|x|), then x's sign bit put on: odd by construction, tanh(−0) = −0.
            TV a = TOps.Abs(x);
            // |x| < 0.625: a + a·z·P(z), z = a² (Cephes tanhf).
            TV z = TOps.Multiply(a, a);
            TV p = TOps.Fma(TOps.Splat(-5.70498872745e-3f), z, TOps.Splat(2.06390887954e-2f));
            p = TOps.Fma(p, z, TOps.Splat(-5.37397155531e-2f));
            p = TOps.Fma(p, z, TOps.Splat(1.33314422036e-1f));
            p = TOps.Fma(p, z, TOps.Splat(-3.33332819422e-1f));
            TV small = TOps.Fma(TOps.Multiply(p, z), a, a);
            // Otherwise 1 − 2/(e^{2|x|} + 1), |x| capped where tanh rounds to 1.
            TV capped = TOps.Min(a, TOps.Splat(9.1f));
            TV e = ExpCore<TV, TOps>(TOps.Add(capped, capped));
            TV one = TOps.Splat(1f);
            TV large = TOps.Subtract(one, TOps.Divide(TOps.Splat(2f), TOps.Add(e, one)));
            TV result = TOps.Or(TOps.Select(TOps.LessThan(a, TOps.Splat(0.625f)), small, large), TOps.And(x, TOps.Splat(-0f)));
            return TOps.Select(TOps.IsNaN(x), x, result);
        }
    }

    private readonly struct SigmoidOp : IActivation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Invoke<TV, TOps>(TV x) where TV : struct where TOps : struct, IVectorOps<TV>
        {
            // e = e^{−|x|} ∈ (0, 1]; σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) for x < 0.
            TV e = ExpCore<TV, TOps>(TOps.Max(TOps.Negate(TOps.Abs(x)), TOps.Splat(-104f)));
            TV numerator = TOps.Select(TOps.LessThan(x, TOps.Splat(0f)), e, TOps.Splat(1f));
            TV result = TOps.Divide(numerator, TOps.Add(TOps.Splat(1f), e));
            return TOps.Select(TOps.IsNaN(x), x, result);
        }
    }

    /// <summary>e^x for x in [−104, 89] (the caller clamps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpCore<TV, TOps>(TV x) where TV : struct where TOps : struct, IVectorOps<TV>
    {
        const float Magic = 12582912f;   // 1.5·2²³: adding it rounds to an integer, which lands in the low mantissa bits
        TV t = TOps.Fma(x, TOps.Splat(1.44269504088896341f), TOps.Splat(Magic));
        TV n = TOps.Subtract(t, TOps.Splat(Magic));
        TV r = TOps.Fma(n, TOps.Splat(-0.693359375f), x);
        r = TOps.Fma(n, TOps.Splat(2.12194440e-4f), r);
        TV p = TOps.Fma(TOps.Splat(1.9875691500e-4f), r, TOps.Splat(1.3981999507e-3f));
        p = TOps.Fma(p, r, TOps.Splat(8.3334519073e-3f));
        p = TOps.Fma(p, r, TOps.Splat(4.1665795894e-2f));
        p = TOps.Fma(p, r, TOps.Splat(1.6666665459e-1f));
        p = TOps.Fma(p, r, TOps.Splat(5.0000001201e-1f));
        p = TOps.Fma(p, TOps.Multiply(r, r), r);
        p = TOps.Add(p, TOps.Splat(1f));
        var (s1, s2) = TOps.Pow2Halves(t);
        return TOps.Multiply(TOps.Multiply(p, s1), s2);
    }

    /// <summary>The operations the activations need, for one vector type.</summary>
    private interface IVectorOps<TV> where TV : struct
    {
        static abstract int Count { get; }
        static abstract TV Load(ref float at);
        static abstract void Store(TV value, ref float at);
        static abstract TV Splat(float value);
        static abstract TV Add(TV a, TV b);
        static abstract TV Subtract(TV a, TV b);
        static abstract TV Multiply(TV a, TV b);
        static abstract TV Divide(TV a, TV b);
        /// <summary>a·b + c, rounded once.</summary>
        static abstract TV Fma(TV a, TV b, TV c);
        static abstract TV Negate(TV a);
        static abstract TV Abs(TV a);
        static abstract TV Min(TV a, TV b);
        static abstract TV Max(TV a, TV b);
        static abstract TV And(TV a, TV b);
        static abstract TV Or(TV a, TV b);
        /// <summary>All bits set where a &lt; b.</summary>
        static abstract TV LessThan(TV a, TV b);
        static abstract TV IsNaN(TV a);
        /// <summary>mask ? a : b, per element.</summary>
        static abstract TV Select(TV mask, TV a, TV b);
        /// <summary>For t = 1.5·2²³ + n (n an integer in [−150, 128]): 2^⌊n/2⌋ and 2^(n − ⌊n/2⌋).</summary>
        static abstract (TV, TV) Pow2Halves(TV t);
    }

    private const int MagicBits = 0x4B400000;   // the bits of 1.5·2²³

    private readonly struct VScalar : IVectorOps<float>
    {
        public static int Count => 1;
        public static float Load(ref float at) => at;
        public static void Store(float value, ref float at) => at = value;
        public static float Splat(float value) => value;
        public static float Add(float a, float b) => a + b;
        public static float Subtract(float a, float b) => a - b;
        public static float Multiply(float a, float b) => a * b;
        public static float Divide(float a, float b) => a / b;
        public static float Fma(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
        public static float Negate(float a) => -a;
        public static float Abs(float a) => MathF.Abs(a);
        public static float Min(float a, float b) => a < b ? a : b;
        public static float Max(float a, float b) => a > b ? a : b;
        public static float And(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) & BitConverter.SingleToInt32Bits(b));
        public static float Or(float a, float b) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) | BitConverter.SingleToInt32Bits(b));
        public static float LessThan(float a, float b) => a < b ? BitConverter.Int32BitsToSingle(-1) : 0f;
        public static float IsNaN(float a) => float.IsNaN(a) ? BitConverter.Int32BitsToSingle(-1) : 0f;
        public static float Select(float mask, float a, float b) => BitConverter.SingleToInt32Bits(mask) != 0 ? a : b;
        public static (float, float) Pow2Halves(float t)
        {
            int n = BitConverter.SingleToInt32Bits(t) - MagicBits, n1 = n >> 1, n2 = n - n1;
            return (BitConverter.Int32BitsToSingle((n1 + 127) << 23), BitConverter.Int32BitsToSingle((n2 + 127) << 23));
        }
    }

    private readonly struct VNumerics : IVectorOps<Vector<float>>
    {
        public static int Count => Vector<float>.Count;
        public static Vector<float> Load(ref float at) => Vector.LoadUnsafe(ref at);
        public static void Store(Vector<float> value, ref float at) => value.StoreUnsafe(ref at);
        public static Vector<float> Splat(float value) => new(value);
        public static Vector<float> Add(Vector<float> a, Vector<float> b) => a + b;
        public static Vector<float> Subtract(Vector<float> a, Vector<float> b) => a - b;
        public static Vector<float> Multiply(Vector<float> a, Vector<float> b) => a * b;
        public static Vector<float> Divide(Vector<float> a, Vector<float> b) => a / b;
        public static Vector<float> Fma(Vector<float> a, Vector<float> b, Vector<float> c) => Vector.FusedMultiplyAdd(a, b, c);
        public static Vector<float> Negate(Vector<float> a) => -a;
        public static Vector<float> Abs(Vector<float> a) => Vector.Abs(a);
        public static Vector<float> Min(Vector<float> a, Vector<float> b) => Vector.ConditionalSelect(Vector.LessThan(a, b), a, b);
        public static Vector<float> Max(Vector<float> a, Vector<float> b) => Vector.ConditionalSelect(Vector.GreaterThan(a, b), a, b);
        public static Vector<float> And(Vector<float> a, Vector<float> b) => Vector.BitwiseAnd(a, b);
        public static Vector<float> Or(Vector<float> a, Vector<float> b) => Vector.BitwiseOr(a, b);
        public static Vector<float> LessThan(Vector<float> a, Vector<float> b) => Vector.AsVectorSingle(Vector.LessThan(a, b));
        public static Vector<float> IsNaN(Vector<float> a) => Vector.AsVectorSingle(~Vector.Equals(a, a));
        public static Vector<float> Select(Vector<float> mask, Vector<float> a, Vector<float> b) => Vector.ConditionalSelect(mask, a, b);
        public static (Vector<float>, Vector<float>) Pow2Halves(Vector<float> t)
        {
            var n = Vector.AsVectorInt32(t) - new Vector<int>(MagicBits);
            var n1 = Vector.ShiftRightArithmetic(n, 1);
            var n2 = n - n1;
            var bias = new Vector<int>(127);
            return (Vector.AsVectorSingle(Vector.ShiftLeft(n1 + bias, 23)), Vector.AsVectorSingle(Vector.ShiftLeft(n2 + bias, 23)));
        }
    }

    private readonly struct V256 : IVectorOps<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;
        public static Vector256<float> Load(ref float at) => Vector256.LoadUnsafe(ref at);
        public static void Store(Vector256<float> value, ref float at) => value.StoreUnsafe(ref at);
        public static Vector256<float> Splat(float value) => Vector256.Create(value);
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
        public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
        public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
        public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        public static Vector256<float> Negate(Vector256<float> a) => -a;
        public static Vector256<float> Abs(Vector256<float> a) => Vector256.Abs(a);
        public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(Vector256.LessThan(a, b), a, b);
        public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(Vector256.GreaterThan(a, b), a, b);
        public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
        public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;
        public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);
        public static Vector256<float> IsNaN(Vector256<float> a) => ~Vector256.Equals(a, a);
        public static Vector256<float> Select(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);
        public static (Vector256<float>, Vector256<float>) Pow2Halves(Vector256<float> t)
        {
            var n = t.AsInt32() - Vector256.Create(MagicBits);
            var n1 = Vector256.ShiftRightArithmetic(n, 1);
            var n2 = n - n1;
            var bias = Vector256.Create(127);
            return (Vector256.ShiftLeft(n1 + bias, 23).AsSingle(), Vector256.ShiftLeft(n2 + bias, 23).AsSingle());
        }
    }

    private readonly struct V512 : IVectorOps<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;
        public static Vector512<float> Load(ref float at) => Vector512.LoadUnsafe(ref at);
        public static void Store(Vector512<float> value, ref float at) => value.StoreUnsafe(ref at);
        public static Vector512<float> Splat(float value) => Vector512.Create(value);
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
        public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
        public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        public static Vector512<float> Negate(Vector512<float> a) => -a;
        public static Vector512<float> Abs(Vector512<float> a) => Vector512.Abs(a);
        public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(Vector512.LessThan(a, b), a, b);
        public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(Vector512.GreaterThan(a, b), a, b);
        public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
        public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;
        public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);
        public static Vector512<float> IsNaN(Vector512<float> a) => ~Vector512.Equals(a, a);
        public static Vector512<float> Select(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);
        public static (Vector512<float>, Vector512<float>) Pow2Halves(Vector512<float> t)
        {
            var n = t.AsInt32() - Vector512.Create(MagicBits);
            var n1 = Vector512.ShiftRightArithmetic(n, 1);
            var n2 = n - n1;
            var bias = Vector512.Create(127);
            return (Vector512.ShiftLeft(n1 + bias, 23).AsSingle(), Vector512.ShiftLeft(n2 + bias, 23).AsSingle());
        }
    }
}
