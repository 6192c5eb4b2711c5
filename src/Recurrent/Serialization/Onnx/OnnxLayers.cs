using Onnx;
using Recurrent.Layers;
using Recurrent.Numerics;
using static Recurrent.Serialization.Onnx.OnnxGraphBuilder;

namespace Recurrent.Serialization.Onnx;

/// <summary>
/// The layers as ONNX subgraphs, each a function from tensor names to tensor names, so a
/// whole-model export is a few calls: <see cref="AddEmbedding"/>, <see cref="AddStack"/>,
/// <see cref="AddLinear"/>.
/// </summary>
internal static class OnnxLayers
{
    /// <summary>ids (int64, any shape) → Gather of the embedding rows: ids' shape + [E].</summary>
    public static string AddEmbedding(OnnxGraphBuilder graph, Embedding embedding, string ids) =>
        graph.Add("Gather", [graph.AddParameter(embedding.Weight.Name, embedding.Weight), ids], "embedded", Attribute("axis", 0L));

    /// <summary>x [..., in] → x·Wᵀ + b [..., out]: MatMul with the transposed weight (kept in PyTorch's [out, in] layout, transposed by a node that runtimes fold), then Add.</summary>
    public static string AddLinear(OnnxGraphBuilder graph, Linear linear, string input)
    {
        string weight = graph.AddParameter(linear.Weight.Name, linear.Weight);
        string weightT = graph.Add("Transpose", [weight], weight + "_t", Attribute("perm", 1L, 0L));
        string product = graph.Add("MatMul", [input, weightT], "linear");
        return linear.Bias is null ? product : graph.Add("Add", [product, graph.AddParameter(linear.Bias.Name, linear.Bias)], "linear");
    }

    /// <summary>x [..., F] → (x − mean) / std with the [F] statistics as initializers named <paramref name="prefix"/> + "mean", "std".</summary>
    public static string AddNormalization(OnnxGraphBuilder graph, string input, Tensor mean, Tensor std, string prefix)
    {
        string centred = graph.Add("Sub", [input, graph.AddInitializer(prefix + "mean", mean.Span, mean.Length)], "centred");
        return graph.Add("Div", [centred, graph.AddInitializer(prefix + "std", std.Span, std.Length)], "normalized");
    }

    /// <summary>x [..., K] → x · std + mean, the inverse of <see cref="AddNormalization"/> (regression outputs back in data units).</summary>
    public static string AddDenormalization(OnnxGraphBuilder graph, string input, Tensor mean, Tensor std, string prefix)
    {
        string scaled = graph.Add("Mul", [input, graph.AddInitializer(prefix + "std", std.Span, std.Length)], "scaled");
        return graph.Add("Add", [scaled, graph.AddInitializer(prefix + "mean", mean.Span, mean.Length)], "denormalized");
    }

    /// <summary>
    /// The last layer's final states, directions side by side: h_n [L·D, B, H] → Slice rows
    /// [(L−1)·D, L·D) → Transpose → [B, D, H] → Reshape → [B, D·H] (forward direction first, as
    /// PyTorch's cat(h_n[-2], h_n[-1])). With lengths the RNN operators already stop each
    /// sequence's state at its own last step, so no mask is needed.
    /// </summary>
    public static string AddLastStates(OnnxGraphBuilder graph, string hN, int layers, int directions)
    {
        string last = layers == 1 ? hN : graph.Add("Slice",
            [hN, graph.AddConstant("index_" + (layers - 1) * directions, (layers - 1) * directions), graph.AddConstant("index_" + layers * directions, layers * directions), graph.AddConstant("index_0", 0)],
            "last_layer_h_n");
        string batchFirst = graph.Add("Transpose", [last], "last_layer_bdh", Attribute("perm", 1L, 0L, 2L));
        return graph.Add("Reshape", [batchFirst, graph.AddConstant("shape_keep_merge", 0, -1)], "pooled_last");
    }

