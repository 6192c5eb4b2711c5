using System.Reflection;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using Recurrent.Numerics;

namespace Recurrent.Serialization.Onnx;

/// <summary>One dimension of a graph input or output: a fixed size or a named dynamic axis.</summary>
internal readonly record struct OnnxDim(long Size, string? Name)
{
    public static implicit operator OnnxDim(int size) => new(size, null);
    public static implicit operator OnnxDim(string name) => new(0, name);
}

/// <summary>
/// Builds one ONNX graph (default operator domain): named inputs and outputs, float32 and
/// int64 initializers, and nodes whose output names it makes unique. Tensors are referred to
/// by name; the empty string is an omitted optional input, as in ONNX itself.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>The opset the graph's nodes are written for (ONNX 1.12, the newest Debian's onnx checker knows; ONNX Runtime 1.31 runs it).</summary>
    public const int Opset = 17;
    /// <summary>IR version 8 (ONNX 1.10–1.12).</summary>
    public const long IrVersion = 8;
    /// <summary>Protobuf's hard limit on a message; larger models would need ONNX external data, which this exporter does not write.</summary>
    private const long MaxModelBytes = int.MaxValue;

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = [];
    private readonly Dictionary<Parameter, string> _parameters = [];
    private readonly Dictionary<string, string> _constants = [];
    private long _initializerBytes;

    public OnnxGraphBuilder(string graphName) => _graph = new GraphProto { Name = graphName };

    /// <summary>A name not used yet in this graph: <paramref name="hint"/> itself, else hint_1, hint_2, ….</summary>
    public string UniqueName(string hint)
    {
        string name = hint;
        for (int i = 1; !_names.Add(name); i++) name = hint + "_" + i;
        return name;
    }

    public string AddInput(string name, TensorProto.Types.DataType type, params OnnxDim[] shape)
    {
        _graph.Input.Add(ValueInfo(Claim(name), type, shape));
        return name;
    }

    /// <summary>Declares <paramref name="tensor"/> as graph output <paramref name="name"/> (through an Identity node when the names differ).</summary>
    public void AddOutput(string tensor, string name, TensorProto.Types.DataType type, params OnnxDim[] shape)
    {
        if (tensor != name) AddNode("Identity", [tensor], [Claim(name)], []);
        _graph.Output.Add(ValueInfo(name, type, shape));
    }

    /// <summary>A float32 initializer holding a copy of <paramref name="values"/>.</summary>
    public string AddInitializer(string hint, ReadOnlySpan<float> values, params long[] dims)
    {
        CheckCount(values.Length, dims);
        _initializerBytes += 4L * values.Length;
        if (_initializerBytes > MaxModelBytes)
            throw new NotSupportedException($"The model's weights exceed {MaxModelBytes} bytes, protobuf's limit for one ONNX file; ONNX external data is not supported.");
        var tensor = new TensorProto { Name = UniqueName(hint), DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.Add(dims);
        tensor.RawData = BitConverter.IsLittleEndian
            ? ByteString.CopyFrom(MemoryMarshal.AsBytes(values))
            : throw new PlatformNotSupportedException("ONNX raw data is little-endian; this exporter runs on little-endian machines only.");
        _graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>A 1-D int64 initializer (a shape, axes, slice bounds); equal values share one initializer.</summary>
    public string AddConstant(string hint, params long[] values)
    {
        string key = string.Join(",", values);
        if (_constants.TryGetValue(key, out var existing)) return existing;
        var tensor = new TensorProto { Name = UniqueName(hint), DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.Int64Data.Add(values);
        _graph.Initializer.Add(tensor);
        _constants.Add(key, tensor.Name);
        return tensor.Name;
    }

    /// <summary>A 0-d int64 initializer (a scalar such as Range's start or step).</summary>
    public string AddScalar(string hint, long value)
    {
        string key = "scalar:" + value;
        if (_constants.TryGetValue(key, out var existing)) return existing;
        var tensor = new TensorProto { Name = UniqueName(hint), DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Int64Data.Add(value);
        _graph.Initializer.Add(tensor);
        _constants.Add(key, tensor.Name);
        return tensor.Name;
    }

    /// <summary>The parameter's values as an initializer named after it; a parameter shared by two layers (tied weights) is stored once.</summary>
    public string AddParameter(string name, Parameter parameter)
    {
        if (_parameters.TryGetValue(parameter, out var existing)) return existing;
        var value = parameter.Value;
        string added = AddInitializer(name, value.Span, [.. value.Shape.Select(d => (long)d)]);
        _parameters.Add(parameter, added);
        return added;
    }

    /// <summary>Adds a node with <paramref name="outputCount"/> fresh outputs named after <paramref name="hint"/>; returns their names.</summary>
    public string[] AddNode(string opType, string[] inputs, int outputCount, string hint, params AttributeProto[] attributes)
    {
        var outputs = new string[outputCount];
        for (int i = 0; i < outputCount; i++) outputs[i] = UniqueName(outputCount == 1 ? hint : hint + "_" + i);
        AddNode(opType, inputs, outputs, attributes);
        return outputs;
    }

    /// <summary>Adds a node with one fresh output; returns its name.</summary>
    public string Add(string opType, string[] inputs, string hint, params AttributeProto[] attributes) =>
        AddNode(opType, inputs, 1, hint, attributes)[0];

    private void AddNode(string opType, string[] inputs, string[] outputs, AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = UniqueName(opType + "_" + _graph.Node.Count) };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        _graph.Node.Add(node);
    }

    public static AttributeProto Attribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attribute(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Attribute(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.Add(values);
        return attribute;
    }

    public static AttributeProto Attribute(string name, params string[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        attribute.Strings.Add(values.Select(ByteString.CopyFromUtf8));
        return attribute;
    }

    /// <summary>The finished model: this graph, opset <see cref="Opset"/>, producer "Recurrent", the doc string and metadata.</summary>
    public ModelProto ToModel(string docString, IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Recurrent",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    private string Claim(string name) =>
        _names.Add(name) ? name : throw new ArgumentException($"The graph already has a tensor named '{name}'.", nameof(name));

    private static void CheckCount(int count, long[] dims)
    {
        long expected = dims.Aggregate(1L, (product, d) => product * d);
        if (expected != count) throw new ArgumentException($"An initializer of shape [{string.Join(", ", dims)}] holds {expected} values; got {count}.");
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, OnnxDim[] shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var dim in shape)
            tensorShape.Dim.Add(dim.Name is null
                ? new TensorShapeProto.Types.Dimension { DimValue = dim.Size }
                : new TensorShapeProto.Types.Dimension { DimParam = dim.Name });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }
}
