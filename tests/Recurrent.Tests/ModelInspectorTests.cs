using Recurrent.Diagnostics;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>ModelInspector's numbers against the cell equations, the stepper, and finite differences; UnitSearch on planted patterns.</summary>
public class ModelInspectorTests
{
    private static SequenceModel Model(CellType cell, int layers = 2, ulong seed = 3)
    {
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(cell, vocabularySize: 7, embeddingSize: 3, hiddenSize: 4, layers: layers), new Rng(seed));
        // Larger weights than the default init so the gates move visibly.
        foreach (var (_, p) in model.NamedParameters) foreach (ref float v in p.Span) v *= 3f;
        return model;
    }

    private static readonly int[] Text = [1, 4, 0, 6, 2, 5, 3];

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>W·x + b for row block [row0, row0 + H) of a [G·H, in] matrix.</summary>
    private static double[] Affine(Parameter w, Parameter? b, int row0, int H, ReadOnlySpan<float> x)
    {
        var y = new double[H];
        int inSize = x.Length;
        for (int j = 0; j < H; j++)
        {
            double s = b is null ? 0 : b.Span[row0 + j];
            for (int k = 0; k < inSize; k++) s += (double)w.Span[(row0 + j) * inSize + k] * x[k];
            y[j] = s;
        }
        return y;
    }

    [Fact]
    public void LstmGatesCellAndHiddenFollowTheEquations()
    {
        var model = Model(CellType.Lstm);
        var result = new ModelInspector(model).Inspect(Text);
        Assert.Equal(["i", "f", "g", "o"], result.Layers[0].Gates.Select(g => g.Name));
        int H = 4;
        float[] below = [];
        for (int l = 0; l < 2; l++)
        {
            var layer = model.Rnn.Layers[l];
            var trace = result.Layers[l];
            var h = new float[H];
            var c = new double[H];
            for (int t = 0; t < Text.Length; t++)
            {
                var x = l == 0 ? model.Encoder!.Weight.Span.Slice(Text[t] * 3, 3).ToArray() : below.AsSpan(t * H, H).ToArray();
                var gate = new double[4][];
                for (int g = 0; g < 4; g++)
                {
                    var a = Affine(layer.WeightIh, layer.BiasIh, g * H, H, x);
                    var r = Affine(layer.WeightHh, layer.BiasHh, g * H, H, h);
                    gate[g] = a.Select((v, j) => g == 2 ? Math.Tanh(v + r[j]) : Sigmoid(v + r[j])).ToArray();
                }
                for (int j = 0; j < H; j++)
                {
                    c[j] = gate[1][j] * c[j] + gate[0][j] * gate[2][j];
                    h[j] = (float)(gate[3][j] * Math.Tanh(c[j]));
                    for (int g = 0; g < 4; g++) Assert.Equal(gate[g][j], trace.Gates[g].Values[t * H + j], 1e-5);
                    Assert.Equal(c[j], trace.Cell![t * H + j], 1e-5);
                    Assert.Equal(h[j], trace.Hidden[t * H + j], 1e-5);
                }
            }
            below = trace.Hidden;
        }
    }

    [Fact]
    public void GruResetUpdateAndCandidateFollowTheEquations()
    {
        var model = Model(CellType.Gru, layers: 1);
        var trace = new ModelInspector(model).Inspect(Text).Layers[0];
        Assert.Null(trace.Cell);
        Assert.Equal(["r", "z", "n"], trace.Gates.Select(g => g.Name));
        var layer = model.Rnn.Layers[0];
        int H = 4;
        var h = new float[H];
        for (int t = 0; t < Text.Length; t++)
        {
            var x = model.Encoder!.Weight.Span.Slice(Text[t] * 3, 3).ToArray();
            var xr = Affine(layer.WeightIh, layer.BiasIh, 0, H, x);
            var xz = Affine(layer.WeightIh, layer.BiasIh, H, H, x);
            var xn = Affine(layer.WeightIh, layer.BiasIh, 2 * H, H, x);
            var hr = Affine(layer.WeightHh, layer.BiasHh, 0, H, h);
            var hz = Affine(layer.WeightHh, layer.BiasHh, H, H, h);
            var hn = Affine(layer.WeightHh, layer.BiasHh, 2 * H, H, h);
            var next = new float[H];
            for (int j = 0; j < H; j++)
            {
                double r = Sigmoid(xr[j] + hr[j]), z = Sigmoid(xz[j] + hz[j]), n = Math.Tanh(xn[j] + r * hn[j]);
                next[j] = (float)((1 - z) * n + z * h[j]);
                Assert.Equal(r, trace.Gate("r")!.Values[t * H + j], 1e-5);
                Assert.Equal(z, trace.Gate("z")!.Values[t * H + j], 1e-5);
                Assert.Equal(n, trace.Gate("n")!.Values[t * H + j], 1e-5);
                Assert.Equal(next[j], trace.Hidden[t * H + j], 1e-5);
            }
            h = next;
        }
    }

    [Fact]
    public void ProbabilitiesAndSurprisalMatchTheStepper()
    {
        var model = Model(CellType.Lstm);
        var result = new ModelInspector(model).Inspect(Text, gradients: false);
        var stepper = new LanguageModelStepper(model);
        Assert.True(float.IsNaN(result.Surprisal[0]));
        for (int t = 0; t < Text.Length; t++)
        {
            var logits = stepper.Step(Text[t]).ToArray();
            double max = logits.Max(), logSum = max + Math.Log(logits.Sum(z => Math.Exp(z - max)));
            if (t + 1 < Text.Length) Assert.Equal(logSum - logits[Text[t + 1]], result.Surprisal[t + 1], 1e-4);
            else for (int v = 0; v < 7; v++) Assert.Equal(logits[v] - logSum, result.NextLogProbabilities[v], 1e-4);
        }
        Assert.Equal(Array.IndexOf(result.NextLogProbabilities, result.NextLogProbabilities.Max()), result.Target);
        Assert.Empty(result.Saliency);
    }

    [Theory]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    [InlineData(CellType.RnnTanh)]
    public void SaliencyIsTheInputGradientNormByFiniteDifferences(CellType cell)
    {
        // Every id in Text is distinct, so moving one embedding row moves exactly one x_t.
        var model = Model(cell);
        const int target = 2;
        var result = new ModelInspector(model).Inspect(Text, target);
        Assert.Equal(target, result.Target);
        const float eps = 1e-2f;
        var row = model.Encoder!.Weight;
        for (int t = 0; t < Text.Length; t++)
        {
            double sumSq = 0;
            for (int e = 0; e < 3; e++)
            {
                ref float w = ref row.Span[Text[t] * 3 + e];
                float keep = w;
                w = keep + eps;
                double up = new ModelInspector(model).Inspect(Text, target, gradients: false).TargetLogProbability;
                w = keep - eps;
                double down = new ModelInspector(model).Inspect(Text, target, gradients: false).TargetLogProbability;
                w = keep;
                double g = (up - down) / (2 * eps);
                sumSq += g * g;
            }
            Assert.Equal(Math.Sqrt(sumSq), result.Saliency[t], 2e-3 + 0.02 * Math.Sqrt(sumSq));
        }
    }

    [Fact]
    public void HiddenGradientAtTheLastStepIsTheDecoderBackward()
    {
        // ‖∂(−log p(target))/∂h_{T−1}‖ of the top layer = ‖W_decᵀ (softmax − onehot)‖.
        var model = Model(CellType.Lstm);
        var result = new ModelInspector(model).Inspect(Text);
        var p = result.NextLogProbabilities.Select(v => Math.Exp(v)).ToArray();
        p[result.Target] -= 1;
        double sumSq = 0;
        for (int j = 0; j < 4; j++)
        {
            double g = 0;
            for (int v = 0; v < 7; v++) g += model.Decoder.Weight.Span[v * 4 + j] * p[v];
            sumSq += g * g;
        }
        var top = result.HiddenGradients.Single(g => g.Layer == 1);
        Assert.Equal(Math.Sqrt(sumSq), top.Norms[^1], 1e-5);
        Assert.All(result.HiddenGradients, g => Assert.Equal(Text.Length, g.Norms.Length));
        Assert.All(result.HiddenGradients.SelectMany(g => g.Norms), n => Assert.True(double.IsFinite(n) && n >= 0));
    }

    [Fact]
    public void TraceStatesInWindowsMatchesOneRunWhenTheWarmupReachesTheStart()
    {
        var model = Model(CellType.Lstm);
        var inspector = new ModelInspector(model);
        int[] text = [.. Enumerable.Range(0, 23).Select(i => i * 5 % 7)];
        var whole = inspector.Inspect(text, gradients: false);
        var windows = inspector.TraceStates(text, window: 4, warmup: 100, batch: 3);
        for (int k = 0; k < 2; k++)
        {
            Assert.Empty(windows[k].Gates);
            for (int i = 0; i < whole.Layers[k].Hidden.Length; i++)
            {
                Assert.Equal(whole.Layers[k].Hidden[i], windows[k].Hidden[i], 1e-5);
                Assert.Equal(whole.Layers[k].Cell![i], windows[k].Cell![i], 1e-5);
            }
        }
        // With a short warm-up the states differ only where the context was cut.
        var cut = inspector.TraceStates(text, window: 8, warmup: 2, batch: 2);
        for (int i = 0; i < 8 * 4; i++) Assert.Equal(whole.Layers[1].Hidden[i], cut[1].Hidden[i], 1e-5);
    }

    [Fact]
    public void InspectorKeepsItsOwnWeightsAndRejectsBadInput()
    {
        var model = Model(CellType.Gru);
        var inspector = new ModelInspector(model);
        var before = inspector.Inspect(Text, gradients: false).NextLogProbabilities;
        foreach (ref float v in model.Decoder.Bias!.Span) v += 5f;
        Assert.Equal(before, inspector.Inspect(Text, gradients: false).NextLogProbabilities);
        Assert.Throws<ArgumentException>(() => inspector.Inspect([]));
        Assert.Throws<ArgumentOutOfRangeException>(() => inspector.Inspect([7]));
        Assert.Throws<ArgumentOutOfRangeException>(() => inspector.Inspect([1], target: -1));
        var tagger = new SequenceModel(new SequenceModelConfig { VocabularySize = 5, EmbeddingSize = 2, HiddenSize = 3, OutputSize = 2 }, new Rng(1));
        Assert.Throws<ArgumentException>(() => new ModelInspector(tagger));
    }
}