    /// <summary>
    /// The mean over each sequence's valid steps: y [T, B, W] → ReduceSum over time → [B, W],
    /// divided by Cast(lengths) [B, 1]. Summing all T steps is right because the RNN operators
    /// output zeros past each sequence's end.
    /// </summary>
    public static string AddMeanOverSteps(OnnxGraphBuilder graph, string y, string lengths)
    {
        string sum = graph.Add("ReduceSum", [y, graph.AddConstant("index_0", 0)], "sum_over_steps", Attribute("keepdims", 0L));
        string count = graph.Add("Cast", [lengths], "lengths_float", Attribute("to", (long)TensorProto.Types.DataType.Float));
        string column = graph.Add("Unsqueeze", [count, graph.AddConstant("index_1", 1)], "lengths_column");
        return graph.Add("Div", [sum, column], "pooled_mean");
    }

    /// <summary>
    /// The element-wise max over each sequence's valid steps: y [T, B, W], steps t ≥ length set
    /// to float's lowest value (Range(0, T) &lt; lengths, then Where), then ReduceMax over time → [B, W].
    /// The mask matters: past a sequence's end y is zero, which would beat an all-negative feature.
    /// </summary>
    public static string AddMaxOverSteps(OnnxGraphBuilder graph, string y, string lengths)
    {
        string steps = graph.Add("Shape", [y], "steps_1d", Attribute("start", 0L), Attribute("end", 1L));
        string stepCount = graph.Add("Squeeze", [steps, graph.AddConstant("index_0", 0)], "steps");
        string range = graph.Add("Range", [graph.AddScalar("scalar_0", 0), stepCount, graph.AddScalar("scalar_1", 1)], "step_index");
        string stepColumn = graph.Add("Unsqueeze", [range, graph.AddConstant("index_1", 1)], "step_column");
        string lengths64 = graph.Add("Cast", [lengths], "lengths_int64", Attribute("to", (long)TensorProto.Types.DataType.Int64));
        string lengthRow = graph.Add("Unsqueeze", [lengths64, graph.AddConstant("index_0", 0)], "lengths_row");
        string valid = graph.Add("Less", [stepColumn, lengthRow], "valid_steps");
        string validColumn = graph.Add("Unsqueeze", [valid, graph.AddConstant("index_2", 2)], "valid_steps_tb1");
        string lowest = graph.AddInitializer("float_lowest", [float.MinValue]);
        string masked = graph.Add("Where", [validColumn, y, lowest], "masked_outputs");
        return graph.Add("ReduceMax", [masked], "pooled_max", Attribute("axes", new long[] { 0 }), Attribute("keepdims", 0L));
    }

