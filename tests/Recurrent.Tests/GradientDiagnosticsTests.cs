using Recurrent.Models;
using Recurrent.Diagnostics;
using Recurrent.Numerics;
using Recurrent.Tasks;

namespace Recurrent.Tests;

/// <summary>The long-range tasks generate what they claim.</summary>
public class SequenceTaskTests
{
    [Fact]
    public void AddingTargetIsTheSumOfTheTwoMarkedValues()
    {
        const int T = 37, B = 64;
        var task = new AddingProblem(T);
        var batch = task.SampleReadouts(B, new Rng(5));
        var x = batch.Inputs.Span;
        for (int b = 0; b < B; b++)
        {
            var marked = new List<int>();
            double sum = 0;
            for (int t = 0; t < T; t++)
            {
                float value = x[(t * B + b) * 2], marker = x[(t * B + b) * 2 + 1];
                Assert.InRange(value, 0f, 1f);
                Assert.True(marker is 0f or 1f, $"marker {marker}");
                if (marker == 1f) { marked.Add(t); sum += value; }
            }
            Assert.Equal(2, marked.Count);
            Assert.True(marked[0] < T / 2 && marked[1] >= T / 2, $"markers at {marked[0]}, {marked[1]}: one in each half");
            Assert.Equal(sum, batch.Targets[b], 1e-6);
        }
        Assert.Equal(1.0 / 6.0, task.BaselineLoss, 1e-12);
    }

    [Fact]
    public void AddingBaselineIsTheVarianceOfTheSum()
    {
        // Predicting 1.0 for every sequence: MSE → Var(U₁ + U₂) = 1/6.
        var batch = new AddingProblem(20).SampleReadouts(20_000, new Rng(11));
        double mse = batch.Targets.Average(y => (y - 1.0) * (y - 1.0));
        Assert.InRange(mse, 1.0 / 6.0 - 0.006, 1.0 / 6.0 + 0.006);
    }

    [Fact]
    public void CopyTaskReadoutRepeatsTheSymbols()
    {
        const int T = 20, B = 16;
        var task = new CopyTask(T, symbols: 4, alphabet: 6);
        var batch = task.SampleReadouts(B, new Rng(3));
        int S = task.Symbols, V = task.InputSize;
        Assert.Equal(4, S);
        Assert.Equal(S * B, batch.Labels.Length);
        var x = batch.Inputs.Span;
        for (int b = 0; b < B; b++)
        {
            for (int t = 0; t < T; t++)
            {
                var step = x.Slice((t * B + b) * V, V);
                Assert.Equal(1f, step.ToArray().Sum());
                int category = step.IndexOf(1f);
                if (t < S)
                {
                    Assert.InRange(category, 0, task.Alphabet - 1);
                    Assert.Equal(category, batch.Labels[t * B + b]);   // readout r is symbol r
                }
                else Assert.Equal(t == T - S - 1 ? task.Delimiter : task.Blank, category);
            }
        }
        Assert.Equal(Math.Log(6), task.BaselineLoss, 1e-12);
    }

    [Fact]
    public void FirstTokenLabelIsTheFirstToken()
    {
        const int T = 12, B = 32;
        var task = new FirstTokenTask(T, classes: 5);
        var batch = task.SampleReadouts(B, new Rng(9));
        var x = batch.Inputs.Span;
        var labels = new HashSet<int>();
        for (int b = 0; b < B; b++)
        {
            for (int t = 0; t < T; t++) Assert.Equal(1f, x.Slice((t * B + b) * 5, 5).ToArray().Sum());
            Assert.Equal(x.Slice(b * 5, 5).IndexOf(1f), batch.Labels[b]);
            labels.Add(batch.Labels[b]);
        }
        Assert.True(labels.Count > 1, "labels should vary");
    }

    [Fact]
    public void TheSameSeedGivesTheSameBatch()
    {
        var a = new CopyTask(15).SampleReadouts(4, new Rng(1));
        var b = new CopyTask(15).SampleReadouts(4, new Rng(1));
        Assert.Equal(a.Inputs.Span.ToArray(), b.Inputs.Span.ToArray());
        Assert.Equal(a.Labels, b.Labels);
    }

    [Fact]
    public void BadLengthsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AddingProblem(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CopyTask(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => SequenceTask.Create("sorting", 10));
    }
}

