namespace Recurrent.Layers;

/// <summary>The recurrent cell: PyTorch's nn.RNN (tanh or ReLU), nn.LSTM or nn.GRU. Written to JSON as its name.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<CellType>))]
public enum CellType
{
    /// <summary>Vanilla (Elman) RNN with tanh: PyTorch's <c>nn.RNN(nonlinearity='tanh')</c>; one gate block (G = 1).</summary>
    RnnTanh,
    /// <summary>Vanilla (Elman) RNN with ReLU: PyTorch's <c>nn.RNN(nonlinearity='relu')</c>; one gate block (G = 1).</summary>
    RnnRelu,
    /// <summary>Long short-term memory: PyTorch's <c>nn.LSTM</c>; four gate blocks i, f, g, o (G = 4) and a cell state.</summary>
    Lstm,
    /// <summary>Gated recurrent unit: PyTorch's <c>nn.GRU</c>; three gate blocks r, z, n (G = 3).</summary>
    Gru,
}

/// <summary>How the input-to-hidden and hidden-to-hidden weights start.</summary>
public enum WeightInit
{
    /// <summary>PyTorch's default: every weight and bias uniform in ±1/√H.</summary>
    PyTorchDefault,
    /// <summary>Xavier/Glorot uniform per gate block (bound √(6/(fan_in+fan_out))), biases zero.</summary>
    XavierUniform,
}

/// <summary>How each H×H gate block of weight_hh starts, overriding <see cref="WeightInit"/> for it.</summary>
public enum RecurrentWeightInit
{
    /// <summary>As <see cref="WeightInit"/> says.</summary>
    Same,
    /// <summary>A random orthogonal matrix per gate block (Saxe et al. 2014).</summary>
    Orthogonal,
    /// <summary>Scale × identity per gate block, biases zero: the IRNN of Le et al. 2015 for ReLU RNNs.</summary>
    Identity,
}

/// <summary>Initialisation of a recurrent stack.</summary>
/// <param name="Weights">Scheme for all weights (and biases).</param>
/// <param name="Recurrent">Override for weight_hh.</param>
/// <param name="RecurrentScale">Scale for <see cref="RecurrentWeightInit.Identity"/> and <see cref="RecurrentWeightInit.Orthogonal"/> (gain).</param>
/// <param name="ForgetBias">LSTM only: when set, the forget-gate block of bias_ih is set to this value and that of bias_hh to 0 (Jozefowicz et al. 2015 use 1).</param>
public sealed record RecurrentInit(
    WeightInit Weights = WeightInit.PyTorchDefault,
    RecurrentWeightInit Recurrent = RecurrentWeightInit.Same,
    float RecurrentScale = 1f,
    float? ForgetBias = null)
{
    /// <summary>PyTorch's initialisation: every weight and bias uniform in ±1/√H, no override, no forget bias.</summary>
    public static RecurrentInit Default { get; } = new();
}

/// <summary>
/// Shape of a recurrent stack, as the arguments of PyTorch's nn.RNN/nn.LSTM/nn.GRU.
/// Input [T, B, InputSize] (time-major); output [T, B, D·HiddenSize] with D = 2 when bidirectional.
/// </summary>
/// <param name="Cell">The recurrent cell (PyTorch's module: nn.RNN with tanh or ReLU, nn.LSTM or nn.GRU).</param>
/// <param name="InputSize">Features per input step (<c>input_size</c>); <see cref="Validate"/> requires 1..1048576.</param>
/// <param name="HiddenSize">Hidden units H per direction (<c>hidden_size</c>); <see cref="Validate"/> requires 1..65536.</param>
/// <param name="NumLayers">Stacked layers L (<c>num_layers</c>), 1 by default; <see cref="Validate"/> requires 1..64.</param>
/// <param name="Bidirectional">Whether each layer also runs a reverse direction (D = 2), its output concatenated after the forward one's.</param>
/// <param name="Dropout">Dropout probability on the output of every layer but the last, in training (<c>dropout</c>); 0 by default, <see cref="Validate"/> requires [0, 1).</param>
/// <param name="Bias">Whether every layer has <c>bias_ih</c> and <c>bias_hh</c> (true by default).</param>
public sealed record RecurrentOptions(
    CellType Cell,
    int InputSize,
    int HiddenSize,
    int NumLayers = 1,
    bool Bidirectional = false,
    float Dropout = 0f,
    bool Bias = true)
{
    /// <summary>Directions D: 2 when <see cref="Bidirectional"/>, else 1.</summary>
    public int Directions => Bidirectional ? 2 : 1;
    /// <summary>Features per output step, D·H.</summary>
    public int OutputSize => Directions * HiddenSize;
    /// <summary>Gate blocks G per layer: 4 for LSTM, 3 for GRU, 1 for the vanilla RNNs.</summary>
    public int GateCount => Cell switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };

    /// <summary>Throws an exception naming the first invalid field and the allowed range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Cell)) throw new ArgumentOutOfRangeException(nameof(Cell), Cell, "Cell must be RnnTanh, RnnRelu, Lstm or Gru.");
        if (InputSize < 1 || InputSize > 1 << 20) throw new ArgumentOutOfRangeException(nameof(InputSize), InputSize, "Input size must be between 1 and 1048576.");
        if (HiddenSize < 1 || HiddenSize > 1 << 16) throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "Hidden size must be between 1 and 65536.");
        if (NumLayers < 1 || NumLayers > 64) throw new ArgumentOutOfRangeException(nameof(NumLayers), NumLayers, "Number of layers must be between 1 and 64.");
        if (!(Dropout >= 0f && Dropout < 1f)) throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "Dropout must be in [0, 1).");
    }
}
