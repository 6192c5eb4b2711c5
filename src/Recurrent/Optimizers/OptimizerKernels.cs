using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Recurrent.Numerics;

namespace Recurrent.Optimizers;

/// <summary>
/// The fused elementwise updates of the optimizers, one pass over each parameter. Each mirrors
/// PyTorch 1.13's CPU kernels operation by operation: <c>a.add(b, alpha=s)</c> is fma(b, s, a),
/// <c>a.addcmul(b, c, value=s)</c> is fma(s·b, c, a), <c>a.addcdiv(b, c, value=s)</c> is (s·b)/c + a,
/// <c>a.mul(s)</c> is a·s, every step rounded to float32. The <see cref="SimdLevel.Scalar"/> path
/// and the <see cref="Vector{T}"/> path perform the same IEEE operations, so they agree bit for bit.
/// Spans of one call all have the parameter's length; nothing here allocates.
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>The path the optimizers use: vectors when the hardware has them, unless RECURRENT_SIMD caps the default at scalar.</summary>
    public static SimdLevel Preferred => Vector.IsHardwareAccelerated && Compute.DefaultSimd != SimdLevel.Scalar ? SimdLevel.Vector : SimdLevel.Scalar;

    /// <summary>
    /// SGD (torch.optim.SGD):  d = g + λp;  with momentum μ: b = d on the first step, else
    /// b = μb + (1 − τ)d; d = b, or d = d + μb for Nesterov;  p = p − lr·d.
    /// <paramref name="buffer"/> is ignored when <paramref name="momentum"/> is 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sgd(SimdLevel simd, Span<float> p, ReadOnlySpan<float> g, Span<float> buffer,
        float negLr, float weightDecay, float momentum, float oneMinusDampening, bool nesterov, bool firstStep)
    {
        int n = p.Length;
        bool hasDecay = weightDecay != 0, hasMomentum = momentum != 0;
        CheckLength(g, n); if (hasMomentum) CheckLength(buffer, n);
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float br = ref MemoryMarshal.GetReference(buffer);
        int i = 0;
        if (simd != SimdLevel.Scalar && Vector.IsHardwareAccelerated)
        {
            var wd = new Vector<float>(weightDecay); var mu = new Vector<float>(momentum);
            var damp = new Vector<float>(oneMinusDampening); var lr = new Vector<float>(negLr);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var pv = Vector.LoadUnsafe(ref pr, (nuint)i);
                var d = Vector.LoadUnsafe(ref gr, (nuint)i);
                if (hasDecay) d = Vector.FusedMultiplyAdd(pv, wd, d);
                if (hasMomentum)
                {
                    var b = firstStep ? d : Vector.FusedMultiplyAdd(d, damp, Vector.LoadUnsafe(ref br, (nuint)i) * mu);
                    b.StoreUnsafe(ref br, (nuint)i);
                    d = nesterov ? Vector.FusedMultiplyAdd(b, mu, d) : b;
                }
                Vector.FusedMultiplyAdd(d, lr, pv).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pr, i);
            float d = Unsafe.Add(ref gr, i);
            if (hasDecay) d = MathF.FusedMultiplyAdd(pv, weightDecay, d);
            if (hasMomentum)
            {
                float b = firstStep ? d : MathF.FusedMultiplyAdd(d, oneMinusDampening, Unsafe.Add(ref br, i) * momentum);
                Unsafe.Add(ref br, i) = b;
                d = nesterov ? MathF.FusedMultiplyAdd(b, momentum, d) : b;
            }
            Unsafe.Add(ref pr, i) = MathF.FusedMultiplyAdd(d, negLr, pv);
        }
    }

    /// <summary>The per-step scalars of Adam/AdamW, computed once per step as PyTorch does (in double, then rounded).</summary>
    public readonly record struct AdamScalars(
        float L2, float Decay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
        float BiasCorrection2Sqrt, float Eps, float NegStepSize);

    /// <summary>
    /// Adam / AdamW (torch.optim.Adam, torch.optim.AdamW):  g = g + λp (Adam's L2, when L2 ≠ 0);
    /// p = p·(1 − lr·λ) (AdamW's decoupled decay; Decay = 1 for Adam);  m = β₁m + (1 − β₁)g;
    /// v = β₂v + (1 − β₂)g²;  p = p − (lr / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Adam(SimdLevel simd, Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in AdamScalars s)
    {
        int n = p.Length;
        CheckLength(g, n); CheckLength(m, n); CheckLength(v, n);
        bool hasL2 = s.L2 != 0;
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float mr = ref MemoryMarshal.GetReference(m);
        ref float vr = ref MemoryMarshal.GetReference(v);
        int i = 0;
        if (simd != SimdLevel.Scalar && Vector.IsHardwareAccelerated)
        {
            var l2 = new Vector<float>(s.L2); var decay = new Vector<float>(s.Decay);
            var b1 = new Vector<float>(s.Beta1); var c1 = new Vector<float>(s.OneMinusBeta1);
            var b2 = new Vector<float>(s.Beta2); var c2 = new Vector<float>(s.OneMinusBeta2);
            var bc2 = new Vector<float>(s.BiasCorrection2Sqrt); var eps = new Vector<float>(s.Eps);
            var step = new Vector<float>(s.NegStepSize);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var pv = Vector.LoadUnsafe(ref pr, (nuint)i);
                var gv = Vector.LoadUnsafe(ref gr, (nuint)i);
                if (hasL2) gv = Vector.FusedMultiplyAdd(pv, l2, gv);
                pv *= decay;
                var mv = Vector.FusedMultiplyAdd(gv, c1, Vector.LoadUnsafe(ref mr, (nuint)i) * b1);
                var vv = Vector.FusedMultiplyAdd(c2 * gv, gv, Vector.LoadUnsafe(ref vr, (nuint)i) * b2);
                mv.StoreUnsafe(ref mr, (nuint)i);
                vv.StoreUnsafe(ref vr, (nuint)i);
                var denom = Vector.SquareRoot(vv) / bc2 + eps;
                (step * mv / denom + pv).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pr, i);
            float gv = Unsafe.Add(ref gr, i);
            if (hasL2) gv = MathF.FusedMultiplyAdd(pv, s.L2, gv);
            pv *= s.Decay;
            float mv = MathF.FusedMultiplyAdd(gv, s.OneMinusBeta1, Unsafe.Add(ref mr, i) * s.Beta1);
            float vv = MathF.FusedMultiplyAdd(s.OneMinusBeta2 * gv, gv, Unsafe.Add(ref vr, i) * s.Beta2);
            Unsafe.Add(ref mr, i) = mv;
            Unsafe.Add(ref vr, i) = vv;
            float denom = MathF.Sqrt(vv) / s.BiasCorrection2Sqrt + s.Eps;
            Unsafe.Add(ref pr, i) = s.NegStepSize * mv / denom + pv;
        }
    }

    /// <summary>The scalars of one RMSprop step.</summary>
    public readonly record struct RmsPropScalars(
        float NegLr, float Alpha, float OneMinusAlpha, float Eps, float Momentum, float WeightDecay, bool Centered);

    /// <summary>
    /// RMSprop (torch.optim.RMSprop):  g = g + λp;  s = αs + (1 − α)g²;  centered: ḡ = αḡ + (1 − α)g,
    /// a = √(s − ḡ²) + ε, else a = √s + ε;  with momentum μ: b = μb + g/a, p = p − lr·b;
    /// else p = p − lr·g/a. <paramref name="gradAvg"/> is ignored unless centered,
    /// <paramref name="buffer"/> unless momentum ≠ 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsProp(SimdLevel simd, Span<float> p, ReadOnlySpan<float> g, Span<float> squareAvg,
        Span<float> gradAvg, Span<float> buffer, in RmsPropScalars s)
    {
        int n = p.Length;
        bool hasDecay = s.WeightDecay != 0, hasMomentum = s.Momentum != 0, centered = s.Centered;
        CheckLength(g, n); CheckLength(squareAvg, n);
        if (centered) CheckLength(gradAvg, n);
        if (hasMomentum) CheckLength(buffer, n);
        ref float pr = ref MemoryMarshal.GetReference(p);
        ref float gr = ref MemoryMarshal.GetReference(g);
        ref float sr = ref MemoryMarshal.GetReference(squareAvg);
        ref float ar = ref MemoryMarshal.GetReference(gradAvg);
        ref float br = ref MemoryMarshal.GetReference(buffer);
        int i = 0;
        if (simd != SimdLevel.Scalar && Vector.IsHardwareAccelerated)
        {
            var lr = new Vector<float>(s.NegLr); var alpha = new Vector<float>(s.Alpha);
            var c = new Vector<float>(s.OneMinusAlpha); var eps = new Vector<float>(s.Eps);
            var mu = new Vector<float>(s.Momentum); var wd = new Vector<float>(s.WeightDecay);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var pv = Vector.LoadUnsafe(ref pr, (nuint)i);
                var gv = Vector.LoadUnsafe(ref gr, (nuint)i);
                if (hasDecay) gv = Vector.FusedMultiplyAdd(pv, wd, gv);
                var sq = Vector.FusedMultiplyAdd(c * gv, gv, Vector.LoadUnsafe(ref sr, (nuint)i) * alpha);
                sq.StoreUnsafe(ref sr, (nuint)i);
                Vector<float> avg;
                if (centered)
                {
                    var ga = Vector.FusedMultiplyAdd(gv, c, Vector.LoadUnsafe(ref ar, (nuint)i) * alpha);
                    ga.StoreUnsafe(ref ar, (nuint)i);
                    avg = Vector.SquareRoot(Vector.FusedMultiplyAdd(-ga, ga, sq));
                }
                else avg = Vector.SquareRoot(sq);
                avg += eps;
                if (hasMomentum)
                {
                    var b = gv / avg + Vector.LoadUnsafe(ref br, (nuint)i) * mu;
                    b.StoreUnsafe(ref br, (nuint)i);
                    Vector.FusedMultiplyAdd(b, lr, pv).StoreUnsafe(ref pr, (nuint)i);
                }
                else (lr * gv / avg + pv).StoreUnsafe(ref pr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float pv = Unsafe.Add(ref pr, i);
            float gv = Unsafe.Add(ref gr, i);
            if (hasDecay) gv = MathF.FusedMultiplyAdd(pv, s.WeightDecay, gv);
            float sq = MathF.FusedMultiplyAdd(s.OneMinusAlpha * gv, gv, Unsafe.Add(ref sr, i) * s.Alpha);
            Unsafe.Add(ref sr, i) = sq;
            float avg;
            if (centered)
            {
                float ga = MathF.FusedMultiplyAdd(gv, s.OneMinusAlpha, Unsafe.Add(ref ar, i) * s.Alpha);
                Unsafe.Add(ref ar, i) = ga;
                avg = MathF.Sqrt(MathF.FusedMultiplyAdd(-ga, ga, sq));
            }
            else avg = MathF.Sqrt(sq);
            avg += s.Eps;
            if (hasMomentum)
            {
                float b = gv / avg + Unsafe.Add(ref br, i) * s.Momentum;
                Unsafe.Add(ref br, i) = b;
                Unsafe.Add(ref pr, i) = MathF.FusedMultiplyAdd(b, s.NegLr, pv);
            }
            else Unsafe.Add(ref pr, i) = s.NegLr * gv / avg + pv;
        }
    }

    /// <summary>Σ x², accumulated in double in four interleaved lanes (lane j takes i ≡ j mod 4), on every path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SumOfSquares(SimdLevel simd, ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (simd != SimdLevel.Scalar && Vector256.IsHardwareAccelerated)
        {
            ref float xr = ref MemoryMarshal.GetReference(x);
            var acc = Vector256<double>.Zero;
            for (; i <= n - 4; i += 4)
            {
                var d = Vector256.WidenLower(
                    Vector128.LoadUnsafe(ref xr, (nuint)i).ToVector256Unsafe());
                acc += d * d;
            }
            s0 = acc[0]; s1 = acc[1]; s2 = acc[2]; s3 = acc[3];
        }
        else
        {
            for (; i <= n - 4; i += 4)
            {
                double a = x[i], b = x[i + 1], c = x[i + 2], d = x[i + 3];
                s0 += a * a; s1 += b * b; s2 += c * c; s3 += d * d;
            }
        }
        for (; i < n; i++) { double a = x[i]; s0 += a * a; }
        return (s0 + s1) + (s2 + s3);
    }

    private static void CheckLength(ReadOnlySpan<float> span, int n)
    {
        if (span.Length != n) throw new ArgumentException($"Expected {n} values, got {span.Length}.");
    }
}
