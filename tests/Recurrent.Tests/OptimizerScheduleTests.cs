using Recurrent.Optimizers;

namespace Recurrent.Tests;

/// <summary>Learning-rate schedules give their documented values and save/restore their state.</summary>
public class OptimizerScheduleTests
{
    [Fact]
    public void ConstantIsConstant()
    {
        var s = new ConstantSchedule(0.3f);
        Assert.Equal(0.3f, s.LearningRate(0));
        Assert.Equal(0.3f, s.LearningRate(1_000_000));
        s.ReportValidation(5);
        Assert.Equal(0.3f, s.LearningRate(7));
        Assert.Empty(s.GetState());
    }

    [Fact]
    public void StepDecayMultipliesEveryStepSize()
    {
        var s = new StepDecaySchedule(1f, stepSize: 10, gamma: 0.5f);
        Assert.Equal(1f, s.LearningRate(0));
        Assert.Equal(1f, s.LearningRate(9));
        Assert.Equal(0.5f, s.LearningRate(10));
        Assert.Equal(0.5f, s.LearningRate(19));
        Assert.Equal(0.25f, s.LearningRate(20));
        Assert.Equal(MathF.Pow(0.5f, 10), s.LearningRate(105));
        // Computed as torch's StepLR does: base_lr · gamma ** (t // step_size) in double (0.1 · 0.1 ** 2 as Python writes it).
        Assert.Equal((float)(0.1 * Math.Pow(0.1, 2)), new StepDecaySchedule(0.1f, 3, 0.1f).LearningRate(7));
    }

    [Fact]
    public void CosineWarmsUpLinearlyThenAnneals()
    {
        var s = new CosineSchedule(0.01f, warmupSteps: 100, totalSteps: 1100, minLr: 0.001f);
        Assert.Equal(0f, s.LearningRate(0));
        Assert.Equal(0.005f, s.LearningRate(50));
        Assert.Equal(0.0001f, s.LearningRate(1));
        Assert.Equal(0.01f, s.LearningRate(100));                    // peak exactly at the end of warm-up
        Assert.Equal(0.0055f, s.LearningRate(600), 1e-9f);          // halfway down: (lr + minLr) / 2
        Assert.Equal(0.001f, s.LearningRate(1100));                  // minLr at totalSteps
        Assert.Equal(0.001f, s.LearningRate(5000));                  // and after
        for (long t = 1; t <= 100; t++) Assert.True(s.LearningRate(t) > s.LearningRate(t - 1));
        for (long t = 101; t <= 1100; t++) Assert.True(s.LearningRate(t) <= s.LearningRate(t - 1));

        var noWarmup = new CosineSchedule(2f, warmupSteps: 0, totalSteps: 4);
        Assert.Equal([2f, (float)(1 + Math.Cos(Math.PI / 4)), 1f, (float)(1 + Math.Cos(3 * Math.PI / 4)), 0f],
            Enumerable.Range(0, 5).Select(t => noWarmup.LearningRate(t)));

        var allWarmup = new CosineSchedule(1f, warmupSteps: 4, totalSteps: 4, minLr: 0.5f);
        Assert.Equal([0f, 0.25f, 0.5f, 0.75f, 0.5f], Enumerable.Range(0, 5).Select(t => allWarmup.LearningRate(t)));
    }

    [Fact]
    public void PlateauDividesOnlyAfterPatienceIsExceeded()
    {
        var zaremba = new PlateauSchedule(1f);                       // factor 1/4, patience 0
        zaremba.ReportValidation(5.0);
        Assert.Equal(1f, zaremba.LearningRate(0));
        zaremba.ReportValidation(4.0);                               // improves
        Assert.Equal(1f, zaremba.LearningRate(0));
        zaremba.ReportValidation(4.0);                               // no improvement: divide at once
        Assert.Equal(0.25f, zaremba.LearningRate(0));
        zaremba.ReportValidation(4.5);
        Assert.Equal(0.0625f, zaremba.LearningRate(0));

        var patient = new PlateauSchedule(1f, factor: 0.5f, patience: 2);
        patient.ReportValidation(3.0);
        patient.ReportValidation(3.0); Assert.Equal(1f, patient.LearningRate(0));
        patient.ReportValidation(3.1); Assert.Equal(1f, patient.LearningRate(0));
        patient.ReportValidation(2.9); Assert.Equal(1f, patient.LearningRate(0));   // improvement resets the count
        Assert.Equal(0, patient.BadEvaluations);
        patient.ReportValidation(3.0); patient.ReportValidation(3.0); Assert.Equal(1f, patient.LearningRate(0));
        patient.ReportValidation(3.0); Assert.Equal(0.5f, patient.LearningRate(0)); // third in a row exceeds patience 2
        patient.ReportValidation(3.0); patient.ReportValidation(3.0); Assert.Equal(0.5f, patient.LearningRate(0));
        patient.ReportValidation(double.NaN); Assert.Equal(0.25f, patient.LearningRate(0)); // NaN never improves
        Assert.Equal(2.9, patient.BestLoss);

        var relative = new PlateauSchedule(1f, patience: 0, threshold: 0.01);
        relative.ReportValidation(100);
        relative.ReportValidation(99.5);                             // less than 1% better: not an improvement
        Assert.Equal(0.25f, relative.LearningRate(0));
        relative.ReportValidation(98);
        Assert.Equal(0.25f, relative.LearningRate(0));
        Assert.Equal(98, relative.BestLoss);
    }