public class UnitSearchTests
{
    /// <summary>T steps of H units of noise in [−0.3, 0.3]; unit 5 is high and unit 2 low wherever <paramref name="marked"/> says.</summary>
    private static float[] Planted(int T, int H, Func<int, bool> marked, ulong seed)
    {
        var rng = new Rng(seed);
        var s = new float[T * H];
        for (int i = 0; i < s.Length; i++) s[i] = (rng.NextFloat() - 0.5f) * 0.6f;
        for (int t = 0; t < T; t++)
            if (marked(t)) { s[t * H + 5] = 0.9f; s[t * H + 2] = -0.9f; }
        return s;
    }

    [Fact]
    public void RanksThePlantedUnitsFirstWithTheirSigns()
    {
        var text = Planted(40, 8, t => t is >= 10 and < 14, 1);
        var top = UnitSearch.Rank(text, 8, 10, 14, top: 3);
        Assert.Equal(3, top.Count);
        Assert.Equal([2, 5], top.Take(2).Select(u => u.Unit).Order());
        Assert.Equal(1, top.Single(u => u.Unit == 5).Sign);
        Assert.Equal(-1, top.Single(u => u.Unit == 2).Sign);
        Assert.True(top[1].Score > 3 * top[2].Score, $"{top[1].Score} vs {top[2].Score}");
        Assert.True(top[0].Fires(top[0].SpanMean) && !top[0].Fires(top[0].BaselineMean));
    }