/// <summary>
/// ‖dL/dh_t‖ as the BPTT backward records it, against finite differences; the vanishing
/// gradient of a tanh RNN against an LSTM; clipping by global norm.
/// </summary>
public class GradientDiagnosticsTests
{
    public static TheoryData<string, string> FiniteDifferenceCases() => new()
    {
        { "rnn-tanh", "adding" }, { "irnn", "adding" }, { "lstm", "adding" }, { "gru", "adding" },
        { "lstm", "first" }, { "gru", "copy" },
    };

    /// <summary>
    /// For every t, dL/dh_t is measured by perturbing each element of h_t (c_t held fixed, as
    /// BPTT defines it for an LSTM) and re-running the real float32 layers from step t + 1 on;
    /// its norm must match the recorder's. A float32 forward makes the loss uncertain by about
    /// 1e-7, so a central difference with step ε carries ~1e-7/ε of noise per element plus an
    /// O(ε²) truncation term: with ε = 1e-2 (1e-3 near ReLU kinks) both stay below 1e-3 of the
    /// norms of this tiny model (T = 6, whose earliest norms are still ~1e-2 of the last), and
    /// the bound is 2e-3 relative (measured: ≤ 2e-4); a missing term of the recurrence (e.g. the output's own
    /// gradient, the cell path, or a gate) changes the norms by far more.
    /// </summary>
    [Theory]
    [MemberData(nameof(FiniteDifferenceCases))]
    public void RecordedNormsMatchFiniteDifferences(string recipe, string taskName)
    {
        const int T = 6, B = 2, H = 3;
        var task = SequenceTask.Create(taskName, T);
        var model = task.CreateModel(CellRecipe.Parse(recipe), H, new Rng(21));
        var batch = task.Sample(B, new Rng(22));

        model.ZeroGrad();
        double[] recorded;
        using (var recorder = new HiddenGradientRecorder(model.Rnn, T))
        {
            var predictions = model.Forward(batch);
            model.Loss(predictions, batch, backward: true);
            model.Backward(predictions.Span);
            recorded = recorder.Snapshot(T)[0].Norms;
        }

        float eps = recipe == "irnn" ? 1e-3f : 1e-2f;
        for (int t = 0; t < T; t++)
        {
            var (hT, cT) = StateAfter(model, batch, t);
            double sum = 0;
            for (int i = 0; i < hT.Length; i++)
            {
                float saved = hT.Span[i];
                hT.Span[i] = saved + eps;
                double plus = LossFrom(model, task, batch, t, hT, cT);
                hT.Span[i] = saved - eps;
                double minus = LossFrom(model, task, batch, t, hT, cT);
                hT.Span[i] = saved;
                double d = (plus - minus) / (2 * eps);
                sum += d * d;
            }
            double numeric = Math.Sqrt(sum);
            Assert.True(recorded[t] > 0, $"{recipe}: ‖dL/dh_{t}‖ = {recorded[t]}");
            double err = Math.Abs(numeric - recorded[t]) / recorded[t];
            Assert.True(err < 2e-3, $"{recipe} {taskName} t={t}: recorded {recorded[t]:E4}, finite differences {numeric:E4} (relative error {err:E2})");
        }
    }

    /// <summary>The state (h_t, c_t) after running the first t + 1 steps, each [1, B, H].</summary>
    private static (Tensor H, Tensor? C) StateAfter(SequenceModel model, SequenceBatch batch, int t)
    {
        var prefix = Steps(batch.Features!, 0, t + 1);
        var r = model.Rnn.Forward(prefix);
        return (Copy(r.HN), r.CN is null ? null : Copy(r.CN));
    }

