using System.Globalization;
using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Numerics;
using Recurrent.Serialization;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Float32 precision against PyTorch's own (fixtures from scripts/make_precision_fixtures.py):
/// long tanh and ReLU RNNs, an LSTM and a GRU, T ≥ 60, each file holding the float64 reference
/// and, per tensor, the relative L2 distance of PyTorch float32 from it. On every SIMD level our
/// distance must be at most <see cref="Factor"/> times PyTorch's: tensor by tensor for the runs
/// with PyTorch's init (contracting: the error is the rounding of each step), and as the geometric
/// mean over an ensemble of seeds for the chaotic runs (gain past the edge of chaos), where one
/// seed alone is a coin toss: whichever early rounding points along the unstable direction is
/// amplified, and two equally good float32 computations differ by up to ~6× either way.
/// </summary>
public class PrecisionTests(ITestOutputHelper output)
{
    /// <summary>How much more rounding noise than PyTorch float32 we allow.</summary>
    public const double Factor = 1.5;

    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(TestPaths.Fixture("precision"), "*.safetensors").Order(StringComparer.Ordinal))
            if (!Path.GetFileName(path).StartsWith("chaotic_", StringComparison.Ordinal)) data.Add(Path.GetFileNameWithoutExtension(path));
        return data;
    }

    public static TheoryData<string> Ensembles() => ["chaotic_rnn_tanh_t60_h31", "chaotic_rnn_relu_t60_h31"];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void AsCloseToFloat64AsPyTorchFloat32OnEverySimdLevel(string name)
    {
        var failures = new List<string>();
        for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++)
            failures.AddRange(Check(name, new Compute(1, level)));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Ensembles))]
    public void ChaoticRunsAreAsCloseToFloat64AsPyTorchFloat32OnAverageOnEverySimdLevel(string ensemble)
    {
        var files = Directory.GetFiles(TestPaths.Fixture("precision"), ensemble + "_s*.safetensors").Order(StringComparer.Ordinal)
            .Select(Path.GetFileNameWithoutExtension).ToList();
        Assert.True(files.Count >= 8, $"{ensemble}: {files.Count} seeds");
        var failures = new List<string>();
        for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++)
        {
            var ratios = files.SelectMany(f => Errors(f!, new Compute(1, level)).Values.Select(e => e.Ours / e.Torch)).ToList();
            double geometricMean = Math.Exp(ratios.Average(Math.Log));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{ensemble} [{level}]: geometric mean ratio {geometricMean:F2} over {files.Count} seeds × tensors (single tensors {ratios.Min():F2}…{ratios.Max():F2})"));
            if (geometricMean > Factor) failures.Add(string.Create(CultureInfo.InvariantCulture, $"{ensemble} [{level}]: geometric mean ratio {geometricMean:F2} > {Factor}"));
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Our relative L2 error per tensor (name → (ours, PyTorch float32's)).</summary>
    internal static Dictionary<string, (double Ours, double Torch)> Errors(string name, Compute compute)
    {
        var file = SafeTensorFile.Load(TestPaths.Fixture($"precision/{name}.safetensors"));
        var meta = file.Metadata;
        int Int(string key) => int.Parse(meta[key], CultureInfo.InvariantCulture);
        var cell = meta["mode"] switch
        {
            "RNN_TANH" => CellType.RnnTanh,
            "RNN_RELU" => CellType.RnnRelu,
            "LSTM" => CellType.Lstm,
            "GRU" => CellType.Gru,
            var m => throw new InvalidDataException("Unknown mode " + m),
        };
        var torch = JsonSerializer.Deserialize<Dictionary<string, double>>(meta["torch32_error"])!;
        var options = new RecurrentOptions(cell, Int("input_size"), Int("hidden_size"), Int("num_layers"), meta["bidirectional"] == "true");
        var stack = new RecurrentStack(options, new Rng(0)) { Compute = compute };
        foreach (var p in stack.Parameters()) file.GetTensor("param." + p.Name).Span.CopyTo(p.Span);
        int[] lengths = file.GetInt64("lengths").Select(l => (int)l).ToArray();
        Tensor? Optional(string key) => file.Contains(key) ? file.GetTensor(key) : null;
        var result = stack.Forward(file.GetTensor("input"), lengths, Optional("h0"), Optional("c0"));
        var ours = new Dictionary<string, double>
        {
            ["output"] = Error(file, "output", result.Output.Span),
            ["h_n"] = Error(file, "h_n", result.HN.Span),
        };
        if (cell == CellType.Lstm) ours["c_n"] = Error(file, "c_n", result.CN!.Span);
        stack.ZeroGrad();
        var grads = stack.Backward(file.GetTensor("dloss.output"), file.GetTensor("dloss.h_n"), Optional("dloss.c_n"));
        foreach (var p in stack.Parameters()) ours["grad.param." + p.Name] = Error(file, "grad.param." + p.Name, p.GradSpan);
        ours["grad.input"] = Error(file, "grad.input", grads.Input.Span);
        ours["grad.h0"] = Error(file, "grad.h0", grads.H0.Span);
        if (cell == CellType.Lstm) ours["grad.c0"] = Error(file, "grad.c0", grads.C0!.Span);
        return ours.ToDictionary(kv => kv.Key, kv => (kv.Value, torch[kv.Key]));
    }

    private IEnumerable<string> Check(string name, Compute compute)
    {
        var errors = Errors(name, compute);
        var worst = errors.MaxBy(e => e.Value.Ours / e.Value.Torch);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} [{compute.Simd}]: worst ratio {worst.Value.Ours / worst.Value.Torch:F2} ({worst.Key}: ours {worst.Value.Ours:E2}, PyTorch float32 {worst.Value.Torch:E2})"));
        foreach (var (tensor, (ours, torch)) in errors)
            if (ours > Factor * torch)
                yield return string.Create(CultureInfo.InvariantCulture, $"{name} [{compute.Simd}] {tensor}: {ours:E2} > {Factor} × PyTorch float32's {torch:E2}");
    }

    private static double Error(SafeTensorFile file, string key, ReadOnlySpan<float> actual)
    {
        var expected = file.GetFloat64(key);
        Assert.Equal(expected.Length, actual.Length);
        return RecurrentGradientCheckTests.RelativeError(actual, expected);
    }
}
