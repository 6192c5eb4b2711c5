using Microsoft.ML.OnnxRuntime;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization.Onnx;

namespace Recurrent.Tests;

/// <summary>What a sequence model reads in the export tests.</summary>
public enum ExportInput { Tokens, TokensWithFields, Features }

/// <summary>
/// Whole sequence models (every head, token/field/feature input, classification and regression)
/// exported and run in ONNX Runtime on ragged batches, against <see cref="SequenceModel.Forward"/>
/// (and <see cref="SequenceModel.Denormalize"/> for regression).
/// </summary>
public partial class OnnxExportTests
{
    private const int V = 11, E = 6, F = 3;
    private static readonly TokenField[] Fields = [new("suffix", 5, 3), new("shape", 4, 2)];

    public static TheoryData<Pooling, CellType, int, bool, ExportInput, bool, bool> SequenceModels()
    {
        var data = new TheoryData<Pooling, CellType, int, bool, ExportInput, bool, bool>();
        int n = 0;
        foreach (var pooling in Enum.GetValues<Pooling>())
            foreach (var cell in new[] { CellType.Lstm, CellType.Gru })
                foreach (bool bidirectional in new[] { false, true })
                {
                    // Vary the rest across the grid so that every input kind, task, depth and initial state meets every head.
                    var input = (ExportInput)(n % 3);
                    bool regression = input == ExportInput.Features ? n % 2 == 0 : n % 5 == 4;
                    data.Add(pooling, cell, 1 + n % 2, bidirectional, input, regression, n % 4 < 2);
                    n++;
                }
        data.Add(Pooling.Max, CellType.RnnTanh, 2, true, ExportInput.Features, true, false);
        data.Add(Pooling.Mean, CellType.RnnRelu, 1, true, ExportInput.Tokens, false, true);
        data.Add(Pooling.Last, CellType.RnnRelu, 2, false, ExportInput.TokensWithFields, false, false);
        data.Add(Pooling.None, CellType.RnnTanh, 2, true, ExportInput.Features, true, true);
        return data;
    }

    [Theory]
    [MemberData(nameof(SequenceModels))]
    public void SequenceModelMatchesRecurrent(Pooling pooling, CellType cell, int layers, bool bidirectional, ExportInput input, bool regression, bool initialState)
    {
        var config = SequenceConfig(pooling, cell, layers, bidirectional, input, regression);
        var rng = new Rng(51);
        var model = RandomModel(config, rng);
        int B = RaggedLengths.Length, LD = layers * config.Directions;
        var batch = RandomBatch(config, rng, RaggedLengths);
        var state = model.NewState(B);
        if (initialState)
        {
            rng.FillUniform(state.H.Span, -1f, 1f);
            if (state.C is not null) rng.FillUniform(state.C.Span, -1f, 1f);
        }
        var inputs = OrtInputs(config, batch, initialState ? state : null, lengths: true);
        var expected = model.Forward(batch, state).Clone();
        if (regression) model.Denormalize(expected.Span);

        var options = new OnnxExportOptions(Lengths: true, InitialState: initialState) { Probabilities = !regression };
        string name = $"seq_{pooling}_{cell}_l{layers}_{(bidirectional ? "bi" : "uni")}_{input}_{(regression ? "reg" : "cls")}{(initialState ? "_state" : "")}";
        var bytes = OnnxExport.Serialize(model, options);
        using (var session = Session(bytes, null))
        {
            Assert.Equal(OnnxExport.InputNames(config, options), session.InputNames);
            Assert.Equal(OnnxExport.OutputNames(config, options), session.OutputNames);
        }
        var actual = Run(bytes, inputs, name);

        string outputName = regression ? "predictions" : "logits";
        Check(outputName, expected, actual[outputName]);
        if (!regression) Check("probabilities", Softmax(expected, config.OutputSize), actual["probabilities"]);
        Check("h_n", state.H, actual["h_n"]);
        if (state.C is not null) Check("c_n", state.C, actual["c_n"]);
        Assert.Equal(LD * B * config.HiddenSize, actual["h_n"].Length);
    }

    [Theory]
    [InlineData(Pooling.None, ExportInput.TokensWithFields)]
    [InlineData(Pooling.Last, ExportInput.Features)]
    [InlineData(Pooling.Last, ExportInput.Tokens)]
    public void FullLengthBatchesNeedNoLengths(Pooling pooling, ExportInput input)
    {
        var config = SequenceConfig(pooling, CellType.Gru, 2, true, input, regression: input == ExportInput.Features);
        var rng = new Rng(61);
        var model = RandomModel(config, rng);
        var batch = RandomBatch(config, rng, lengths: null);
        var options = new OnnxExportOptions(InitialState: false);
        Assert.DoesNotContain("lengths", OnnxExport.InputNames(config, options));
        var expected = model.Forward(batch).Clone();
        if (!config.IsClassifier) model.Denormalize(expected.Span);
        var actual = Run(OnnxExport.Serialize(model, options), OrtInputs(config, batch, null, lengths: false), $"seq_{pooling}_{input}_full");
        Check("output", expected, actual[config.IsClassifier ? "logits" : "predictions"]);
    }

    [Theory]
    [InlineData(Pooling.Mean)]
    [InlineData(Pooling.Max)]
    public void MeanAndMaxPoolingAlwaysTakeLengths(Pooling pooling)
    {
        var config = SequenceConfig(pooling, CellType.Lstm, 1, false, ExportInput.Tokens, regression: false);
        var options = new OnnxExportOptions(Lengths: false, InitialState: false);
        Assert.Equal(["ids", "lengths"], OnnxExport.InputNames(config, options));
        using var session = Session(OnnxExport.Serialize(new SequenceModel(config, new Rng(1)), options), null);
        Assert.Equal(["ids", "lengths"], session.InputNames);
        Assert.Equal(typeof(int), session.InputMetadata["lengths"].ElementType);
    }