    /// <summary>The loss as a function of h_t: steps t + 1 … T − 1 run from (h_t, c_t), then the head and the loss on the readout steps.</summary>
    private static double LossFrom(SequenceModel model, SequenceTask task, SequenceBatch batch, int t, Tensor hT, Tensor? cT)
    {
        int T = batch.Steps, B = batch.Size, H = model.Rnn.Options.HiddenSize, R = task.ReadoutSteps;
        // The outputs of steps t … T − 1: h_t itself, then the suffix run.
        var outputs = new Tensor(T - t, B, H);
        hT.Span.CopyTo(outputs.Span);
        if (t < T - 1)
        {
            var suffix = model.Rnn.Forward(Steps(batch.Features!, t + 1, T - t - 1), h0: hT, c0: cT).Output;
            suffix.Span.CopyTo(outputs.Span[(B * H)..]);
        }
        // Readout steps before t do not depend on h_t; use the unperturbed forward's outputs for them.
        int firstReadout = T - R;
        var readout = new Tensor(R * B, H);
        var full = model.Rnn.Forward(batch.Features!).Output.Span.ToArray();
        for (int r = 0; r < R; r++)
        {
            int time = firstReadout + r;
            var src = time >= t ? outputs.Span.Slice((time - t) * B * H, B * H) : full.AsSpan((time * B) * H, B * H);
            src.CopyTo(readout.Span.Slice(r * B * H, B * H));
        }
        var prediction = model.Decoder.Forward(readout, R * B).Span;
        int K = task.OutputSize, first = firstReadout * B;   // the readout rows are the last R·B of the per-step targets
        double loss = 0;
        if (task.Kind == TaskKind.Regression)
        {
            for (int i = 0; i < prediction.Length; i++) loss += Math.Pow(prediction[i] - batch.Targets![first * K + i], 2);
            return loss / prediction.Length;
        }
        for (int n = 0; n < R * B; n++)
        {
            var row = prediction.Slice(n * K, K);
            double max = double.NegativeInfinity;
            foreach (float v in row) max = Math.Max(max, v);
            double z = 0;
            foreach (float v in row) z += Math.Exp(v - max);
            loss += max + Math.Log(z) - row[batch.Labels![first + n]];
        }
        return loss / (R * B);
    }

    private static Tensor Steps(Tensor x, int start, int count)
    {
        int B = x.Dim(1), V = x.Dim(2);
        var t = new Tensor(count, B, V);
        x.Span.Slice(start * B * V, count * B * V).CopyTo(t.Span);
        return t;
    }

    private static Tensor Copy(Tensor t)
    {
        var c = new Tensor(t.Shape);
        t.Span.CopyTo(c.Span);
        return c;
    }

    /// <summary>‖dL/dh_1‖ / ‖dL/dh_T‖ of an untrained model on one adding-problem batch.</summary>
    private static double DecayRatio(CellRecipe recipe, int T, float recurrentGain = 1f)
    {
        var task = new AddingProblem(T);
        var model = task.CreateModel(recipe, 32, new Rng(7), recurrentGain);
        var report = GradientProbe.Measure(model, task.Sample(16, new Rng(8)));
        var norms = report.Hidden[0].Norms;
        Assert.True(norms.All(double.IsFinite) && norms[^1] > 0);
        return norms[0] / norms[^1];
    }

    /// <summary>
    /// The vanishing gradient, deterministically: at T = 40 a tanh RNN with small recurrent
    /// weights (PyTorch's default U(±1/√H): spectral radius ≈ 1/√3 ≈ 0.58) passes a far smaller fraction of the loss's gradient back to
    /// step 1 than an LSTM whose forget gates start open (bias 1). Even the LSTM's ratio is
    /// below 1 (its cell path decays as the product of its forget gates, σ(1) ≈ 0.73 at init),
    /// so the check is on the ratio of ratios, with a margin of four decades over the 100× asked.
    /// </summary>
    [Fact]
    public void TanhRnnGradientVanishesFarFasterThanLstm()
    {
        const int T = 40;
        double tanh = DecayRatio(CellRecipe.RnnTanh, T);
        double lstm = DecayRatio(CellRecipe.Lstm, T);
        Assert.True(tanh > 0, "the tanh ratio underflowed to zero; the check needs a finite ratio");
        Assert.True(lstm < 1, $"LSTM ratio {lstm:E3}: its gradient also decays, only more slowly");
        Assert.True(tanh * 100 <= lstm, $"tanh RNN ratio {tanh:E3} should be ≥100× smaller than the LSTM's {lstm:E3}");
        // Measured: tanh 1.1e-9, LSTM 9.8e-4, i.e. ~9e5×; the wide margin is kept honest by this second bound.
        Assert.True(tanh * 1e4 <= lstm, $"margin: tanh {tanh:E3} vs LSTM {lstm:E3} (expected ≥ 1e4×)");
    }

    private static Parameter[] RandomGradients(ulong seed)
    {
        var rng = new Rng(seed);
        Parameter[] ps = [new("a", new Tensor(7, 5)), new("b", new Tensor(13)), new("c", new Tensor(3, 3, 3))];
        foreach (var p in ps) rng.FillUniform(p.GradSpan, -2f, 2f);
        return ps;
    }

