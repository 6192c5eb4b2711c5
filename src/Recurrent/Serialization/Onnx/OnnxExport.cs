using Google.Protobuf;
using Onnx;
using Recurrent.Layers;
using Recurrent.Models;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Recurrent.Serialization.Onnx;

/// <summary>Which optional graph inputs and outputs an ONNX export declares (a declared input must be fed at every run).</summary>
/// <param name="Lengths">Adds <c>lengths</c>, int32 [batch], each sequence's length in 1..time, for ragged batches. Models that pool
/// by <see cref="Pooling.Mean"/> or <see cref="Pooling.Max"/> always have it: the pooling needs to know which steps count.</param>
/// <param name="InitialState">Adds <c>h0</c> (and <c>c0</c> for an LSTM), [layers·directions, batch, hidden], so a caller can carry state between runs; without it runs start from zeros.</param>
/// <param name="DocString">The model's doc string; null for a description of the model.</param>
public sealed record OnnxExportOptions(bool Lengths = false, bool InitialState = true, string? DocString = null)
{
    /// <summary>The options used when none are given: no <c>lengths</c> input (unless the pooling needs it), <c>h0</c>/<c>c0</c> inputs declared, the default doc string, no <c>probabilities</c> output and no extra metadata.</summary>
    public static OnnxExportOptions Default { get; } = new();

    /// <summary>Classifiers: adds the output <c>probabilities</c>, Softmax of the logits over the classes.</summary>
    public bool Probabilities { get; init; }

    /// <summary>Extra entries for the model's metadata_props (e.g. "vocabulary", "labels" from a checkpoint); they override the exporter's own.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
}

