using Microsoft.ML.OnnxRuntime;
using Recurrent.Generation;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization.Onnx;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Exported models run in ONNX Runtime and give Recurrent's own outputs and final states
/// (relative L2 error ≤ 1e-5). With RECURRENT_ONNX_DIR set, every exported model is also
/// saved there (for scripts/check_onnx.py).
/// </summary>
public partial class OnnxExportTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;
    private const int T = 6, InputSize = 5, H = 7;
    private static readonly int[] RaggedLengths = [6, 3, 1, 5];   // unsorted, with 1 and T

    public static TheoryData<CellType, int, bool, bool, bool> Stacks()
    {
        var data = new TheoryData<CellType, int, bool, bool, bool>();
        foreach (var cell in Enum.GetValues<CellType>())
            foreach (int layers in new[] { 1, 2 })
                foreach (bool bidirectional in new[] { false, true })
                    foreach (bool ragged in new[] { false, true })
                        data.Add(cell, layers, bidirectional, ragged, true);
        data.Add(CellType.Gru, 2, true, true, false);
        data.Add(CellType.Lstm, 1, true, true, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(Stacks))]
    public void StackMatchesRecurrent(CellType cell, int layers, bool bidirectional, bool ragged, bool bias)
    {
        var rng = new Rng(11);
        var stack = new RecurrentStack(new RecurrentOptions(cell, InputSize, H, layers, bidirectional, Bias: bias), rng);
        foreach (var p in stack.Parameters()) rng.FillUniform(p.Span, -0.5f, 0.5f);
        int B = RaggedLengths.Length, LD = layers * stack.Options.Directions;
        var x = Random(rng, T, B, InputSize);
        int[]? lengths = ragged ? RaggedLengths : null;
        var h0 = ragged ? Random(rng, LD, B, H) : null;
        var c0 = ragged && stack.HasCellState ? Random(rng, LD, B, H) : null;
        var expected = stack.Forward(x, lengths, h0, c0);

        var options = new OnnxExportOptions(Lengths: ragged, InitialState: ragged);
        var inputs = new Dictionary<string, OrtValue> { ["x"] = Ort(x) };
        if (ragged)
        {
            inputs["lengths"] = OrtValue.CreateTensorValueFromMemory(RaggedLengths.ToArray(), [B]);
            inputs["h0"] = Ort(h0!);
            if (c0 is not null) inputs["c0"] = Ort(c0);
        }
        var actual = Run(OnnxExport.Serialize(stack, options), inputs, $"stack_{cell}_l{layers}_{(bidirectional ? "bi" : "uni")}{(ragged ? "_ragged" : "")}{(bias ? "" : "_nobias")}");

        Check("y", expected.Output, actual["y"]);
        Check("h_n", expected.HN, actual["h_n"]);
        Assert.Equal(stack.HasCellState, actual.ContainsKey("c_n"));
        if (expected.CN is not null) Check("c_n", expected.CN, actual["c_n"]);
        if (ragged)
        {
            // PyTorch's packed semantics, which Recurrent follows: zero output past each sequence's end.
            int DH = stack.Options.OutputSize;
            for (int b = 0; b < B; b++)
                for (int t = RaggedLengths[b]; t < T; t++)
                    for (int j = 0; j < DH; j++) Assert.Equal(0f, actual["y"][(t * B + b) * DH + j]);
        }
    }

    [Theory]
    [InlineData(CellType.RnnTanh, 1, false, false)]
    [InlineData(CellType.RnnTanh, 2, false, true)]
    [InlineData(CellType.RnnRelu, 1, false, true)]
    [InlineData(CellType.RnnRelu, 2, false, false)]
    [InlineData(CellType.Lstm, 1, false, false)]
    [InlineData(CellType.Lstm, 2, false, true)]
    [InlineData(CellType.Lstm, 2, true, true)]
    [InlineData(CellType.Gru, 1, false, true)]
    [InlineData(CellType.Gru, 2, false, false)]
    [InlineData(CellType.Gru, 2, true, false)]
    public void LanguageModelMatchesRecurrent(CellType cell, int layers, bool tied, bool ragged)
    {
        const int V = 11, B = 4;
        int E = tied ? H : 6;   // E ≠ H untied, so a transposed matrix cannot pass
        var rng = new Rng(21);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(cell, V, E, H, layers, tieWeights: tied), rng);
        foreach (var (_, p) in model.NamedParameters) rng.FillUniform(p.Span, -0.5f, 0.5f);
        var ids = new int[T * B];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(V);
        var h0 = Random(rng, layers, B, H);
        var c0 = model.Rnn.HasCellState ? Random(rng, layers, B, H) : null;

        Tensor logits, hN;
        Tensor? cN;
        if (ragged)
        {
            // SequenceModel.Forward(ids, T, B) takes no lengths: the same function, layer by layer.
            var embedded = new Tensor(model.Encoder!.Forward(ids, T * B).Span.ToArray(), T, B, E);
            var result = model.Rnn.Forward(embedded, RaggedLengths, h0, c0);
            (hN, cN) = (result.HN.Clone(), result.CN?.Clone());
            logits = model.Decoder.Forward(new Tensor(result.Output.Span.ToArray(), T * B, H), T * B).Clone();
        }
        else
        {
            var state = model.NewState(B);
            h0.Span.CopyTo(state.H.Span);
            c0?.Span.CopyTo(state.C!.Span);
            logits = model.Forward(ids, T, B, state).Clone();
            (hN, cN) = (state.H, state.C);
        }

        var inputs = new Dictionary<string, OrtValue>
        {
            ["ids"] = OrtValue.CreateTensorValueFromMemory(ids.Select(id => (long)id).ToArray(), [T, B]),
            ["h0"] = Ort(h0),
        };
        if (c0 is not null) inputs["c0"] = Ort(c0);
        if (ragged) inputs["lengths"] = OrtValue.CreateTensorValueFromMemory(RaggedLengths.ToArray(), [B]);
        var bytes = OnnxExport.Serialize(model, new OnnxExportOptions(Lengths: ragged));
        var actual = Run(bytes, inputs, $"lm_{cell}_l{layers}{(tied ? "_tied" : "")}{(ragged ? "_ragged" : "")}");

        Check("logits", logits, actual["logits"]);
        Check("h_n", hN, actual["h_n"]);
        if (cN is not null) Check("c_n", cN, actual["c_n"]);
    }

    [Theory]
    [InlineData(CellType.RnnTanh)]
    [InlineData(CellType.RnnRelu)]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    public void StreamedGenerationMatchesStepper(CellType cell)
    {
        const int V = 13, E = 6, L = 2, Steps = 50;
        var rng = new Rng(31);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(cell, V, E, H, L), rng);
        foreach (var (_, p) in model.NamedParameters) rng.FillUniform(p.Span, -0.5f, 0.5f);
        var stepper = new LanguageModelStepper(model);
        var expectedState = model.NewState(1);
        var sampler = new Sampler();
        using var session = Session(OnnxExport.Serialize(model), $"lm_{cell}_stream");

        var h = new float[L * H];
        var c = new float[model.Rnn.HasCellState ? L * H : 0];
        int token = 0;
        double worst = 0;
        for (int step = 0; step < Steps; step++)
        {
            var expectedLogits = stepper.Step(token).ToArray();
            stepper.GetState(expectedState);

            var inputs = new Dictionary<string, OrtValue>
            {
                ["ids"] = OrtValue.CreateTensorValueFromMemory(new long[] { token }, [1, 1]),
                ["h0"] = OrtValue.CreateTensorValueFromMemory(h, [L, 1, H]),
            };
            if (c.Length > 0) inputs["c0"] = OrtValue.CreateTensorValueFromMemory(c, [L, 1, H]);
            var actual = Run(session, inputs);
            worst = Math.Max(worst, AssertClose($"logits at step {step}", expectedLogits, actual["logits"]));
            worst = Math.Max(worst, AssertClose($"h_n at step {step}", expectedState.H.Span, actual["h_n"]));
            if (c.Length > 0) worst = Math.Max(worst, AssertClose($"c_n at step {step}", expectedState.C!.Span, actual["c_n"]));
            // ONNX Runtime's own final state is the next step's initial state.
            h = actual["h_n"];
            if (c.Length > 0) c = actual["c_n"];
            token = sampler.Sample(expectedLogits, rng);
        }
        output.WriteLine($"{cell}: worst relative error over {Steps} streamed tokens {worst:E2}");
    }

    [Fact]
    public void ComparisonDetectsAChangedWeight()
    {
        var rng = new Rng(41);
        var stack = new RecurrentStack(new RecurrentOptions(CellType.Lstm, InputSize, H, 1, true), rng);
        var x = Random(rng, T, 2, InputSize);
        var expected = stack.Forward(x).Output.Clone();
        stack.Layers[1].WeightHh.Span[3] += 0.05f;   // reverse direction, input gate
        var actual = Run(OnnxExport.Serialize(stack, new OnnxExportOptions(InitialState: false)), new() { ["x"] = Ort(x) }, name: null);
        Assert.True(RelativeError(expected.Span, actual["y"]) > 1e-4);
    }

    [Fact]
    public void SaveWritesTheSerializedBytesAtomically()
    {
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Gru, 9, 4, 5, 2), new Rng(3));
        string folder = Directory.CreateTempSubdirectory("recurrent-onnx-").FullName;
        try
        {
            string path = Path.Combine(folder, "lm.onnx");
            File.WriteAllText(path, "old");
            OnnxExport.Save(model, path);
            Assert.Equal(OnnxExport.Serialize(model), File.ReadAllBytes(path));
            Assert.Equal(path, Assert.Single(Directory.GetFiles(folder)));
            using var session = new InferenceSession(path);
            Assert.Equal("Recurrent", session.ModelMetadata.ProducerName);
            Assert.Equal("GRU", session.ModelMetadata.CustomMetadataMap["cell"]);
            Assert.Equal(new[] { "ids", "h0" }, session.InputNames);
            Assert.Equal(new[] { "logits", "h_n" }, session.OutputNames);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static Tensor Random(Rng rng, params int[] shape)
    {
        var tensor = new Tensor(shape);
        rng.FillUniform(tensor.Span, -1f, 1f);
        return tensor;
    }

    private static OrtValue Ort(Tensor tensor) =>
        OrtValue.CreateTensorValueFromMemory(tensor.Span.ToArray(), [.. tensor.Shape.Select(d => (long)d)]);

    private static InferenceSession Session(byte[] model, string? name)
    {
        string? folder = Environment.GetEnvironmentVariable("RECURRENT_ONNX_DIR");
        if (!string.IsNullOrEmpty(folder) && name is not null)
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, name + ".onnx"), model);
        }
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        return new InferenceSession(model, options);
    }

    private static Dictionary<string, float[]> Run(byte[] model, Dictionary<string, OrtValue> inputs, string? name)
    {
        using var session = Session(model, name);
        return Run(session, inputs);
    }

    // Runs the session, disposes the inputs, returns every output as a flat array by name.
    private static Dictionary<string, float[]> Run(InferenceSession session, Dictionary<string, OrtValue> inputs)
    {
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs, session.OutputNames);
            return session.OutputNames.Zip(outputs).ToDictionary(o => o.First, o => o.Second.GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            foreach (var value in inputs.Values) value.Dispose();
        }
    }

    private void Check(string name, Tensor expected, float[] actual)
    {
        double error = AssertClose(name, expected.Span, actual);
        output.WriteLine($"{name}: relative error {error:E2}");
    }

    private static double AssertClose(string name, ReadOnlySpan<float> expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double error = RelativeError(expected, actual);
        Assert.True(error <= Tolerance, $"{name}: relative L2 error {error:E2} > {Tolerance:E0}");
        return error;
    }

    private static double RelativeError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
    }
}