    [Fact]
    public void MaxPoolingMasksPaddedSteps()
    {
        // A large negative input bias makes every tanh output negative: the zeros past a short
        // sequence's end would win an unmasked max.
        var config = SequenceConfig(Pooling.Max, CellType.RnnTanh, 1, false, ExportInput.Features, regression: true);
        var rng = new Rng(71);
        var model = RandomModel(config, rng);
        model.Rnn.Layers[0].BiasIh!.Span.Fill(-5f);
        var batch = RandomBatch(config, rng, RaggedLengths);
        var expected = model.Forward(batch).Clone();
        model.Denormalize(expected.Span);
        var actual = Run(OnnxExport.Serialize(model, new OnnxExportOptions(InitialState: false)), OrtInputs(config, batch, null, lengths: true), null);
        Check("predictions", expected, actual["predictions"]);
    }

    [Fact]
    public void ExportMetadataDescribesTheModel()
    {
        var config = SequenceConfig(Pooling.Mean, CellType.Gru, 1, true, ExportInput.TokensWithFields, regression: false);
        var options = new OnnxExportOptions { Metadata = new Dictionary<string, string> { ["labels"] = "[\"a\",\"b\"]" } };
        using var session = Session(OnnxExport.Serialize(new SequenceModel(config, new Rng(2)), options), null);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        Assert.Equal("Mean", metadata["pooling"]);
        Assert.Equal("classification", metadata["task"]);
        Assert.Equal("suffix,shape", metadata["fields"]);
        Assert.Equal("true", metadata["bidirectional"]);
        Assert.Equal("[\"a\",\"b\"]", metadata["labels"]);
        Assert.Contains("Mean pooling", session.ModelMetadata.Description);
    }

    private static SequenceModelConfig SequenceConfig(Pooling pooling, CellType cell, int layers, bool bidirectional, ExportInput input, bool regression) => new()
    {
        Cell = cell, HiddenSize = H, Layers = layers, Bidirectional = bidirectional, Pooling = pooling,
        VocabularySize = input == ExportInput.Features ? 0 : V,
        EmbeddingSize = input == ExportInput.Features ? 0 : E,
        Fields = input == ExportInput.TokensWithFields ? Fields : null,
        FeatureSize = input == ExportInput.Features ? F : 0,
        OutputSize = regression ? 2 : 4,
        Loss = regression ? LossKind.Mse : LossKind.CrossEntropy,
    };

    private static SequenceModel RandomModel(SequenceModelConfig config, Rng rng)
    {
        var model = new SequenceModel(config, rng);
        foreach (var (_, p) in model.NamedParameters) rng.FillUniform(p.Span, -0.5f, 0.5f);
        if (model.InputMean is not null)
        {
            rng.FillUniform(model.InputMean.Span, -1f, 1f);
            rng.FillUniform(model.InputStd!.Span, 0.5f, 2f);
        }
        if (model.TargetMean is not null)
        {
            rng.FillUniform(model.TargetMean.Span, -10f, 10f);
            rng.FillUniform(model.TargetStd!.Span, 0.5f, 3f);
        }
        return model;
    }

    private static SequenceBatch RandomBatch(SequenceModelConfig config, Rng rng, int[]? lengths)
    {
        int B = RaggedLengths.Length;
        if (!config.HasTokens)
        {
            var features = Random(rng, T, B, config.FeatureSize);
            for (int i = 0; i < features.Length; i++) features.Span[i] = features.Span[i] * 3f + 1f;
            return new SequenceBatch(T, B, null, features, lengths);
        }
        return new SequenceBatch(T, B, RandomIds(rng, config.VocabularySize, T * B), null, lengths)
        {
            FieldIds = config.Fields?.Select(f => RandomIds(rng, f.VocabularySize, T * B)).ToList(),
        };
    }

    private static int[] RandomIds(Rng rng, int vocabulary, int count)
    {
        var ids = new int[count];
        for (int i = 0; i < count; i++) ids[i] = rng.NextInt(vocabulary);
        return ids;
    }

    private static Dictionary<string, OrtValue> OrtInputs(SequenceModelConfig config, SequenceBatch batch, RecurrentState? state, bool lengths)
    {
        int B = batch.Size;
        var inputs = new Dictionary<string, OrtValue>();
        if (batch.Ids is not null) inputs["ids"] = Int64(batch.Ids, T, B);
        else inputs["features"] = Ort(batch.Features!);
        for (int i = 0; i < (batch.FieldIds?.Count ?? 0); i++) inputs[$"fields.{i}"] = Int64(batch.FieldIds![i], T, B);
        if (lengths) inputs["lengths"] = OrtValue.CreateTensorValueFromMemory(batch.Lengths!.ToArray(), [B]);
        if (state is not null)
        {
            inputs["h0"] = Ort(state.H);
            if (state.C is not null) inputs["c0"] = Ort(state.C);
        }
        return inputs;
    }

    private static OrtValue Int64(int[] ids, int steps, int batch) =>
        OrtValue.CreateTensorValueFromMemory(ids.Select(id => (long)id).ToArray(), [steps, batch]);

    private static Tensor Softmax(Tensor logits, int K)
    {
        var result = logits.Clone();
        for (int r = 0; r < result.Length / K; r++)
        {
            var row = result.Span.Slice(r * K, K);
            System.Numerics.Tensors.TensorPrimitives.SoftMax(row, row);
        }
        return result;
    }
}
