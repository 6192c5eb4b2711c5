using System.Globalization;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization;

namespace Recurrent.Tests;

/// <summary>
/// Sequence models against PyTorch (scripts/make_sequence_fixtures.py): embedding or features →
/// ragged (bi)directional stacks of every cell → last-state / mean / max / per-step head →
/// decoder → cross-entropy (optionally class-weighted, padding ignored), MSE, L1 or Huber. The
/// predictions, the loss and every parameter gradient (and the input gradient for features)
/// agree within 1e-5 relative L2 error, on every SIMD level.
/// </summary>
public class SequenceModelParityTests
{
    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TestPaths.Fixture("sequence"), "*.safetensors").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileNameWithoutExtension(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void MatchesPyTorch(string name) => Check(name, Compute.SingleThread);

    [Theory]
    [InlineData("lstm_ids_step_cew_l1_bi_ragged")]
    [InlineData("gru_features_last_mse_l2_bi_ragged")]
    [InlineData("rnn_relu_features_max_huber_l2_uni_ragged")]
    public void MatchesPyTorchOnEverySimdLevelAndTwoThreads(string name)
    {
        for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++) Check(name, new Compute(1, level));
        Check(name, new Compute(2));
    }

    private static void Check(string name, Compute compute)
    {
        var file = SafeTensorFile.Load(TestPaths.Fixture($"sequence/{name}.safetensors"));
        var meta = file.Metadata;
        int Int(string key) => int.Parse(meta[key], CultureInfo.InvariantCulture);
        bool ids = meta["input"] == "ids";
        string loss = meta["loss"];
        int T = Int("seq_len"), B = Int("batch"), K = Int("classes");
        var config = new SequenceModelConfig
        {
            Cell = meta["cell"] switch { "lstm" => CellType.Lstm, "gru" => CellType.Gru, "rnn_tanh" => CellType.RnnTanh, _ => CellType.RnnRelu },
            HiddenSize = Int("hidden"),
            Layers = Int("layers"),
            Bidirectional = meta["bidirectional"] == "true",
            VocabularySize = ids ? Int("vocab") : 0,
            EmbeddingSize = ids ? Int("embedding") : 0,
            FeatureSize = ids ? 0 : Int("features"),
            Pooling = meta["head"] switch { "last" => Pooling.Last, "mean" => Pooling.Mean, "max" => Pooling.Max, _ => Pooling.None },
            OutputSize = K,
            Loss = loss switch { "mse" => LossKind.Mse, "l1" => LossKind.Mae, "huber" => LossKind.Huber, _ => LossKind.CrossEntropy },
            ClassWeights = meta["class_weights"] == "true" ? file.GetTensor("class_weights").Span.ToArray() : null,
        };
        var model = new SequenceModel(config, new Rng(0)) { Compute = compute };
        var state = file.Names.Where(n => n.StartsWith("param.", StringComparison.Ordinal)).ToDictionary(n => n["param.".Length..], file.GetTensor);
        foreach (var (bufferName, buffer) in model.NamedBuffers) state[bufferName] = buffer.Clone();   // identity normalisation
        Assert.True(model.LoadStateDict(state).IsExact);

        var lengths = file.GetInt64("lengths").Select(v => (int)v).ToArray();
        var input = ids ? null : file.GetTensor("input");
        var batch = new SequenceBatch(T, B, ids ? file.GetInt64("ids").Select(v => (int)v).ToArray() : null, input, lengths)
        {
            Labels = loss is "ce" or "cew" ? file.GetInt64("targets").Select(v => (int)v).ToArray() : null,
            Targets = loss is "ce" or "cew" ? null : MaskPadding(file.GetTensor("targets").Span.ToArray(), config.Pooling, T, B, K, lengths),
        };

        model.ZeroGrad();
        var predictions = model.Forward(batch);
        Near(predictions.Span, file.GetFloat64("prediction"), $"{name} prediction");
        var result = model.Loss(predictions, batch, backward: true);
        Assert.Equal(file.GetFloat64("loss")[0], result.Loss, Math.Abs(file.GetFloat64("loss")[0]) * 1e-5);
        model.Backward(predictions.Span);
        foreach (var (paramName, p) in model.NamedParameters) Near(p.GradSpan, file.GetFloat64("grad.param." + paramName), $"{name} grad.{paramName}");
        if (!ids) Near(model.InputGradient.Span, file.GetFloat64("grad.input"), $"{name} grad.input");
    }

    /// <summary>The fixtures store 0 as the regression target of padded steps and leave those rows out of the loss; here a NaN target says the same.</summary>
    private static float[] MaskPadding(float[] targets, Pooling pooling, int T, int B, int K, int[] lengths)
    {
        if (pooling != Pooling.None) return targets;
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                if (t >= lengths[b]) targets.AsSpan((t * B + b) * K, K).Fill(float.NaN);
        return targets;
    }

    private static void Near(ReadOnlySpan<float> actual, double[] expected, string what)
    {
        double err = RecurrentGradientCheckTests.RelativeError(actual, expected);
        Assert.True(err <= 1e-5, $"{what}: relative L2 error {err:E2}");
    }
}
