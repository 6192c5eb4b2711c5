using System.Globalization;
using Recurrent.Layers;
using Recurrent.Numerics;
using Recurrent.Serialization;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Holds the recurrent stack to PyTorch 1.13 (fixtures from scripts/make_fixtures.py, references
/// computed in float64): outputs, final states, and the gradients of
/// L = Σ output·w + Σ h_n·w_h (+ Σ c_n·w_c) with respect to every parameter, the input and the
/// initial states. Error measure: relative L2 error ‖ours − torch‖₂ / ‖torch‖₂ per tensor, at most 1e-5.
/// </summary>
public class PyTorchParityTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(TestPaths.Fixture("rnn"), "*.safetensors").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(path));
        return data;
    }

    [Fact]
    public void AllCombinationsAreCovered() => Assert.Equal(100, Directory.GetFiles(TestPaths.Fixture("rnn"), "*.safetensors").Length);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void MatchesPyTorch(string name) => Check(name, Compute.SingleThread);

    /// <summary>The large fixtures on every SIMD level and with two threads.</summary>
    [Theory]
    [InlineData("lstm_large")]
    [InlineData("gru_large")]
    [InlineData("rnn_tanh_large")]
    [InlineData("rnn_relu_large")]
    public void MatchesPyTorchOnEverySimdLevelAndThreadCount(string name)
    {
        for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++)
            Check(name, new Compute(1, level));
        Check(name, new Compute(2));
    }

    private void Check(string name, Compute compute)
    {
        var file = SafeTensorFile.Load(TestPaths.Fixture($"rnn/{name}.safetensors"));
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
        var options = new RecurrentOptions(cell, Int("input_size"), Int("hidden_size"), Int("num_layers"), meta["bidirectional"] == "true");
        var stack = new RecurrentStack(options, new Rng(0)) { Compute = compute };
        foreach (var p in stack.Parameters())
        {
            var value = file.GetTensor("param." + p.Name);
            Assert.Equal(p.Value.Shape, value.Shape);
            value.Span.CopyTo(p.Span);
        }
        int[] lengths = file.GetInt64("lengths").Select(l => (int)l).ToArray();
        Tensor? Optional(string key) => file.Contains(key) ? file.GetTensor(key) : null;
        var h0 = Optional("h0");
        var c0 = Optional("c0");

        var result = stack.Forward(file.GetTensor("input"), lengths, h0, c0);
        var errors = new List<(string, double)>
        {
            ("output", Compare(file, "output", result.Output.Span)),
            ("h_n", Compare(file, "h_n", result.HN.Span)),
        };
        if (cell == CellType.Lstm) errors.Add(("c_n", Compare(file, "c_n", result.CN!.Span)));

        stack.ZeroGrad();
        var grads = stack.Backward(file.GetTensor("dloss.output"), file.GetTensor("dloss.h_n"), Optional("dloss.c_n"));
        foreach (var p in stack.Parameters()) errors.Add(("grad." + p.Name, Compare(file, "grad.param." + p.Name, p.GradSpan)));
        errors.Add(("grad.input", Compare(file, "grad.input", grads.Input.Span)));
        if (h0 is not null) errors.Add(("grad.h0", Compare(file, "grad.h0", grads.H0.Span)));
        if (c0 is not null) errors.Add(("grad.c0", Compare(file, "grad.c0", grads.C0!.Span)));

        var worst = errors.MaxBy(e => e.Item2);
        output.WriteLine($"{name} [{compute.Simd}, {compute.Threads} thread(s)]: worst relative L2 error {worst.Item2:E2} ({worst.Item1})");
        foreach (var (tensor, err) in errors)
            Assert.True(err <= Tolerance, $"{name} [{compute.Simd}, {compute.Threads}t] {tensor}: relative L2 error {err:E2} > {Tolerance:E0}");
    }

    private static double Compare(SafeTensorFile file, string key, ReadOnlySpan<float> actual)
    {
        var expected = file.GetFloat64(key);
        Assert.Equal(expected.Length, actual.Length);
        return RecurrentGradientCheckTests.RelativeError(actual, expected);
    }
}
