namespace Recurrent.Layers;

/// <summary>The recurrent cell: PyTorch's nn.RNN (tanh or ReLU), nn.LSTM or nn.GRU. Written to JSON as its name.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<CellType>))]
public enum CellType { RnnTanh, RnnRelu, Lstm, Gru }

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
    public static RecurrentInit Default { get; } = new();
}

/// <summary>
/// Shape of a recurrent stack, as the arguments of PyTorch's nn.RNN/nn.LSTM/nn.GRU.
/// Input [T, B, InputSize] (time-major); output [T, B, D·HiddenSize] with D = 2 when bidirectional.
/// </summary>
public sealed record RecurrentOptions(
    CellType Cell,
    int InputSize,
    int HiddenSize,
    int NumLayers = 1,
    bool Bidirectional = false,
    float Dropout = 0f,
    bool Bias = true)
{
    public int Directions => Bidirectional ? 2 : 1;
    public int OutputSize => Directions * HiddenSize;
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