/// <summary>
/// Writes models as ONNX (IR version 8, opset 17), runnable in ONNX Runtime. Axes <c>time</c>
/// and <c>batch</c> are dynamic; the recurrent layers are ONNX RNN/LSTM/GRU operators (see
/// <see cref="OnnxLayers.AddStack"/>), with optional <c>lengths</c>, <c>h0</c>, <c>c0</c>
/// inputs and final-state outputs <c>h_n</c>, <c>c_n</c>, so a served model can stream.
/// <para>
/// Ragged batches: ONNX Runtime's RNN operators follow PyTorch's packed sequences, as
/// Recurrent does: outputs past a sequence's end are zero, its final state is the one at its
/// own last step, and the reverse direction starts at that step (the tests hold all three).
/// </para>
/// The graphs are for inference: dropout is not exported. Files are written atomically
/// (temporary file, then rename). Models over 2 GB (protobuf's limit; ONNX external data is
/// not written) are refused.
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX opset of exported models.</summary>
    public const int Opset = OnnxGraphBuilder.Opset;

    /// <summary>
    /// Writes a whole <see cref="SequenceModel"/>, any configuration. Inputs, all time-major:
    /// <list type="bullet">
    /// <item><c>ids</c> int64 [time, batch] for a token model, plus <c>fields.0</c>, <c>fields.1</c>, … int64 [time, batch]
    /// for its extra token fields (each embedded and concatenated after the main embedding, in config order);</item>
    /// <item><c>features</c> float [time, batch, F] for a feature model (normalised inside the graph as (x − input_norm.mean) / input_norm.std);</item>
    /// <item><c>lengths</c> int32 [batch] (always for Mean and Max pooling, else when <see cref="OnnxExportOptions.Lengths"/>);
    /// <c>h0</c>, <c>c0</c> [layers·directions, batch, H] when <see cref="OnnxExportOptions.InitialState"/>.</item>
    /// </list>
    /// Outputs: a classifier's <c>logits</c> (and <c>probabilities</c>, their Softmax, when
    /// <see cref="OnnxExportOptions.Probabilities"/>); a regression model's <c>predictions</c> in
    /// data units (the decoder's normalised output × target_norm.std + target_norm.mean, as
    /// <see cref="SequenceModel.Denormalize"/>). Their shape is [time, batch, K] for a per-step
    /// model (<see cref="Pooling.None"/>: language models, taggers; with lengths, the rows past a
    /// sequence's end are the decoder's bias, as in Recurrent) and [batch, K] for a pooled one.
    /// Always also <c>h_n</c> (and <c>c_n</c>) [layers·directions, batch, H], the final states.
    /// Parameter initializers keep PyTorch's names (encoder.weight, decoder.weight, decoder.bias;
    /// a tied weight is stored once); metadata_props name the cell, sizes, pooling and task.
    /// </summary>
    public static void Save(SequenceModel model, string path, OnnxExportOptions? options = null) =>
        AtomicFile.Write(path, Build(model, options ?? OnnxExportOptions.Default).WriteTo);

    /// <summary>The bytes of <see cref="Save(SequenceModel, string, OnnxExportOptions?)"/>'s file.</summary>
    public static byte[] Serialize(SequenceModel model, OnnxExportOptions? options = null) =>
        Build(model, options ?? OnnxExportOptions.Default).ToByteArray();

    /// <summary>The graph input names a model's export declares, in order (see <see cref="Save(SequenceModel, string, OnnxExportOptions?)"/>).</summary>
    public static IReadOnlyList<string> InputNames(SequenceModelConfig config, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= OnnxExportOptions.Default;
        var names = new List<string>();
        if (config.HasTokens)
        {
            names.Add("ids");
            for (int i = 0; i < (config.Fields?.Count ?? 0); i++) names.Add(FieldInput(i));
        }
        else names.Add("features");
        if (NeedsLengths(config, options)) names.Add("lengths");
        if (options.InitialState)
        {
            names.Add("h0");
            if (config.Cell == CellType.Lstm) names.Add("c0");
        }
        return names;
    }

    /// <summary>The graph output names a model's export declares, in order.</summary>
    public static IReadOnlyList<string> OutputNames(SequenceModelConfig config, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= OnnxExportOptions.Default;
        var names = new List<string>();
        if (config.IsClassifier)
        {
            names.Add("logits");
            if (options.Probabilities) names.Add("probabilities");
        }
        else names.Add("predictions");
        names.Add("h_n");
        if (config.Cell == CellType.Lstm) names.Add("c_n");
        return names;
    }

    /// <summary>
    /// Writes a bare recurrent stack, as PyTorch's nn.RNN/LSTM/GRU: <c>x</c> float [time, batch, in] →
    /// <c>y</c> [time, batch, D·H], <c>h_n</c> (and <c>c_n</c>) [L·D, batch, H]; optional inputs as
    /// <paramref name="options"/> says.
    /// </summary>
    public static void Save(RecurrentStack stack, string path, OnnxExportOptions? options = null) =>
        AtomicFile.Write(path, Build(stack, options ?? OnnxExportOptions.Default).WriteTo);

    /// <summary>The bytes of <see cref="Save(RecurrentStack, string, OnnxExportOptions?)"/>'s file.</summary>
    public static byte[] Serialize(RecurrentStack stack, OnnxExportOptions? options = null) =>
        Build(stack, options ?? OnnxExportOptions.Default).ToByteArray();

    internal static ModelProto Build(SequenceModel model, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var config = model.Config;
        bool languageModel = config.IsLanguageModel && config.Fields is null or { Count: 0 };
        var graph = new OnnxGraphBuilder(languageModel ? "language_model" : "sequence_model");

        // Inputs first, in the order InputNames gives.
        string input = config.HasTokens
            ? graph.AddInput("ids", DataType.Int64, "time", "batch")
            : graph.AddInput("features", DataType.Float, "time", "batch", config.FeatureSize);
        var fields = new string[model.FieldEncoders.Count];
        for (int i = 0; i < fields.Length; i++) fields[i] = graph.AddInput(FieldInput(i), DataType.Int64, "time", "batch");
        var (lengths, h0, c0) = AddStackInputs(graph, model.Rnn, options with { Lengths = NeedsLengths(config, options) });

        string stackInput;
        if (config.HasTokens)
        {
            stackInput = OnnxLayers.AddEmbedding(graph, model.Encoder!, input);
            if (fields.Length > 0)
            {
                string[] parts = [stackInput, .. fields.Select((ids, i) => OnnxLayers.AddEmbedding(graph, model.FieldEncoders[i], ids))];
                stackInput = graph.Add("Concat", parts, "embedded_fields", OnnxGraphBuilder.Attribute("axis", 2L));
            }
        }
        else stackInput = OnnxLayers.AddNormalization(graph, input, model.InputMean!, model.InputStd!, "input_norm.");

        var (output, hN, cN) = OnnxLayers.AddStack(graph, model.Rnn, stackInput, lengths, h0, c0, "rnn.");
        string pooled = config.Pooling switch
        {
            Pooling.Last => OnnxLayers.AddLastStates(graph, hN, config.Layers, config.Directions),
            Pooling.Mean => OnnxLayers.AddMeanOverSteps(graph, output, lengths),
            Pooling.Max => OnnxLayers.AddMaxOverSteps(graph, output, lengths),
            _ => output,
        };
        string decoded = OnnxLayers.AddLinear(graph, model.Decoder, pooled);
        OnnxDim[] shape = config.Pooling == Pooling.None ? ["time", "batch", config.OutputSize] : ["batch", config.OutputSize];
        if (config.IsClassifier)
        {
            graph.AddOutput(decoded, "logits", DataType.Float, shape);
            if (options.Probabilities)
                graph.AddOutput(graph.Add("Softmax", [decoded], "softmax", OnnxGraphBuilder.Attribute("axis", -1L)), "probabilities", DataType.Float, shape);
        }
        else
        {
            string values = OnnxLayers.AddDenormalization(graph, decoded, model.TargetMean!, model.TargetStd!, "target_norm.");
            graph.AddOutput(values, "predictions", DataType.Float, shape);
        }
        AddStackOutputs(graph, model.Rnn, hN, cN);

        string doc = options.DocString ?? Describe(config, languageModel, options);
        var metadata = Metadata(model.Rnn.Options,
            ("pooling", config.Pooling.ToString()),
            ("task", config.IsClassifier ? "classification" : "regression"),
            ("input", config.HasTokens ? "tokens" : "features"),
            ("output_size", config.OutputSize.ToString()));
        if (config.HasTokens)
        {
            metadata["vocabulary_size"] = config.VocabularySize.ToString();
            metadata["tie_weights"] = config.TieWeights ? "true" : "false";
            if (config.Fields is { Count: > 0 } tokenFields) metadata["fields"] = string.Join(",", tokenFields.Select(f => f.Name));
        }
        foreach (var (key, value) in options.Metadata ?? new Dictionary<string, string>()) metadata[key] = value;
        return graph.ToModel(doc, metadata);
    }

    private static string FieldInput(int i) => $"fields.{i}";

    private static bool NeedsLengths(SequenceModelConfig config, OnnxExportOptions options) =>
        options.Lengths || config.Pooling is Pooling.Mean or Pooling.Max;

    private static string Describe(SequenceModelConfig config, bool languageModel, OnnxExportOptions options)
    {
        string stack = $"{CellName(config.Cell)}, {config.Layers} layer(s), {(config.Bidirectional ? "bidirectional" : "forward")}, hidden {config.HiddenSize}";
        if (languageModel)
            return $"Recurrent language model: {stack}, embedding {config.EmbeddingSize}, vocabulary {config.VocabularySize}{(config.TieWeights ? ", tied weights" : "")}. " +
                "ids int64 [time, batch] → logits [time, batch, vocabulary].";
        string inputs = string.Join(", ", InputNames(config, options));
        string outputs = string.Join(", ", OutputNames(config, options));
        string head = config.Pooling == Pooling.None ? "a prediction per step [time, batch, K]" : $"{config.Pooling} pooling over time, one prediction per sequence [batch, K]";
        string task = config.IsClassifier ? $"{config.OutputSize} classes" : $"{config.OutputSize} regression output(s) in data units";
        return $"Recurrent sequence model: {stack}; {head}; {task}. Inputs: {inputs}. Outputs: {outputs}.";
    }

    internal static ModelProto Build(RecurrentStack stack, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var o = stack.Options;
        var graph = new OnnxGraphBuilder("recurrent_stack");
        string x = graph.AddInput("x", DataType.Float, "time", "batch", o.InputSize);
        var (lengths, h0, c0) = AddStackInputs(graph, stack, options);
        var (output, hN, cN) = OnnxLayers.AddStack(graph, stack, x, lengths, h0, c0);
        graph.AddOutput(output, "y", DataType.Float, "time", "batch", o.OutputSize);
        AddStackOutputs(graph, stack, hN, cN);
        string doc = options.DocString ?? $"Recurrent stack: {CellName(o.Cell)}, {o.NumLayers} layer(s), {(o.Bidirectional ? "bidirectional" : "forward")}, " +
            $"input {o.InputSize}, hidden {o.HiddenSize}. x [time, batch, input] → y [time, batch, directions·hidden].";
        return graph.ToModel(doc, Metadata(o));
    }

    private static (string Lengths, string H0, string C0) AddStackInputs(OnnxGraphBuilder graph, RecurrentStack stack, OnnxExportOptions options)
    {
        var o = stack.Options;
        OnnxDim[] state = [o.NumLayers * o.Directions, "batch", o.HiddenSize];
        string lengths = options.Lengths ? graph.AddInput("lengths", DataType.Int32, "batch") : "";
        string h0 = options.InitialState ? graph.AddInput("h0", DataType.Float, state) : "";
        string c0 = options.InitialState && stack.HasCellState ? graph.AddInput("c0", DataType.Float, state) : "";
        return (lengths, h0, c0);
    }

    private static void AddStackOutputs(OnnxGraphBuilder graph, RecurrentStack stack, string hN, string? cN)
    {
        var o = stack.Options;
        OnnxDim[] state = [o.NumLayers * o.Directions, "batch", o.HiddenSize];
        graph.AddOutput(hN, "h_n", DataType.Float, state);
        if (cN is not null) graph.AddOutput(cN, "c_n", DataType.Float, state);
    }

    // PyTorch's mode names (nn.RNNBase.mode).
    private static string CellName(CellType cell) => cell switch
    {
        CellType.RnnTanh => "RNN_TANH",
        CellType.RnnRelu => "RNN_RELU",
        CellType.Lstm => "LSTM",
        _ => "GRU",
    };

    private static Dictionary<string, string> Metadata(RecurrentOptions o, params (string Key, string Value)[] extra)
    {
        var metadata = new Dictionary<string, string>
        {
            ["cell"] = CellName(o.Cell),
            ["num_layers"] = o.NumLayers.ToString(),
            ["hidden_size"] = o.HiddenSize.ToString(),
            ["bidirectional"] = o.Bidirectional ? "true" : "false",
        };
        foreach (var (key, value) in extra) metadata[key] = value;
        return metadata;
    }
}
