using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace Recurrent.Numerics;

/// <summary>
/// Elementwise kernels of the recurrent cells. Each takes a <see cref="SimdLevel"/>: Scalar runs
/// the plain reference loop; every other level runs the vectorised version, built on
/// <see cref="Activations"/> (tanh, sigmoid: a few ulp everywhere, the same bits on every level)
/// and <see cref="TensorPrimitives"/> (products and sums). Tests hold the two equal on awkward lengths.
/// Derivatives written with the output y use 1 − y² as one fused multiply-add, fma(−y, y, 1):
/// near saturation (|y| → 1) rounding y² first would cost up to ~1e-4 relative in the derivative.
/// Spans are one row of one time step unless stated; nothing here allocates.
/// </summary>
internal static class Kernels
{
    public static void Sigmoid(SimdLevel simd, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.IsEmpty) return;   // TensorPrimitives rejects empty spans for some operations
        Activations.Sigmoid(simd, x, y);
    }

    public static void Tanh(SimdLevel simd, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.IsEmpty) return;   // TensorPrimitives rejects empty spans for some operations
        Activations.Tanh(simd, x, y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Relu(SimdLevel simd, ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.IsEmpty) return;   // TensorPrimitives rejects empty spans for some operations
        if (simd == SimdLevel.Scalar)
            for (int i = 0; i < x.Length; i++) y[i] = x[i] > 0 ? x[i] : 0f;
        else
            TensorPrimitives.Max(x, 0f, y);
    }

    /// <summary>dx = dy ⊙ (1 − y²), the tanh derivative written with its output y. dx may alias dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < y.Length; i++) dx[i] = dy[i] * MathF.FusedMultiplyAdd(-y[i], y[i], 1f);
    }

    /// <summary>
    /// Replaces subnormal values (0 &lt; |x| &lt; 2⁻¹²⁶) with zero, in place. Backpropagation through
    /// many steps can shrink gradients into the subnormal range, where x86 arithmetic takes a slow
    /// microcode path on operations that touch them; the values themselves are below float32's
    /// resolution next to any normal gradient. (A protection: on the Zen 5 machine of
    /// docs/GRADIENTS.md a T = 200 GRU run took the same time with and without it.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FlushSubnormals(Span<float> x)
    {
        const float MinNormal = SmallestNormal;
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var min = new System.Numerics.Vector<float>(MinNormal);
            var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<float, System.Numerics.Vector<float>>(x);
            for (int v = 0; v < vectors.Length; v++)
            {
                var value = vectors[v];
                vectors[v] = System.Numerics.Vector.ConditionalSelect(
                    System.Numerics.Vector.LessThan(System.Numerics.Vector.Abs(value), min), System.Numerics.Vector<float>.Zero, value);
            }
            i = vectors.Length * System.Numerics.Vector<float>.Count;
        }
        FlushSubnormalsScalar(x[i..]);
    }

    /// <summary>2⁻¹²⁶, the smallest positive normal float32.</summary>
    public const float SmallestNormal = 1.17549435e-38f;

    /// <summary>Scalar twin of <see cref="FlushSubnormals"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FlushSubnormalsScalar(Span<float> x)
    {
        for (int i = 0; i < x.Length; i++) if (Math.Abs(x[i]) < SmallestNormal) x[i] = 0f;
    }

    /// <summary>dx = dy ⊙ y ⊙ (1 − y), the sigmoid derivative written with its output y. dx may alias dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < y.Length; i++) dx[i] = dy[i] * y[i] * (1f - y[i]);
    }

    /// <summary>dx = dy ⊙ [y &gt; 0], the ReLU derivative written with its output y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        for (int i = 0; i < y.Length; i++) dx[i] = y[i] > 0 ? dy[i] : 0f;
    }

    /// <summary>
    /// LSTM step for one batch row, PyTorch gate order (i, f, g, o):
    /// on entry <paramref name="gates"/> holds the pre-activations [4H]; on exit the activations
    /// i = σ, f = σ, g = tanh, o = σ. Then c = f ⊙ cPrev + i ⊙ g, tc = tanh(c), h = o ⊙ tc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LstmCell(SimdLevel simd, Span<float> gates, ReadOnlySpan<float> cPrev,
        Span<float> c, Span<float> tanhC, Span<float> h)
    {
        int H = c.Length;
        if (H == 0) return;
        var i = gates[..H];
        var f = gates.Slice(H, H);
        var g = gates.Slice(2 * H, H);
        var o = gates.Slice(3 * H, H);
        if (simd == SimdLevel.Scalar)
        {
            for (int j = 0; j < H; j++)
            {
                float ij = Activations.Sigmoid(i[j]);
                float fj = Activations.Sigmoid(f[j]);
                float gj = Activations.Tanh(g[j]);
                float oj = Activations.Sigmoid(o[j]);
                i[j] = ij; f[j] = fj; g[j] = gj; o[j] = oj;
                float cj = fj * cPrev[j] + ij * gj;
                c[j] = cj;
                float tj = Activations.Tanh(cj);
                tanhC[j] = tj;
                h[j] = oj * tj;
            }
            return;
        }
        Activations.Sigmoid(simd, gates[..(2 * H)], gates[..(2 * H)]);
        Activations.Tanh(simd, g, g);
        Activations.Sigmoid(simd, o, o);
        TensorPrimitives.Multiply(i, g, c);
        TensorPrimitives.MultiplyAdd(f, cPrev, c, c);
        Activations.Tanh(simd, c, tanhC);
        TensorPrimitives.Multiply(o, tanhC, h);
    }

    /// <summary>
    /// LSTM backward for one batch row. Inputs: the activations (i, f, g, o) of the forward step,
    /// cPrev, tanh(c), the incoming dh and dc (dc is updated in place to dL/dcPrev).
    /// Output: dGates [4H] = gradients of the pre-activations.
    ///   dc ← dc + dh ⊙ o ⊙ (1 − tc²);  do = dh ⊙ tc ⊙ o(1 − o);  di = dc ⊙ g ⊙ i(1 − i);
    ///   dg = dc ⊙ i ⊙ (1 − g²);  df = dc ⊙ cPrev ⊙ f(1 − f);  dcPrev = dc ⊙ f.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LstmCellBackward(ReadOnlySpan<float> gates, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> tanhC,
        ReadOnlySpan<float> dh, Span<float> dc, Span<float> dGates)
    {
        int H = dc.Length;
        var i = gates[..H];
        var f = gates.Slice(H, H);
        var g = gates.Slice(2 * H, H);
        var o = gates.Slice(3 * H, H);
        var di = dGates[..H];
        var df = dGates.Slice(H, H);
        var dg = dGates.Slice(2 * H, H);
        var dout = dGates.Slice(3 * H, H);
        for (int j = 0; j < H; j++)
        {
            float tc = tanhC[j], oj = o[j], ij = i[j], fj = f[j], gj = g[j];
            float dhj = dh[j];
            float dcj = dc[j] + dhj * oj * MathF.FusedMultiplyAdd(-tc, tc, 1f);
            dout[j] = dhj * tc * oj * (1f - oj);
            di[j] = dcj * gj * ij * (1f - ij);
            dg[j] = dcj * ij * MathF.FusedMultiplyAdd(-gj, gj, 1f);
            df[j] = dcj * cPrev[j] * fj * (1f - fj);
            dc[j] = dcj * fj;
        }
    }

    /// <summary>
    /// GRU step for one batch row, PyTorch gate order (r, z, n):
    /// <paramref name="gates"/> holds x·W_ihᵀ + b_ih [3H] on entry, <paramref name="hh"/> holds
    /// h·W_hhᵀ + b_hh [3H]. r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r ⊙ gh_n),
    /// h = (1 − z) ⊙ n + z ⊙ hPrev. On exit gates holds (r, z, n).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GruCell(SimdLevel simd, Span<float> gates, ReadOnlySpan<float> hh, ReadOnlySpan<float> hPrev, Span<float> h)
    {
        int H = h.Length;
        if (H == 0) return;
        var rz = gates[..(2 * H)];
        var n = gates.Slice(2 * H, H);
        var r = gates[..H];
        var z = gates.Slice(H, H);
        var hn = hh.Slice(2 * H, H);
        if (simd == SimdLevel.Scalar)
        {
            for (int j = 0; j < 2 * H; j++) rz[j] = Activations.Sigmoid(rz[j] + hh[j]);
            for (int j = 0; j < H; j++)
            {
                float nj = Activations.Tanh(n[j] + r[j] * hn[j]);
                n[j] = nj;
                h[j] = (1f - z[j]) * nj + z[j] * hPrev[j];
            }
            return;
        }
        TensorPrimitives.Add(rz, hh[..(2 * H)], rz);
        Activations.Sigmoid(simd, rz, rz);
        TensorPrimitives.MultiplyAdd(r, hn, n, n);
        Activations.Tanh(simd, n, n);
        // h = n + z ⊙ (hPrev − n)
        TensorPrimitives.Subtract(hPrev, n, h);
        TensorPrimitives.MultiplyAdd(z, h, n, h);
    }

    /// <summary>
    /// GRU backward for one batch row. From (r, z, n), hh_n = W_hn·hPrev + b_hn, hPrev and dh:
    ///   dn = dh ⊙ (1 − z) ⊙ (1 − n²);  dz = dh ⊙ (hPrev − n) ⊙ z(1 − z);
    ///   dr = dn ⊙ hh_n ⊙ r(1 − r);
    /// dGatesIh = (dr, dz, dn) (w.r.t. x·W_ihᵀ + b_ih), dGatesHh = (dr, dz, dn ⊙ r) (w.r.t. h·W_hhᵀ + b_hh),
    /// and dhDirect = dh ⊙ z, the part of dL/dhPrev that does not go through W_hh.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GruCellBackward(ReadOnlySpan<float> gates, ReadOnlySpan<float> hhN, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> dh, Span<float> dGatesIh, Span<float> dGatesHh, Span<float> dhDirect)
    {
        int H = dh.Length;
        for (int j = 0; j < H; j++)
        {
            float r = gates[j], z = gates[H + j], n = gates[2 * H + j];
            float dhj = dh[j];
            float dn = dhj * (1f - z) * MathF.FusedMultiplyAdd(-n, n, 1f);
            float dz = dhj * (hPrev[j] - n) * z * (1f - z);
            float dr = dn * hhN[j] * r * (1f - r);
            dGatesIh[j] = dr; dGatesIh[H + j] = dz; dGatesIh[2 * H + j] = dn;
            dGatesHh[j] = dr; dGatesHh[H + j] = dz; dGatesHh[2 * H + j] = dn * r;
            dhDirect[j] = dhj * z;
        }
    }

    /// <summary>
    /// Adds each row of the [rows, cols] matrix <paramref name="x"/> into <paramref name="sum"/> [cols]
    /// (bias gradients: rows = T·B steps). Each column is accumulated in double, in row order, and
    /// rounded to float once: a float running sum over T·B terms would add √(T·B) roundings.
    /// The same bits with or without SIMD.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddRows(ReadOnlySpan<float> x, int rows, int cols, Span<float> sum)
    {
        if (x.Length < (long)rows * cols || sum.Length < cols) throw new ArgumentException("AddRows: spans too short for the shape.");
        double[] rented = System.Buffers.ArrayPool<double>.Shared.Rent(cols);
        var acc = rented.AsSpan(0, cols);
        for (int c = 0; c < cols; c++) acc[c] = sum[c];
        for (int r = 0; r < rows; r++) AddToDouble(x.Slice(r * cols, cols), acc);
        for (int c = 0; c < cols; c++) sum[c] = (float)acc[c];
        System.Buffers.ArrayPool<double>.Shared.Return(rented);
    }

    /// <summary>acc += x, element by element, in double (the same bits with or without SIMD).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddToDouble(ReadOnlySpan<float> x, Span<double> acc)
    {
        if (acc.Length < x.Length) throw new ArgumentException("AddToDouble: the accumulator is shorter than x.", nameof(acc));
        int width = System.Numerics.Vector<float>.Count, half = width / 2, c = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
            for (; c <= x.Length - width; c += width)
            {
                System.Numerics.Vector.Widen(new System.Numerics.Vector<float>(x[c..]), out var low, out var high);
                (new System.Numerics.Vector<double>(acc[c..]) + low).CopyTo(acc[c..]);
                (new System.Numerics.Vector<double>(acc[(c + half)..]) + high).CopyTo(acc[(c + half)..]);
            }
        for (; c < x.Length; c++) acc[c] += x[c];
    }

    /// <summary>Copies <paramref name="bias"/> [cols] into every row of the [rows, cols] matrix <paramref name="y"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BroadcastRows(ReadOnlySpan<float> bias, int rows, Span<float> y)
    {
        int cols = bias.Length;
        for (int r = 0; r < rows; r++) bias.CopyTo(y.Slice(r * cols, cols));
    }
}