    [Fact]
    public void PlateauStateRoundTrips()
    {
        var a = new PlateauSchedule(0.8f, factor: 0.5f, patience: 1);
        var fresh = new PlateauSchedule(0.8f, factor: 0.5f, patience: 1).GetState();
        Assert.Equal(0, fresh["has_best_loss"]);
        double[] losses = [4, 3, 3.5, 3.5, 3.2, 2.0];
        foreach (double l in losses[..4]) a.ReportValidation(l);
        var saved = a.GetState();
        var b = new PlateauSchedule(0.8f, factor: 0.5f, patience: 1);
        b.SetState(saved);
        Assert.Equal(a.LearningRate(0), b.LearningRate(0));
        foreach (double l in losses[4..].Concat([2.5, 2.5, 2.5, 1.0]))
        {
            a.ReportValidation(l); b.ReportValidation(l);
            Assert.Equal(a.GetState(), b.GetState());
            Assert.Equal(a.LearningRate(0), b.LearningRate(0));
        }
        Assert.Equal(0.2f, a.LearningRate(0));

        var c = new PlateauSchedule(1f);
        c.SetState(fresh);
        c.ReportValidation(1e9);
        Assert.Equal(0.8f, c.LearningRate(0));                       // restored "no best yet": the first loss improves
    }

    [Fact]
    public void SetStateRejectsBadState()
    {
        var p = new PlateauSchedule(1f, patience: 2);
        var good = p.GetState();
        Dictionary<string, double> With(string key, double value) { var d = good.ToDictionary(); d[key] = value; return d; }
        Assert.Contains("learning_rate", Assert.Throws<ArgumentException>(() => p.SetState(With("learning_rate", -1))).Message);
        Assert.Contains("bad_evaluations", Assert.Throws<ArgumentException>(() => p.SetState(With("bad_evaluations", 3))).Message);
        Assert.Contains("has_best_loss", Assert.Throws<ArgumentException>(() => p.SetState(With("has_best_loss", 0.5))).Message);
        Assert.Contains("surprise", Assert.Throws<ArgumentException>(() => p.SetState(With("surprise", 1))).Message);
        Assert.Contains("best_loss", Assert.Throws<ArgumentException>(() => p.SetState(good.Where(kv => kv.Key != "best_loss").ToDictionary())).Message);
        Assert.Throws<ArgumentException>(() => new CosineSchedule(1f, 0, 10).SetState(good));
        new StepDecaySchedule(1f, 1, 0.5f).SetState(new Dictionary<string, double>());
    }

    [Fact]
    public void SchedulesValidateArguments()
    {
        void Throws(string name, Action a) => Assert.Throws<ArgumentOutOfRangeException>(name, a);
        Throws("lr", () => new ConstantSchedule(0));
        Throws("lr", () => new ConstantSchedule(float.NaN));
        Throws("lr", () => new StepDecaySchedule(-1, 1, 0.5f));
        Throws("stepSize", () => new StepDecaySchedule(1, 0, 0.5f));
        Throws("gamma", () => new StepDecaySchedule(1, 1, 0));
        Throws("gamma", () => new StepDecaySchedule(1, 1, 1.5f));
        Throws("lr", () => new CosineSchedule(0, 0, 10));
        Throws("totalSteps", () => new CosineSchedule(1, 0, 0));
        Throws("warmupSteps", () => new CosineSchedule(1, -1, 10));
        Throws("warmupSteps", () => new CosineSchedule(1, 11, 10));
        Throws("minLr", () => new CosineSchedule(1, 0, 10, minLr: 2));
        Throws("minLr", () => new CosineSchedule(1, 0, 10, minLr: -0.1f));
        Throws("lr", () => new PlateauSchedule(float.PositiveInfinity));
        Throws("factor", () => new PlateauSchedule(1, factor: 1));
        Throws("factor", () => new PlateauSchedule(1, factor: 0));
        Throws("patience", () => new PlateauSchedule(1, patience: -1));
        Throws("threshold", () => new PlateauSchedule(1, threshold: -0.1));
        Throws("threshold", () => new PlateauSchedule(1, threshold: 1));
        Throws("step", () => new ConstantSchedule(1).LearningRate(-1));
        Throws("step", () => new CosineSchedule(1, 1, 2).LearningRate(-1));
        Throws("step", () => new PlateauSchedule(1).LearningRate(-1));
    }

    [Fact]
    public void ScheduleDrivesAnOptimizer()
    {
        var p = new Recurrent.Numerics.Parameter("w", new Recurrent.Numerics.Tensor(1));
        var sgd = new Sgd([p], 1f);
        ILearningRateSchedule schedule = new StepDecaySchedule(1f, stepSize: 2, gamma: 0.5f);
        p.GradSpan[0] = 1f;
        float[] applied = new float[5];
        for (int k = 0; k < 5; k++)
        {
            sgd.LearningRate = schedule.LearningRate(sgd.StepCount);
            applied[k] = sgd.LearningRate;
            sgd.Step();
        }
        Assert.Equal([1f, 1f, 0.5f, 0.5f, 0.25f], applied);
        Assert.Equal(-3.25f, p.Span[0]);
    }
}
