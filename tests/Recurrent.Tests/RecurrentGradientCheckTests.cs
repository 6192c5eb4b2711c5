using Recurrent.Layers;
using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>
/// Finite-difference checks of BPTT: the analytic gradient of a fixed random linear loss
/// L = Σ output·w + Σ h_n·w_h (+ Σ c_n·w_c) against central differences, for every
/// parameter, the input and the initial states. Float32 forward passes limit the
/// difference quotient's accuracy to about 1e-3 relative, so the bound is 1e-2 on the
/// relative L2 error of each whole gradient tensor (a wrong gate or sign gives O(1)).
/// ReLU uses a smaller step: with 1e-2 one pre-activation of this seed lies within the step
/// of the kink at 0, where a difference quotient does not measure the derivative.
/// </summary>
public class RecurrentGradientCheckTests
{
    public static TheoryData<CellType, int, bool, bool> Cases()
    {
        var data = new TheoryData<CellType, int, bool, bool>();
        foreach (var cell in Enum.GetValues<CellType>())
        {
            data.Add(cell, 1, false, false);
            data.Add(cell, 2, true, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AnalyticGradientsMatchFiniteDifferences(CellType cell, int layers, bool bidirectional, bool ragged)
    {
        const int inSize = 3, H = 4, B = 3, T = 5;
        var rng = new Rng(42);
        var stack = new RecurrentStack(new RecurrentOptions(cell, inSize, H, layers, bidirectional), rng,
            new RecurrentInit(WeightInit.XavierUniform));
        // Xavier leaves biases at zero; give them values so their gradients are exercised on a generic point.
        foreach (var p in stack.Parameters()) if (p.Name.StartsWith("bias")) rng.FillUniform(p.Span, -0.5f, 0.5f);
        int D = stack.Options.Directions, LD = layers * D;
        var x = Random(rng, T, B, inSize);
        var h0 = Random(rng, LD, B, H);
        var c0 = cell == CellType.Lstm ? Random(rng, LD, B, H) : null;
        int[]? lengths = ragged ? [5, 2, 4] : null;
        var wOut = Random(rng, T, B, D * H);
        var wH = Random(rng, LD, B, H);
        var wC = Random(rng, LD, B, H);

        double Loss()
        {
            var r = stack.Forward(x, lengths, h0, c0);
            double s = Dot(r.Output, wOut) + Dot(r.HN, wH);
            if (r.CN is not null) s += Dot(r.CN, wC);
            return s;
        }

        Loss();
        stack.ZeroGrad();
        var grads = stack.Backward(wOut, wH, c0 is null ? null : wC);
        var analytic = new List<(string Name, Tensor Value, float[] Grad)>();
        foreach (var p in stack.Parameters()) analytic.Add((p.Name, p.Value, p.GradSpan.ToArray()));
        analytic.Add(("input", x, grads.Input.Span.ToArray()));
        analytic.Add(("h0", h0, grads.H0.Span.ToArray()));
        if (c0 is not null) analytic.Add(("c0", c0, grads.C0!.Span.ToArray()));

        foreach (var (name, value, grad) in analytic)
        {
            var numeric = new double[value.Length];
            float eps = cell == CellType.RnnRelu ? 1e-3f : 1e-2f;
            for (int i = 0; i < value.Length; i++)
            {
                float saved = value.Span[i];
                value.Span[i] = saved + eps;
                double plus = Loss();
                value.Span[i] = saved - eps;
                double minus = Loss();
                value.Span[i] = saved;
                numeric[i] = (plus - minus) / (2 * eps);
            }
            double err = RelativeError(grad, numeric);
            Assert.True(err < 1e-2, $"{cell} {name}: relative L2 error {err:E2} between BPTT and finite differences");
        }
    }

    internal static Tensor Random(Rng rng, params int[] shape)
    {
        var t = new Tensor(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return t;
    }

    internal static double Dot(Tensor a, Tensor b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a.Span[i] * b.Span[i];
        return s;
    }

    internal static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = actual[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-12);
    }
}
