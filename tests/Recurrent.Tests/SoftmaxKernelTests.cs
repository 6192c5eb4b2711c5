using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>Row softmax / log-softmax kernels against a double-precision reference, including rows far from 0.</summary>
public class SoftmaxKernelTests
{
    private static float[] RandomRows(int rows, int cols, float scale, float offset, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[rows * cols];
        rng.FillUniform(x, -scale, scale);
        for (int i = 0; i < x.Length; i++) x[i] += offset;
        return x;
    }

    private static double[] ReferenceLogSoftmax(float[] x, int cols)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / cols; r++)
        {
            double max = double.NegativeInfinity;
            for (int i = 0; i < cols; i++) max = Math.Max(max, x[r * cols + i]);
            double z = 0;
            for (int i = 0; i < cols; i++) z += Math.Exp(x[r * cols + i] - max);
            for (int i = 0; i < cols; i++) y[r * cols + i] = x[r * cols + i] - max - Math.Log(z);
        }
        return y;
    }

    [Theory]
    [InlineData(1, 1, 0f)]
    [InlineData(3, 17, 0f)]
    [InlineData(5, 65, 1000f)]      // naive exp would overflow
    [InlineData(2, 10000, -1000f)]  // naive exp would underflow to 0/0
    public void SoftmaxAndLogSoftmaxMatchDoubleReference(int rows, int cols, float offset)
    {
        var x = RandomRows(rows, cols, 8f, offset, 7);
        var reference = ReferenceLogSoftmax(x, cols);
        var p = new float[x.Length];
        var logP = new float[x.Length];
        Softmax.Rows(x, cols, p);
        Softmax.LogRows(x, cols, logP);
        for (int i = 0; i < x.Length; i++)
        {
            Assert.Equal(Math.Exp(reference[i]), p[i], 1e-6 + 1e-5 * Math.Exp(reference[i]));
            Assert.Equal(reference[i], logP[i], 1e-4 * Math.Max(1, Math.Abs(reference[i])));
        }
        for (int r = 0; r < rows; r++)
            Assert.Equal(1.0, p.AsSpan(r * cols, cols).ToArray().Sum(v => (double)v), 1e-5);
    }

    [Fact]
    public void SoftmaxMayWorkInPlace()
    {
        var x = RandomRows(4, 9, 3f, 0f, 3);
        var expected = new float[x.Length];
        Softmax.Rows(x, 9, expected);
        Softmax.Rows(x, 9, x);
        Assert.Equal(expected, x);
    }

    [Fact]
    public void SoftmaxBackwardMatchesFiniteDifferences()
    {
        const int cols = 6;
        var x = RandomRows(1, cols, 2f, 0f, 11);
        var w = RandomRows(1, cols, 1f, 0f, 12);   // loss = Σ w ⊙ softmax(x)
        var y = new float[cols];
        Softmax.Rows(x, cols, y);
        var dx = new float[cols];
        Softmax.RowsBackward(y, w, cols, dx);
        double Loss(double[] xs)
        {
            double max = xs.Max(), z = xs.Sum(v => Math.Exp(v - max));
            return xs.Select((v, i) => w[i] * Math.Exp(v - max) / z).Sum();
        }
        for (int i = 0; i < cols; i++)
        {
            var plus = x.Select(v => (double)v).ToArray();
            var minus = (double[])plus.Clone();
            plus[i] += 1e-5; minus[i] -= 1e-5;
            Assert.Equal((Loss(plus) - Loss(minus)) / 2e-5, dx[i], 1e-5);
        }
    }

    [Fact]
    public void SigmoidBackwardIsTheDerivative()
    {
        var x = RandomRows(1, 33, 4f, 0f, 5);
        var y = new float[x.Length];
        Kernels.Sigmoid(SimdLevel.Scalar, x, y);
        var dy = Enumerable.Repeat(1f, x.Length).ToArray();
        var dx = new float[x.Length];
        Kernels.SigmoidBackward(y, dy, dx);
        for (int i = 0; i < x.Length; i++)
        {
            double s(double v) => 1 / (1 + Math.Exp(-v));
            Assert.Equal((s(x[i] + 1e-4) - s(x[i] - 1e-4)) / 2e-4, dx[i], 1e-5);
        }
    }

    [Fact]
    public void ShapeErrorsNameTheProblem()
    {
        var e = Assert.Throws<ArgumentException>(() => Softmax.Rows(new float[10], 3, new float[10]));
        Assert.Contains("multiple of cols", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Softmax.LogRows(new float[3], 0, new float[3]));
    }
}

/// <summary>The subnormal flush used in the backward time loop, SIMD and scalar.</summary>
public class FlushSubnormalsTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(67)]
    public void ZeroesExactlyTheSubnormals(int n)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = (i % 6) switch
            {
                0 => float.Epsilon * (i + 1),            // subnormal
                1 => -Kernels.SmallestNormal / 3,               // subnormal, negative
                2 => Kernels.SmallestNormal,                    // smallest normal: kept
                3 => -1.5f,
                4 => 0f,
                _ => float.NaN,                          // not subnormal: kept (comparisons with NaN are false)
            };
        var simd = (float[])values.Clone();
        var scalar = (float[])values.Clone();
        Kernels.FlushSubnormals(simd);
        Kernels.FlushSubnormalsScalar(scalar);
        for (int i = 0; i < n; i++)
        {
            float expected = (i % 6) is 0 or 1 ? 0f : values[i];
            Assert.Equal(expected, simd[i]);
            Assert.Equal(expected, scalar[i]);
        }
    }
}
