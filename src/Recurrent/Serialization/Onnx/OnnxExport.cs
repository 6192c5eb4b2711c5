using Google.Protobuf;
using Onnx;
using Recurrent.Layers;
using Recurrent.Models;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Recurrent.Serialization.Onnx;

/// <summary>Which optional graph inputs an ONNX export declares (a declared input must be fed at every run).</summary>
/// <param name="Lengths">Adds <c>lengths</c>, int32 [batch], each sequence's length in 1..time, for ragged batches.</param>
/// <param name="InitialState">Adds <c>h0</c> (and <c>c0</c> for an LSTM), [layers·directions, batch, hidden], so a caller can carry state between runs; without it runs start from zeros.</param>
/// <param name="DocString">The model's doc string; null for a description of the model.</param>
public sealed record OnnxExportOptions(bool Lengths = false, bool InitialState = true, string? DocString = null)
{
    public static OnnxExportOptions Default { get; } = new();
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
    /// Writes a language model: <c>ids</c> int64 [time, batch] → <c>logits</c> float [time, batch, V],
    /// <c>h_n</c> (and <c>c_n</c>) [layers, batch, H]; optional inputs <c>lengths</c>, <c>h0</c>, <c>c0</c>
    /// as <paramref name="options"/> says. With lengths, the logits past a sequence's end are the
    /// decoder bias (the recurrent output there is zero). Parameter initializers keep PyTorch's
    /// names (encoder.weight, decoder.weight, decoder.bias; a tied weight is stored once).
    /// </summary>
    public static void Save(SequenceModel model, string path, OnnxExportOptions? options = null) =>
        AtomicFile.Write(path, Build(model, options ?? OnnxExportOptions.Default).WriteTo);

    /// <summary>The bytes of <see cref="Save(SequenceModel, string, OnnxExportOptions?)"/>'s file.</summary>
    public static byte[] Serialize(SequenceModel model, OnnxExportOptions? options = null) =>
        Build(model, options ?? OnnxExportOptions.Default).ToByteArray();

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
        var config = model.Config;
        if (!config.IsLanguageModel || config.Fields is { Count: > 0 })
            throw new NotSupportedException("ONNX export covers language models so far (token input, one direction, a prediction at every step).");
        var graph = new OnnxGraphBuilder("language_model");
        string ids = graph.AddInput("ids", DataType.Int64, "time", "batch");
        var (lengths, h0, c0) = AddStackInputs(graph, model.Rnn, options);
        string embedded = OnnxLayers.AddEmbedding(graph, model.Encoder!, ids);
        var (output, hN, cN) = OnnxLayers.AddStack(graph, model.Rnn, embedded, lengths, h0, c0, "rnn.");
        graph.AddOutput(OnnxLayers.AddLinear(graph, model.Decoder, output), "logits", DataType.Float, "time", "batch", config.VocabularySize);
        AddStackOutputs(graph, model.Rnn, hN, cN);
        string doc = options.DocString ?? $"Recurrent language model: {CellName(config.Cell)}, {config.Layers} layer(s), hidden {config.HiddenSize}, " +
            $"embedding {config.EmbeddingSize}, vocabulary {config.VocabularySize}{(config.TieWeights ? ", tied weights" : "")}. ids int64 [time, batch] → logits [time, batch, vocabulary].";
        return graph.ToModel(doc, Metadata(model.Rnn.Options, ("vocabulary_size", config.VocabularySize.ToString()), ("tie_weights", config.TieWeights ? "true" : "false")));
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
