using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>Every vectorised kernel equals its scalar twin on lengths around the vector widths.</summary>
public class KernelTests
{
    public static readonly int[] Lengths = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 255];

    private static float[] Random(Rng rng, int n, float scale = 4f)
    {
        var a = new float[n];
        rng.FillUniform(a, -scale, scale);
        return a;
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tol = 2e-6f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(MathF.Abs(expected[i] - actual[i]) <= tol * (1 + MathF.Abs(expected[i])), $"index {i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void ActivationsMatchScalar()
    {
        var rng = new Rng(1);
        foreach (int n in Lengths)
        {
            var x = Random(rng, n);
            var s = new float[n];
            var v = new float[n];
            Kernels.Sigmoid(SimdLevel.Scalar, x, s); Kernels.Sigmoid(Compute.BestAvailable, x, v); AssertClose(s, v);
            Kernels.Tanh(SimdLevel.Scalar, x, s); Kernels.Tanh(Compute.BestAvailable, x, v); AssertClose(s, v);
            Kernels.Relu(SimdLevel.Scalar, x, s); Kernels.Relu(Compute.BestAvailable, x, v); AssertClose(s, v, 0);
        }
    }

    [Fact]
    public void LstmCellMatchesScalar()
    {
        var rng = new Rng(2);
        foreach (int H in Lengths)
        {
            var gates = Random(rng, 4 * H);
            var cPrev = Random(rng, H, 1f);
            var g1 = (float[])gates.Clone(); var g2 = (float[])gates.Clone();
            float[] c1 = new float[H], c2 = new float[H], t1 = new float[H], t2 = new float[H], h1 = new float[H], h2 = new float[H];
            Kernels.LstmCell(SimdLevel.Scalar, g1, cPrev, c1, t1, h1);
            Kernels.LstmCell(Compute.BestAvailable, g2, cPrev, c2, t2, h2);
            AssertClose(g1, g2); AssertClose(c1, c2); AssertClose(t1, t2); AssertClose(h1, h2);
        }
    }

    [Fact]
    public void GruCellMatchesScalar()
    {
        var rng = new Rng(3);
        foreach (int H in Lengths)
        {
            var gates = Random(rng, 3 * H);
            var hh = Random(rng, 3 * H);
            var hPrev = Random(rng, H, 1f);
            var g1 = (float[])gates.Clone(); var g2 = (float[])gates.Clone();
            float[] h1 = new float[H], h2 = new float[H];
            Kernels.GruCell(SimdLevel.Scalar, g1, hh, hPrev, h1);
            Kernels.GruCell(Compute.BestAvailable, g2, hh, hPrev, h2);
            AssertClose(g1, g2); AssertClose(h1, h2);
        }
    }
}
