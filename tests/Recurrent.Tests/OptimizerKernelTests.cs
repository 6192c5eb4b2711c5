using Recurrent.Numerics;
using Recurrent.Optimizers;

namespace Recurrent.Tests;

/// <summary>The optimizer kernels' vector path equals the scalar path bit for bit, on lengths around the vector widths.</summary>
public class OptimizerKernelTests
{
    private static readonly int[] Lengths = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 255];

    private static float[] Random(Rng rng, int n, float lo = -2f, float hi = 2f)
    {
        var a = new float[n];
        rng.FillUniform(a, lo, hi);
        return a;
    }

    [Fact]
    public void SgdVectorEqualsScalar()
    {
        var rng = new Rng(21);
        foreach (int n in Lengths)
            foreach (var (momentum, nesterov, first, decay) in new[] { (0f, false, false, 0f), (0.9f, false, true, 0.01f), (0.9f, false, false, 0f), (0.8f, true, false, 0.05f) })
            {
                var p = Random(rng, n); var g = Random(rng, n); var b = Random(rng, n);
                var (p1, b1, p2, b2) = ((float[])p.Clone(), (float[])b.Clone(), (float[])p.Clone(), (float[])b.Clone());
                OptimizerKernels.Sgd(SimdLevel.Scalar, p1, g, b1, -0.1f, decay, momentum, 0.7f, nesterov, first);
                OptimizerKernels.Sgd(SimdLevel.Vector, p2, g, b2, -0.1f, decay, momentum, 0.7f, nesterov, first);
                Assert.Equal(p1, p2); Assert.Equal(b1, b2);
            }
    }

    [Fact]
    public void AdamVectorEqualsScalar()
    {
        var rng = new Rng(22);
        foreach (int n in Lengths)
            foreach (var (l2, decay) in new[] { (0f, 1f), (0.1f, 1f), (0f, 0.999f) })
            {
                var s = new OptimizerKernels.AdamScalars(l2, decay, 0.9f, 0.1f, 0.999f, 0.001f, 0.0447f, 1e-8f, -0.01f);
                var p = Random(rng, n); var g = Random(rng, n); var m = Random(rng, n); var v = Random(rng, n, 0f, 1f);
                var (p1, m1, v1) = ((float[])p.Clone(), (float[])m.Clone(), (float[])v.Clone());
                var (p2, m2, v2) = ((float[])p.Clone(), (float[])m.Clone(), (float[])v.Clone());
                OptimizerKernels.Adam(SimdLevel.Scalar, p1, g, m1, v1, s);
                OptimizerKernels.Adam(SimdLevel.Vector, p2, g, m2, v2, s);
                Assert.Equal(p1, p2); Assert.Equal(m1, m2); Assert.Equal(v1, v2);
            }
    }

    [Fact]
    public void RmsPropVectorEqualsScalar()
    {
        var rng = new Rng(23);
        foreach (int n in Lengths)
            foreach (var (momentum, centered, decay) in new[] { (0f, false, 0f), (0.9f, false, 0f), (0f, true, 0.1f), (0.5f, true, 0.1f) })
            {
                var s = new OptimizerKernels.RmsPropScalars(-0.01f, 0.99f, 0.01f, 1e-8f, momentum, decay, centered);
                var p = Random(rng, n); var g = Random(rng, n); var sq = Random(rng, n, 1f, 2f); var ga = Random(rng, n, -0.5f, 0.5f); var b = Random(rng, n);
                var (p1, sq1, ga1, b1) = ((float[])p.Clone(), (float[])sq.Clone(), (float[])ga.Clone(), (float[])b.Clone());
                var (p2, sq2, ga2, b2) = ((float[])p.Clone(), (float[])sq.Clone(), (float[])ga.Clone(), (float[])b.Clone());
                OptimizerKernels.RmsProp(SimdLevel.Scalar, p1, g, sq1, ga1, b1, s);
                OptimizerKernels.RmsProp(SimdLevel.Vector, p2, g, sq2, ga2, b2, s);
                Assert.Equal(p1, p2); Assert.Equal(sq1, sq2); Assert.Equal(ga1, ga2); Assert.Equal(b1, b2);
            }
    }

    [Fact]
    public void SumOfSquaresVectorEqualsScalar()
    {
        var rng = new Rng(24);
        foreach (int n in Lengths.Append(10_001))
        {
            var x = Random(rng, n, -100f, 100f);
            double exact = 0;
            foreach (float v in x) exact += (double)v * v;
            double scalar = OptimizerKernels.SumOfSquares(SimdLevel.Scalar, x);
            Assert.Equal(scalar, OptimizerKernels.SumOfSquares(SimdLevel.Vector, x));
            Assert.Equal(exact, scalar, 1e-12 * Math.Max(1, exact));
        }
    }
}