    /// <summary>
    /// The stack as one ONNX RNN/LSTM/GRU node per layer (direction "forward" or
    /// "bidirectional"). Shapes as <see cref="RecurrentStack.Forward"/>: input [T, B, in],
    /// lengths int32 [B] (or "" for all T), h0/c0 [L·D, B, H] (or "" for zeros); returns the
    /// output [T, B, D·H] and h_n, c_n [L·D, B, H] (c_n null unless LSTM). Initializers are
    /// named <paramref name="prefix"/> + "W_l0", "R_l0", "B_l0", ….
    /// <para>
    /// Weights go from PyTorch's gate order to ONNX's: LSTM (i, f, g, o) → (i, o, f, c),
    /// GRU (r, z, n) → (z, r, h) with linear_before_reset = 1 (PyTorch's reset gate multiplies
    /// W_hn h + b_hn); B = [b_ih, b_hh] per direction. ONNX's Y [T, D, B, H] is transposed and
    /// reshaped to [T, B, D·H] for the next layer. Dropout between layers is a training-time
    /// operation and is not exported.
    /// </para>
    /// </summary>
    public static (string Output, string HN, string? CN) AddStack(OnnxGraphBuilder graph, RecurrentStack stack, string input, string lengths, string h0, string c0, string prefix = "")
    {
        var options = stack.Options;
        int L = options.NumLayers, D = options.Directions, H = options.HiddenSize;
        bool lstm = options.Cell == CellType.Lstm;
        var (opType, gateOrder) = options.Cell switch
        {
            CellType.Lstm => ("LSTM", new[] { 0, 3, 1, 2 }),
            CellType.Gru => ("GRU", new[] { 1, 0, 2 }),
            _ => ("RNN", new[] { 0 }),
        };
        var attributes = new List<AttributeProto>
        {
            Attribute("hidden_size", (long)H),
            Attribute("direction", D == 2 ? "bidirectional" : "forward"),
        };
        if (options.Cell == CellType.Gru) attributes.Add(Attribute("linear_before_reset", 1L));
        if (options.Cell == CellType.RnnRelu) attributes.Add(Attribute("activations", [.. Enumerable.Repeat("Relu", D)]));

        string layerInput = input;
        var hN = new string[L];
        var cN = new string[L];
        for (int l = 0; l < L; l++)
        {
            var layers = stack.Layers.Skip(l * D).Take(D).ToArray();
            int inSize = layers[0].InputSize;
            string w = graph.AddInitializer(prefix + "W_l" + l, Stack(layers, layer => layer.WeightIh.Span, gateOrder), D, gateOrder.Length * H, inSize);
            string r = graph.AddInitializer(prefix + "R_l" + l, Stack(layers, layer => layer.WeightHh.Span, gateOrder), D, gateOrder.Length * H, H);
            string b = layers[0].BiasIh is not null
                ? graph.AddInitializer(prefix + "B_l" + l, StackBiases(layers, gateOrder), D, 2 * gateOrder.Length * H)
                : "";
            string[] inputs = [layerInput, w, r, b, lengths, StateOfLayer(graph, h0, l, D, L, "h0"), StateOfLayer(graph, c0, l, D, L, "c0")];
            if (!lstm) inputs = inputs[..6];   // RNN and GRU take no initial_c
            var outputs = graph.AddNode(opType, TrimOmitted(inputs), lstm ? 3 : 2, opType + "_l" + l, [.. attributes]);
            hN[l] = outputs[1];
            if (lstm) cN[l] = outputs[2];
            string timeBatchDirection = graph.Add("Transpose", [outputs[0]], "Y_l" + l + "_tbdh", Attribute("perm", 0L, 2L, 1L, 3L));
            layerInput = graph.Add("Reshape", [timeBatchDirection, graph.AddConstant("shape_keep_keep_merge", 0, 0, -1)], "Y_l" + l);
        }
        return (layerInput, ConcatLayers(graph, hN, "stack_h_n"), lstm ? ConcatLayers(graph, cN, "stack_c_n") : null);
    }

    // Layer l's slice [l·D, l·D + D) of a [L·D, B, H] state, or "" when the state is omitted.
    private static string StateOfLayer(OnnxGraphBuilder graph, string state, int l, int D, int L, string name)
    {
        if (state.Length == 0 || L == 1) return state;
        return graph.Add("Slice",
            [state, graph.AddConstant("index_" + l * D, l * D), graph.AddConstant("index_" + (l + 1) * D, (l + 1) * D), graph.AddConstant("index_0", 0)],
            name + "_l" + l);
    }

    private static string ConcatLayers(OnnxGraphBuilder graph, string[] states, string name) =>
        states.Length == 1 ? states[0] : graph.Add("Concat", states, name, Attribute("axis", 0L));

    // Trailing omitted optional inputs are dropped (ONNX allows "" only between given inputs).
    private static string[] TrimOmitted(string[] inputs)
    {
        int count = inputs.Length;
        while (count > 0 && inputs[count - 1].Length == 0) count--;
        return inputs[..count];
    }

    private delegate ReadOnlySpan<float> Weights(RecurrentLayer layer);

    // [D, G·H, cols]: each direction's [G·H, cols] matrix with its H-row gate blocks put in ONNX order.
    private static float[] Stack(RecurrentLayer[] layers, Weights weights, int[] gateOrder)
    {
        int block = weights(layers[0]).Length / gateOrder.Length;
        var result = new float[layers.Length * gateOrder.Length * block];
        int offset = 0;
        foreach (var layer in layers)
            foreach (int gate in gateOrder)
            {
                weights(layer).Slice(gate * block, block).CopyTo(result.AsSpan(offset));
                offset += block;
            }
        return result;
    }

    // [D, 2·G·H]: per direction b_ih then b_hh, each in ONNX gate order (ONNX's Wb then Rb).
    private static float[] StackBiases(RecurrentLayer[] layers, int[] gateOrder)
    {
        var perDirection = layers.Select(layer =>
            Stack([layer], l => l.BiasIh!.Span, gateOrder).Concat(Stack([layer], l => l.BiasHh!.Span, gateOrder)));
        return [.. perDirection.SelectMany(b => b)];
    }
}
