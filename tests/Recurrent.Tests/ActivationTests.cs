using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>
/// tanh and sigmoid (and the exp under them) are within a few ulp of the float64 result over the
/// whole float range on every SIMD level, keep tanh odd and exact at 0, and every level returns
/// the scalar twin's bits.
/// </summary>
public class ActivationTests
{
    private const int MaxUlp = 3;

    /// <summary>Magnitudes from 1e-30 to 120 (log-uniform) with both signs, a fine grid over [−20, 20], and the special values.</summary>
    private static float[] Inputs()
    {
        var rng = new Random(11);
        var xs = new List<float>();
        for (int i = 0; i < 300_000; i++)
        {
            double m = Math.Exp(Math.Log(1e-30) + rng.NextDouble() * (Math.Log(120) - Math.Log(1e-30)));
            xs.Add((float)(rng.Next(2) == 0 ? m : -m));
        }
        for (float x = -20; x <= 20; x += 1f / 512) xs.Add(x);
        xs.AddRange([0f, -0f, -8e-6f, 8e-6f, 0.625f, -0.625f, 0.62499994f, 9.1f, 87.3f, -87.3f, 88.7f, -88.7f, -103.9f, -104f, -150f, 1e30f, -1e30f,
            float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, 1.17549435e-38f]);
        return xs.ToArray();
    }

    /// <summary>Distance in ulp between a float and the float nearest to the exact value (sign-aware, 0 and −0 equal).</summary>
    internal static long Ulp(float actual, double exact)
    {
        float e = (float)exact;
        if (actual == e) return 0;
        static long Ordered(float f) { int bits = BitConverter.SingleToInt32Bits(f); return bits < 0 ? -(long)(bits & 0x7FFFFFFF) : bits; }
        return Math.Abs(Ordered(actual) - Ordered(e));
    }

    private static double Sigmoid64(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    public static TheoryData<SimdLevel> Levels()
    {
        var data = new TheoryData<SimdLevel>();
        for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++) data.Add(level);
        return data;
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void TanhIsWithinAFewUlpEverywhere(SimdLevel level)
    {
        var x = Inputs();
        var y = new float[x.Length];
        Activations.Tanh(level, x, y);
        long worst = 0; double sum = 0; float at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            long u = Ulp(y[i], Math.Tanh(x[i]));
            sum += u;
            if (u > worst) { worst = u; at = x[i]; }
        }
        Assert.True(worst <= MaxUlp, $"tanh [{level}]: {worst} ulp at x = {at:R}");
        Assert.True(sum / x.Length < 0.5, $"tanh [{level}]: mean {sum / x.Length:F3} ulp");
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void SigmoidIsWithinAFewUlpEverywhere(SimdLevel level)
    {
        var x = Inputs();
        var y = new float[x.Length];
        Activations.Sigmoid(level, x, y);
        long worst = 0; double sum = 0; float at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            long u = Ulp(y[i], Sigmoid64(x[i]));
            sum += u;
            if (u > worst) { worst = u; at = x[i]; }
        }
        Assert.True(worst <= MaxUlp, $"sigmoid [{level}]: {worst} ulp at x = {at:R}");
        Assert.True(sum / x.Length < 0.5, $"sigmoid [{level}]: mean {sum / x.Length:F3} ulp");
    }