    [Fact]
    public void FindsWhereTheSameUnitsFireInAReferenceText()
    {
        var text = Planted(40, 8, t => t is >= 10 and < 14, 1);
        var units = UnitSearch.Rank(text, 8, 10, 14, top: 2);
        // The reference has the pattern at [30, 34) (as long as the span) and at [70, 72) (shorter).
        var reference = Planted(100, 8, t => t is >= 30 and < 34 or >= 70 and < 72, 2);
        var matches = UnitSearch.FindMatches(reference, 8, units, spanLength: 4, max: 5);
        Assert.Equal(new UnitMatch(30, 34, 1.0), matches[0]);
        Assert.Equal(new UnitMatch(70, 72, 0.5), matches[1]);
        var baseline = UnitBaseline.Of(reference, 8);
        Assert.Equal([2, 5], UnitSearch.Rank(text, 8, 10, 14, 2, baseline).Select(u => u.Unit).Order());
        var fraction = UnitSearch.FiringFraction(reference, 8, units);
        Assert.Equal(1f, fraction[31]);
    }

    [Fact]
    public void ShortGapsJoinARun()
    {
        var text = Planted(40, 8, t => t is >= 10 and < 14, 1);
        var units = UnitSearch.Rank(text, 8, 10, 14, top: 2);
        var reference = Planted(100, 8, t => t is >= 50 and < 53 or >= 54 and < 56, 4);
        Assert.Equal((50, 56), UnitSearch.FindMatches(reference, 8, units, 4, 5, maxGap: 1).Select(m => (m.Start, m.End)).Single());
        Assert.Equal([(50, 53), (54, 56)], UnitSearch.FindMatches(reference, 8, units, 4, 5, maxGap: 0).Select(m => (m.Start, m.End)).Order());
    }

    [Fact]
    public void AUnitOnForTheWholeSpanBeatsOneThatSpikesOnce()
    {
        // Unit 5 is high on all four steps of the span; unit 1 spikes far higher on one of them only.
        var s = Planted(40, 8, t => t is >= 10 and < 14, 6);
        for (int t = 0; t < 40; t++) s[t * 8 + 2] = 0;   // take the planted low unit out
        s[11 * 8 + 1] = 40f;
        var top = UnitSearch.Rank(s, 8, 10, 14, top: 2);
        Assert.Equal(5, top[0].Unit);
    }

    [Fact]
    public void RejectsEmptyOrWholeSpans()
    {
        var s = Planted(10, 8, _ => false, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => UnitSearch.Rank(s, 8, 4, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => UnitSearch.Rank(s, 8, 5, 11, 1));
        Assert.Throws<ArgumentException>(() => UnitSearch.Rank(s, 8, 0, 10, 1));
        Assert.Throws<ArgumentException>(() => UnitSearch.Rank(s, 7, 0, 1, 1));
    }
}
