using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Tests;

public class LanguageModelTests
{
    [Theory]
    [InlineData(CellType.Lstm, true)]
    [InlineData(CellType.Gru, false)]
    [InlineData(CellType.RnnTanh, false)]
    public void GradientsOfCrossEntropyMatchFiniteDifferences(CellType cell, bool tie)
    {
        const int V = 6, E = 4, T = 3, B = 2;
        var rng = new Rng(11);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(cell, V, E, E, layers: 2, tieWeights: tie), rng);
        // Larger weights than the default ±0.1 so the check sees a generic point.
        foreach (var (_, p) in model.NamedParameters) rng.FillUniform(p.Span, -0.8f, 0.8f);
        int[] ids = [0, 3, 5, 1, 2, 2];
        int[] targets = [3, 5, 1, SoftmaxCrossEntropy.Ignore, 2, 4];
        var state0 = model.NewState(B);
        rng.FillUniform(state0.H.Span, -0.5f, 0.5f);
        if (state0.C is not null) rng.FillUniform(state0.C.Span, -0.5f, 0.5f);

        double Loss()
        {
            var state = model.NewState(B);
            state0.H.Span.CopyTo(state.H.Span);
            state0.C?.Span.CopyTo(state.C!.Span);
            var logits = model.Forward(ids, T, B, state);
            return SoftmaxCrossEntropy.Evaluate(logits.Span, targets, V).Sum / 5.0;
        }

        double reference = Loss();
        var st = model.NewState(B);
        state0.H.Span.CopyTo(st.H.Span);
        state0.C?.Span.CopyTo(st.C!.Span);
        var lg = model.Forward(ids, T, B, st);
        model.ZeroGrad();
        var (loss, count) = SoftmaxCrossEntropy.ForwardBackward(lg.Span, targets, V);
        Assert.Equal(5, count);
        Assert.Equal(reference, loss, 1e-5);
        model.Backward(lg.Span);

        foreach (var (name, p) in model.NamedParameters)
        {
            var grad = p.GradSpan.ToArray();
            var numeric = new double[p.Value.Length];
            const float eps = 1e-2f;
            for (int i = 0; i < numeric.Length; i++)
            {
                float saved = p.Span[i];
                p.Span[i] = saved + eps; double plus = Loss();
                p.Span[i] = saved - eps; double minus = Loss();
                p.Span[i] = saved;
                numeric[i] = (plus - minus) / (2 * eps);
            }
            double err = RecurrentGradientCheckTests.RelativeError(grad, numeric);
            Assert.True(err < 1e-2, $"{cell} {name}: relative error {err:E2}");
        }
    }

    [Fact]
    public void TyingSharesOneMatrixAndRequiresEqualSizes()
    {
        var rng = new Rng(1);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, 10, 8, 8, tieWeights: true), rng);
        Assert.Same(model.Encoder!.Weight, model.Decoder.Weight);
        Assert.DoesNotContain(model.NamedParameters, n => n.Name == "decoder.weight");
        var ex = Assert.Throws<ArgumentException>(() => new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, 10, 8, 16, tieWeights: true), rng));
        Assert.Contains("embedding size", ex.Message);
    }

    [Fact]
    public void StateIsCarriedAcrossWindows()
    {
        // Running T=6 at once equals running two windows of 3 with the state carried.
        var rng = new Rng(5);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Gru, 7, 5, 5, layers: 2), rng);
        int[] ids = [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5]; // T=6, B=2
        var whole = model.Forward(ids, 6, 2, model.NewState(2)).Span.ToArray();
        var state = model.NewState(2);
        var first = model.Forward(ids[..6], 3, 2, state).Span.ToArray();
        var second = model.Forward(ids[6..], 3, 2, state).Span.ToArray();
        var split = first.Concat(second).ToArray();
        for (int i = 0; i < whole.Length; i++) Assert.Equal(whole[i], split[i], 1e-6f);
    }
}

public class SoftmaxCrossEntropyTests
{
    [Fact]
    public void StableForHugeLogitsAndMatchesDirectFormula()
    {
        float[] logits = [1000f, 1001f, 999f, -3f, 0f, 2f];
        int[] targets = [1, 2];
        var (sum, count) = SoftmaxCrossEntropy.Evaluate(logits, targets, 3);
        // −log softmax at the target = log Σ exp(x − x_target); both targets are their row's max.
        double expected0 = Math.Log(Math.Exp(-1) + 1 + Math.Exp(-2));
        double expected1 = Math.Log(Math.Exp(-5) + Math.Exp(-2) + 1);
        Assert.Equal(2, count);
        Assert.Equal(expected0 + expected1, sum, 1e-5);
        var g = (float[])logits.Clone();
        var (mean, _) = SoftmaxCrossEntropy.ForwardBackward(g, targets, 3);
        Assert.Equal(sum / 2, mean, 1e-5);
        Assert.All(g, v => Assert.True(float.IsFinite(v)));
        // Each gradient row sums to zero (softmax sums to 1, minus the one-hot).
        Assert.Equal(0.0, g[0] + g[1] + g[2], 1e-6);
    }

    [Fact]
    public void IgnoredRowsGetNoGradientAndOutOfRangeTargetsAreRejected()
    {
        float[] logits = [1f, 2f, 3f, 4f];
        var g = (float[])logits.Clone();
        SoftmaxCrossEntropy.ForwardBackward(g, [SoftmaxCrossEntropy.Ignore, 0], 2);
        Assert.Equal(0f, g[0]);
        Assert.Equal(0f, g[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => SoftmaxCrossEntropy.ForwardBackward((float[])logits.Clone(), [2, 0], 2));
    }
}