    [Fact]
    public void ExpIsWithinAFewUlp()
    {
        long worst = 0;
        for (float x = -103f; x <= 88.5f; x += 0.0137f) worst = Math.Max(worst, Ulp(Activations.Exp(x), Math.Exp(x)));
        Assert.True(worst <= 2, $"exp: {worst} ulp");
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void TanhIsExactAtZeroOddAndBounded(SimdLevel level)
    {
        var x = Inputs();
        var neg = x.Select(v => -v).ToArray();
        var y = new float[x.Length];
        var yn = new float[x.Length];
        Activations.Tanh(level, x, y);
        Activations.Tanh(level, neg, yn);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(yn[i]) == BitConverter.SingleToInt32Bits(-y[i]), $"tanh(−x) ≠ −tanh(x) at x = {x[i]:R}");
            Assert.True(Math.Abs(y[i]) <= 1f, $"|tanh({x[i]:R})| = {y[i]:R} > 1");
        }
        var zeros = new float[] { 0f, -0f };
        var tz = new float[2];
        Activations.Tanh(level, zeros, tz);
        Assert.Equal(0, BitConverter.SingleToInt32Bits(tz[0]));
        Assert.Equal(BitConverter.SingleToInt32Bits(-0f), BitConverter.SingleToInt32Bits(tz[1]));
        var small = new float[] { 1e-8f, -8e-6f, 1e-30f };
        Activations.Tanh(level, small, tz = new float[3]);
        Assert.Equal(small[0], tz[0]);
        Assert.True(Ulp(tz[1], Math.Tanh(-8e-6)) <= 1);
        Assert.Equal(small[2], tz[2]);
        var sig = new float[1];
        Activations.Sigmoid(level, [0f], sig);
        Assert.Equal(0.5f, sig[0]);
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void SpecialValuesGoWhereTheyShould(SimdLevel level)
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 200f, -200f];
        var t = new float[x.Length];
        var s = new float[x.Length];
        Activations.Tanh(level, x, t);
        Activations.Sigmoid(level, x, s);
        Assert.True(float.IsNaN(t[0]) && float.IsNaN(s[0]));
        Assert.Equal([1f, -1f, 1f, -1f], t[1..]);
        Assert.Equal([1f, 0f, 1f, 0f], s[1..]);
    }

    /// <summary>Every level returns the scalar twin's bits, on lengths around the vector widths and in place.</summary>
    [Fact]
    public void EveryLevelReturnsTheScalarTwinsBits()
    {
        var rng = new Rng(5);
        foreach (int n in KernelTests.Lengths.Concat([47, 64, 100]))
        {
            var x = new float[n];
            rng.FillUniform(x, -12f, 12f);
            if (n > 3) { x[1] = 1e-7f; x[2] = -0.6f; x[3] = 0f; }
            var tanh = x.Select(Activations.Tanh).ToArray();
            var sigmoid = x.Select(Activations.Sigmoid).ToArray();
            for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++)
            {
                var y = new float[n];
                Activations.Tanh(level, x, y);
                Assert.Equal(tanh, y);
                Activations.Sigmoid(level, x, y);
                Assert.Equal(sigmoid, y);
                var inPlace = (float[])x.Clone();
                Activations.Tanh(level, inPlace, inPlace);
                Assert.Equal(tanh, inPlace);
                inPlace = (float[])x.Clone();
                Activations.Sigmoid(level, inPlace, inPlace);
                Assert.Equal(sigmoid, inPlace);
            }
        }
    }
}

/// <summary>The chunked, double-accumulated weight-gradient sum equals the float64 product, in bands or not.</summary>
public class GradientSumTests
{
    [Theory]
    [InlineData(5, 7, 20, 1 << 20)]      // short: one GEMM
    [InlineData(37, 11, 700, 1 << 20)]   // chunks, one band
    [InlineData(37, 11, 700, 64)]        // chunks, bands of 5 rows (the last shorter)
    [InlineData(8, 3, 1000, 1)]          // bands of one row
    public void MatchesTheFloat64Product(int m, int n, int rows, int bandValues)
    {
        var rng = new Rng(9);
        var a = new float[rows * m];
        var b = new float[rows * n];
        var grad = new float[m * n];
        rng.FillUniform(a, -1, 1);
        rng.FillUniform(b, -1, 1);
        rng.FillUniform(grad, -1, 1);
        var expected = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = grad[i * n + j];
                for (int r = 0; r < rows; r++) s += (double)a[r * m + i] * b[r * n + j];
                expected[i * n + j] = s;
            }
        double[] sum = [];
        for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++)
        {
            var g = (float[])grad.Clone();
            GradientSums.AddTransposedProduct(new Compute(1, level), a, m, b, n, rows, g, ref sum, new Tensor(0), bandValues);
            for (int k = 0; k < g.Length; k++)
                Assert.True(Math.Abs(g[k] - expected[k]) <= 5e-7 * Math.Sqrt(rows), $"[{level}] {k}: {g[k]} vs {expected[k]}");
        }
    }
}