    [Fact]
    public void ClippingCapsTheGlobalNormAtTheThreshold()
    {
        var ps = RandomGradients(1);
        double before = GradientNorms.Global(ps);
        double threshold = before / 3;
        double returned = Recurrent.Optimizers.GradientClipping.ClipByGlobalNorm(ps, threshold);
        Assert.Equal(before, returned);
        // PyTorch's rule scales by threshold/(N + 1e-6), each element rounded to float once: the threshold to ~1e-7 relative.
        Assert.Equal(threshold, GradientNorms.Global(ps), threshold * 1e-6);
    }

    [Fact]
    public void ClippingLeavesGradientsBelowTheThresholdUntouched()
    {
        var ps = RandomGradients(2);
        var saved = ps.Select(p => p.GradSpan.ToArray()).ToArray();
        double before = GradientNorms.Global(ps);
        Assert.Equal(before, Recurrent.Optimizers.GradientClipping.ClipByGlobalNorm(ps, before * 1.01));
        for (int k = 0; k < ps.Length; k++) Assert.Equal(saved[k], ps[k].GradSpan.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Recurrent.Optimizers.GradientClipping.ClipByGlobalNorm(ps, 0));
    }

    [Fact]
    public void ProbeReportsNormsBeforeAndAfterClipping()
    {
        var task = new AddingProblem(12);
        var model = task.CreateModel(CellRecipe.Gru, 8, new Rng(3), recurrentGain: 3f);
        var batch = task.Sample(8, new Rng(4));
        var free = GradientProbe.Measure(model, batch);
        double clip = free.GlobalNormBeforeClip / 4;
        var clipped = GradientProbe.Measure(model, batch, clip, jacobianTimes: [0, 11]);
        Assert.Equal(free.GlobalNormBeforeClip, clipped.GlobalNormBeforeClip);
        Assert.Equal(clip, clipped.GlobalNormAfterClip, clip * 1e-6);
        Assert.Equal(free.Hidden[0].Norms, clipped.Hidden[0].Norms);   // clipping acts on parameters, not on dL/dh_t
        double squares = clipped.Parameters.Sum(p => p.AfterClip * p.AfterClip);
        Assert.Equal(clip, Math.Sqrt(squares), clip * 1e-6);
        foreach (var p in clipped.Parameters) Assert.Equal(p.BeforeClip / 4, p.AfterClip, p.BeforeClip * 1e-5 + 1e-12);
        Assert.Equal(2, clipped.Spectra.Count);
        Assert.All(clipped.Spectra, s => Assert.Equal(8, s.Spectrum.Hidden.Length));
    }

    [Fact]
    public void TrainingWithClippingNeverUpdatesWithALargerNorm()
    {
        var task = new AddingProblem(10);
        var model = task.CreateModel(CellRecipe.RnnTanh, 8, new Rng(5), recurrentGain: 4f);
        var after = new List<double>();
        var result = TaskTrainer.Train(model, task, new TaskTrainingOptions(20, BatchSize: 8, LearningRate: 1e-2f, ClipNorm: 0.5), new Rng(6),
            afterStep: _ => after.Add(GradientNorms.Global(model.Parameters)));
        Assert.Null(result.DivergedAt);
        Assert.Equal(20, result.Steps.Count);
        Assert.All(after, n => Assert.True(n <= 0.5 * (1 + 1e-6), $"norm after clipping {n}"));
    }
    [Fact]
    public void ADivergedRunRecordsTheStepItStoppedAt()
    {
        // An IRNN (ReLU, identity recurrence) scaled up over 80 steps: the hidden state grows as
        // gain^T and the loss overflows. (The other way to diverge, a finite loss with a
        // non-finite gradient norm, takes the same recording path since this stop's fix; no
        // natural setup reaching it was found, so it is not exercised here.)
        var task = new FirstTokenTask(80);
        var model = task.CreateModel(CellRecipe.Irnn, 16, new Rng(7), recurrentGain: 6f);
        var seen = new List<TaskTrainingStep>();
        var result = TaskTrainer.Train(model, task, new TaskTrainingOptions(50, BatchSize: 8, LearningRate: 1e-2f), new Rng(8), afterStep: seen.Add);
        Assert.NotNull(result.DivergedAt);
        Assert.Equal(result.DivergedAt!.Value + 1, result.Steps.Count);
        Assert.Equal(result.DivergedAt.Value, result.Steps[^1].Step);
        Assert.Equal(result.Steps, seen);
    }
}
