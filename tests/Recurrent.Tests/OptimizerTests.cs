using Recurrent.Serialization;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Recurrent.Numerics;
using Recurrent.Optimizers;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Optimizers and clipping against torch.optim 1.13 (fixtures from scripts/make_optimizer_fixtures.py),
/// exact state save/restore, and argument validation.
/// Parity norm: for every tensor after every step, max|actual − expected| / max|expected| ≤ 1e-6
/// (relative error in the max norm).
/// </summary>
public class OptimizerTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-6;
    private static readonly string FixtureDirectory = TestPaths.Fixture("optim");

    private static readonly string[] OptimizerCaseNames =
    [
        "sgd_plain", "sgd_momentum", "sgd_momentum_dampening", "sgd_nesterov", "sgd_weight_decay", "sgd_momentum_weight_decay",
        "adam", "adam_weight_decay", "adam_betas_eps", "adamw", "adamw_weight_decay",
        "rmsprop_plain", "rmsprop_momentum", "rmsprop_centered", "rmsprop_centered_momentum_weight_decay",
    ];

    public static TheoryData<string> OptimizerCases => new(OptimizerCaseNames);

    private static readonly string[] ClipCases = ["clip_norm_clips", "clip_norm_keeps", "clip_value"];

    [Fact]
    public void EveryFixtureIsChecked()
    {
        var files = Directory.GetFiles(FixtureDirectory, "*.safetensors").Select(Path.GetFileNameWithoutExtension).Order();
        var checkedCases = OptimizerCaseNames.Concat(ClipCases).Order();
        Assert.Equal(checkedCases, files);
    }

    [Theory]
    [MemberData(nameof(OptimizerCases))]
    public void StepsMatchTorch(string name)
    {
        var fixture = SafeTensorFile.Load(Path.Combine(FixtureDirectory, name + ".safetensors"));
        string[] parameterNames = ["weight", "bias"];
        var parameters = parameterNames.Select(n => new Parameter(n, fixture.GetTensor("initial." + n).Clone())).ToArray();
        var optimizer = Build(fixture.Metadata, parameters);
        int steps = int.Parse(fixture.Metadata["steps"], CultureInfo.InvariantCulture);
        double worst = 0;
        int exact = 0, total = 0;
        for (int k = 1; k <= steps; k++)
        {
            foreach (var p in parameters) fixture.GetTensor($"grad.{k}.{p.Name}").Span.CopyTo(p.GradSpan);
            optimizer.Step();
            Assert.Equal(k, optimizer.StepCount);
            foreach (var p in parameters)
            {
                var expected = fixture.GetTensor($"value.{k}.{p.Name}").Span;
                double error = RelativeMaxNormError(expected, p.Span);
                worst = Math.Max(worst, error);
                for (int i = 0; i < expected.Length; i++) { total++; if (expected[i] == p.Span[i]) exact++; }
                Assert.True(error <= Tolerance, $"{name} step {k} {p.Name}: relative max-norm error {error:E2} > {Tolerance:E0}");
            }
        }
        output.WriteLine($"{name}: max relative error {worst:E2}; {exact}/{total} values bit-identical to torch");
    }

    [Theory]
    [InlineData("clip_norm_clips")]
    [InlineData("clip_norm_keeps")]
    public void ClipByGlobalNormMatchesTorch(string name)
    {
        var fixture = SafeTensorFile.Load(Path.Combine(FixtureDirectory, name + ".safetensors"));
        var parameters = GradientsFrom(fixture);
        double maxNorm = double.Parse(fixture.Metadata["max_norm"], CultureInfo.InvariantCulture);
        double norm = GradientClipping.ClipByGlobalNorm(parameters, maxNorm);
        double torchNorm = fixture.GetTensor("total_norm").Span[0];
        Assert.True(Math.Abs(norm - torchNorm) <= Tolerance * torchNorm, $"norm {norm} vs torch {torchNorm}");
        foreach (var p in parameters)
        {
            double error = RelativeMaxNormError(fixture.GetTensor("clipped." + p.Name).Span, p.GradSpan);
            output.WriteLine($"{name} {p.Name}: max relative error {error:E2}");
            Assert.True(error <= Tolerance, $"{name} {p.Name}: {error:E2}");
        }
    }

    [Fact]
    public void ClipByValueMatchesTorch()
    {
        var fixture = SafeTensorFile.Load(Path.Combine(FixtureDirectory, "clip_value.safetensors"));
        var parameters = GradientsFrom(fixture);
        GradientClipping.ClipByValue(parameters, float.Parse(fixture.Metadata["clip_value"], CultureInfo.InvariantCulture));
        foreach (var p in parameters)
            Assert.Equal(fixture.GetTensor("clipped." + p.Name).Span.ToArray(), p.GradSpan.ToArray());
    }

    [Fact]
    public void ClipByGlobalNormCapsTheNormAtTheThreshold()
    {
        var rng = new Rng(7);
        var parameters = new[] { new Parameter("a", new Tensor(33, 17)), new Parameter("b", new Tensor(5)), new Parameter("c", new Tensor(1000)) };
        foreach (var p in parameters) rng.FillGaussian(p.GradSpan, 0, 1);
        double before = GradientClipping.GlobalNorm(parameters);
        Assert.True(before > 30);
        const double maxNorm = 1.25;
        double returned = GradientClipping.ClipByGlobalNorm(parameters, maxNorm);
        Assert.Equal(before, returned);
        double after = GradientClipping.GlobalNorm(parameters);
        Assert.True(Math.Abs(after - maxNorm) <= 1e-6 * maxNorm, $"norm after clipping {after} vs {maxNorm}");

        // Below the threshold nothing changes, bit for bit.
        var snapshot = parameters.Select(p => p.GradSpan.ToArray()).ToArray();
        Assert.Equal(after, GradientClipping.ClipByGlobalNorm(parameters, 2.0));
        for (int i = 0; i < parameters.Length; i++) Assert.Equal(snapshot[i], parameters[i].GradSpan.ToArray());
    }

    [Fact]
    public void GlobalNormIsTheDoubleL2NormOfAllGradients()
    {
        var rng = new Rng(8);
        var parameters = new[] { new Parameter("a", new Tensor(7, 13)), new Parameter("b", new Tensor(3)) };
        double sum = 0;
        foreach (var p in parameters)
        {
            rng.FillGaussian(p.GradSpan, 0, 3);
            foreach (float g in p.GradSpan) sum += (double)g * g;
        }
        Assert.Equal(Math.Sqrt(sum), GradientClipping.GlobalNorm(parameters), 12);
        Assert.Equal(0, GradientClipping.GlobalNorm([new Parameter("z", new Tensor(4))]));
    }

    [Fact]
    public void ClipByValueClampsAndKeepsNaN()
    {
        var p = new Parameter("g", new Tensor(5));
        float[] grads = [-3f, -0.5f, 0.25f, 2f, float.NaN];
        grads.CopyTo(p.GradSpan);
        GradientClipping.ClipByValue([p], 1f);
        Assert.Equal([-1f, -0.5f, 0.25f, 1f], p.GradSpan[..4].ToArray());
        Assert.True(float.IsNaN(p.GradSpan[4]));
    }

    public static readonly TheoryData<string> RoundTripConfigurations = new()
    {
        "sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw", "rmsprop", "rmsprop_momentum_centered",
    };

    private static Optimizer Configured(string configuration, Parameter[] parameters) => configuration switch
    {
        "sgd" => new Sgd(parameters, 0.1f, weightDecay: 0.01f),
        "sgd_momentum" => new Sgd(parameters, 0.1f, momentum: 0.9f, dampening: 0.1f),
        "sgd_nesterov" => new Sgd(parameters, 0.1f, momentum: 0.9f, nesterov: true),
        "adam" => new Adam(parameters, 0.01f, weightDecay: 0.1f),
        "adamw" => new AdamW(parameters, 0.01f),
        "rmsprop" => new RmsProp(parameters, 0.01f),
        "rmsprop_momentum_centered" => new RmsProp(parameters, 0.01f, momentum: 0.5f, centered: true, weightDecay: 0.1f),
        _ => throw new ArgumentException(configuration),
    };

    private static Parameter[] RandomParameters(Rng rng)
    {
        var parameters = new[] { new Parameter("weight", new Tensor(19, 7)), new Parameter("bias", new Tensor(19)) };
        foreach (var p in parameters) rng.FillGaussian(p.Span, 0, 1);
        return parameters;
    }

    [Theory]
    [MemberData(nameof(RoundTripConfigurations))]
    public void RestoredOptimizerContinuesBitIdentically(string configuration)
    {
        var rng = new Rng(11);
        var original = RandomParameters(rng);
        var optimizer = Configured(configuration, original);
        var gradients = Enumerable.Range(0, 6).Select(_ => original.Select(p => { var g = new float[p.Value.Length]; rng.FillGaussian(g, 0, 1); return g; }).ToArray()).ToArray();
        void Apply(Optimizer o, Parameter[] ps, int k) { for (int i = 0; i < ps.Length; i++) gradients[k][i].CopyTo(ps[i].GradSpan); o.Step(); }

        for (int k = 0; k < 3; k++) Apply(optimizer, original, k);
        var saved = optimizer.StateTensors();
        long savedSteps = optimizer.StepCount;
        var restoredParameters = original.Select(p => new Parameter(p.Name, p.Value.Clone())).ToArray();
        var restored = Configured(configuration, restoredParameters);
        Assert.Equal(optimizer.Kind, restored.Kind);
        restored.LoadState(saved, savedSteps);
        Assert.Equal(3, restored.StepCount);

        // The saved tensors are a snapshot: stepping the original must not change them.
        var savedCopy = saved.ToDictionary(kv => kv.Key, kv => kv.Value.Span.ToArray());
        for (int k = 3; k < 6; k++)
        {
            Apply(optimizer, original, k);
            Apply(restored, restoredParameters, k);
            for (int i = 0; i < original.Length; i++)
                Assert.Equal(original[i].Span.ToArray(), restoredParameters[i].Span.ToArray());
        }
        foreach (var (key, values) in savedCopy) Assert.Equal(values, saved[key].Span.ToArray());
        var finalA = optimizer.StateTensors();
        var finalB = restored.StateTensors();
        Assert.Equal(finalA.Keys.Order(), finalB.Keys.Order());
        foreach (var key in finalA.Keys) Assert.Equal(finalA[key].Span.ToArray(), finalB[key].Span.ToArray());
    }

    [Fact]
    public void StateTensorsUseTorchStateNames()
    {
        var ps = new[] { new Parameter("w", new Tensor(2, 3)) };
        Assert.Empty(new Sgd(ps, 0.1f).StateTensors());
        Assert.Equal(["momentum_buffer.w"], new Sgd(ps, 0.1f, momentum: 0.9f).StateTensors().Keys);
        Assert.Equal(["exp_avg.w", "exp_avg_sq.w"], new Adam(ps).StateTensors().Keys.Order());
        Assert.Equal(["exp_avg.w", "exp_avg_sq.w"], new AdamW(ps).StateTensors().Keys.Order());
        Assert.Equal(["square_avg.w"], new RmsProp(ps).StateTensors().Keys);
        Assert.Equal(["grad_avg.w", "momentum_buffer.w", "square_avg.w"], new RmsProp(ps, momentum: 0.9f, centered: true).StateTensors().Keys.Order());
        Assert.Equal([2, 3], new Adam(ps).StateTensors()["exp_avg.w"].Shape);
        Assert.Equal(["sgd", "adam", "adamw", "rmsprop"], new Optimizer[] { new Sgd(ps, 1f), new Adam(ps), new AdamW(ps), new RmsProp(ps) }.Select(o => o.Kind));
    }

    [Fact]
    public void LoadStateRejectsMismatchesAndChangesNothing()
    {
        var ps = new[] { new Parameter("w", new Tensor(2, 3)), new Parameter("b", new Tensor(3)) };
        var adam = new Adam(ps);
        ps[0].GradSpan.Fill(1f); ps[1].GradSpan.Fill(1f);
        adam.Step();
        var good = adam.StateTensors();
        var before = good.ToDictionary(kv => kv.Key, kv => kv.Value.Span.ToArray());

        var missing = good.Where(kv => kv.Key != "exp_avg_sq.b").ToDictionary();
        Assert.Contains("exp_avg_sq.b", Assert.Throws<ArgumentException>(() => adam.LoadState(missing, 5)).Message);

        var extra = good.ToDictionary(); extra["momentum_buffer.w"] = new Tensor(2, 3);
        Assert.Contains("momentum_buffer.w", Assert.Throws<ArgumentException>(() => adam.LoadState(extra, 5)).Message);

        var wrongShape = good.ToDictionary(); wrongShape["exp_avg.w"] = new Tensor(3, 2);
        var e = Assert.Throws<ArgumentException>(() => adam.LoadState(wrongShape, 5));
        Assert.Contains("exp_avg.w", e.Message); Assert.Contains("[3, 2]", e.Message); Assert.Contains("[2, 3]", e.Message);

        Assert.Throws<ArgumentOutOfRangeException>("stepCount", () => adam.LoadState(good, -1));
        Assert.Equal(1, adam.StepCount);
        var after = adam.StateTensors();
        foreach (var (key, values) in before) Assert.Equal(values, after[key].Span.ToArray());
    }

    [Fact]
    public void StepCountZeroGradAndLearningRate()
    {
        var p = new Parameter("w", new Tensor(4));
        var sgd = new Sgd([p], 0.5f);
        p.GradSpan.Fill(2f);
        sgd.Step(); sgd.Step();
        Assert.Equal(2, sgd.StepCount);
        Assert.Equal(-2f, p.Span[0]);          // two steps of 0.5·2, gradients are not zeroed by Step
        sgd.ZeroGrad();
        Assert.All(p.GradSpan.ToArray(), g => Assert.Equal(0f, g));
        sgd.LearningRate = 0;                  // schedules may reach 0
        p.GradSpan.Fill(1f);
        sgd.Step();
        Assert.Equal(-2f, p.Span[0]);
        Assert.Throws<ArgumentOutOfRangeException>("LearningRate", () => sgd.LearningRate = -1e-3f);
        Assert.Throws<ArgumentOutOfRangeException>("LearningRate", () => sgd.LearningRate = float.NaN);
        Assert.Throws<ArgumentOutOfRangeException>("LearningRate", () => sgd.LearningRate = float.PositiveInfinity);
    }

    [Fact]
    public void StepRefusesAParameterResizedAfterConstruction()
    {
        var p = new Parameter("w", new Tensor(4));
        var adam = new Adam([p]);
        p.Value.Resize(5);
        Assert.Contains("'w'", Assert.Throws<InvalidOperationException>(adam.Step).Message);
    }

    [Fact]
    public void StepDoesNotAllocate()
    {
        var rng = new Rng(3);
        var ps = RandomParameters(rng);
        foreach (var p in ps) rng.FillGaussian(p.GradSpan, 0, 1);
        Optimizer[] optimizers = [new Sgd(ps, 1e-3f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f), new Adam(ps, weightDecay: 1e-4f), new AdamW(ps), new RmsProp(ps, momentum: 0.9f, centered: true)];
        foreach (var o in optimizers) { o.LearningRate = 1e-3f; o.Step(); }
        GradientClipping.ClipByGlobalNorm(ps, 0.5);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 50; k++)
            foreach (var o in optimizers)
            {
                o.LearningRate = 1e-3f * (k + 1);
                o.Step();
            }
        long afterSteps = GC.GetAllocatedBytesForCurrentThread();
        GradientClipping.ClipByGlobalNorm(ps, 0.5);
        long afterClip = GC.GetAllocatedBytesForCurrentThread();
        long afterLr = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 50; k++) optimizers[0].LearningRate = 1e-3f * (k + 1);
        long afterLr2 = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal((0L, 0L, 0L), (afterSteps - before, afterClip - afterSteps, afterLr2 - afterLr));
    }

    [Fact]
    public void HyperparametersActAtTheirDecimalValue()
    {
        Assert.Equal(0.999, Optimizer.AsDecimal(0.999f));
        Assert.Equal(1e-8, Optimizer.AsDecimal(1e-8f));
        Assert.Equal(0.1, Optimizer.AsDecimal(0.1f));
        Assert.Equal(3.0, Optimizer.AsDecimal(3f));
        foreach (float x in new[] { 1.17549435e-38f, 3.4028235e38f, 0.3f, 7.1e-5f })
            Assert.Equal(x, (float)Optimizer.AsDecimal(x));
    }

    [Fact]
    public void ConstructorsValidateArguments()
    {
        var ps = new[] { new Parameter("w", new Tensor(3)) };
        void Throws(string name, Action build) => Assert.Throws<ArgumentOutOfRangeException>(name, build);

        Throws("lr", () => new Sgd(ps, 0));
        Throws("lr", () => new Sgd(ps, -1));
        Throws("lr", () => new Sgd(ps, float.NaN));
        Throws("lr", () => new Adam(ps, float.PositiveInfinity));
        Throws("lr", () => new AdamW(ps, 0));
        Throws("lr", () => new RmsProp(ps, -0.1f));
        Throws("momentum", () => new Sgd(ps, 0.1f, momentum: -0.1f));
        Throws("momentum", () => new Sgd(ps, 0.1f, momentum: 1f));
        Throws("momentum", () => new Sgd(ps, 0.1f, nesterov: true));
        Throws("dampening", () => new Sgd(ps, 0.1f, momentum: 0.9f, nesterov: true, dampening: 0.1f));
        Throws("dampening", () => new Sgd(ps, 0.1f, momentum: 0.9f, dampening: 1.5f));
        Throws("weightDecay", () => new Sgd(ps, 0.1f, weightDecay: -1e-4f));
        Throws("weightDecay", () => new Adam(ps, weightDecay: float.NaN));
        Throws("weightDecay", () => new AdamW(ps, weightDecay: -1));
        Throws("weightDecay", () => new RmsProp(ps, weightDecay: float.PositiveInfinity));
        Throws("beta1", () => new Adam(ps, beta1: 1f));
        Throws("beta1", () => new AdamW(ps, beta1: -0.1f));
        Throws("beta2", () => new Adam(ps, beta2: 1f));
        Throws("beta2", () => new AdamW(ps, beta2: float.NaN));
        Throws("eps", () => new Adam(ps, eps: 0));
        Throws("eps", () => new AdamW(ps, eps: -1e-8f));
        Throws("eps", () => new RmsProp(ps, eps: 0));
        Throws("alpha", () => new RmsProp(ps, alpha: 1f));
        Throws("alpha", () => new RmsProp(ps, alpha: -0.5f));
        Throws("momentum", () => new RmsProp(ps, momentum: 1f));
        Throws("maxNorm", () => GradientClipping.ClipByGlobalNorm(ps, 0));
        Throws("maxNorm", () => GradientClipping.ClipByGlobalNorm(ps, double.NaN));
        Throws("clipValue", () => GradientClipping.ClipByValue(ps, -1f));
        Throws("clipValue", () => GradientClipping.ClipByValue(ps, float.PositiveInfinity));

        Assert.Throws<ArgumentException>("parameters", () => new Adam([]));
        Assert.Throws<ArgumentException>("parameters", () => new Adam([ps[0], new Parameter("w", new Tensor(2))]));
        Assert.Throws<ArgumentException>("parameters", () => new Adam([new Parameter("", new Tensor(2))]));
        Assert.Throws<ArgumentNullException>("parameters", () => new Adam(null!));
        var message = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(ps, beta1: 1.5f)).Message;
        Assert.Contains("[0, 1)", message);
    }

    private static Optimizer Build(IReadOnlyDictionary<string, string> meta, Parameter[] ps)
    {
        float F(string key, float otherwise) => meta.TryGetValue(key, out var s) ? float.Parse(s, CultureInfo.InvariantCulture) : otherwise;
        bool B(string key) => meta.TryGetValue(key, out var s) && bool.Parse(s);
        float lr = F("lr", float.NaN);
        return meta["optimizer"] switch
        {
            "sgd" => new Sgd(ps, lr, F("momentum", 0), B("nesterov"), F("weight_decay", 0), F("dampening", 0)),
            "adam" => new Adam(ps, lr, F("beta1", 0.9f), F("beta2", 0.999f), F("eps", 1e-8f), F("weight_decay", 0)),
            "adamw" => new AdamW(ps, lr, F("beta1", 0.9f), F("beta2", 0.999f), F("eps", 1e-8f), F("weight_decay", 1e-2f)),
            "rmsprop" => new RmsProp(ps, lr, F("alpha", 0.99f), F("eps", 1e-8f), F("momentum", 0), B("centered"), F("weight_decay", 0)),
            var other => throw new InvalidDataException($"Unknown optimizer '{other}' in fixture."),
        };
    }

    private static Parameter[] GradientsFrom(SafeTensorFile fixture)
    {
        string[] names = ["weight", "bias"];
        return names.Select(n =>
        {
            var grad = fixture.GetTensor("grad." + n);
            var p = new Parameter(n, new Tensor(grad.Shape));
            grad.Span.CopyTo(p.GradSpan);
            return p;
        }).ToArray();
    }

    /// <summary>max|actual − expected| / max|expected| (0 when both are all zero).</summary>
    internal static double RelativeMaxNormError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs((double)actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
            if (float.IsNaN(actual[i]) != float.IsNaN(expected[i])) return double.PositiveInfinity;
        }
        return diff == 0 ? 0 : diff / scale;
    }
}
