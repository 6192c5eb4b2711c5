using Recurrent.Layers;

namespace Recurrent.Tasks;

/// <summary>
/// A recurrent cell together with the initialisation that defines it in the literature:
/// "rnn-tanh" (Elman RNN, PyTorch's default init), "irnn" (ReLU RNN with identity recurrent
/// weights and zero biases, Le et al. 2015), "lstm" (PyTorch default with forget-gate bias 1,
/// Jozefowicz et al. 2015) and "gru" (PyTorch default).
/// </summary>
/// <param name="Name">The recipe's command-line name, as <see cref="Parse"/> accepts it ("rnn-tanh", "irnn", "lstm", "gru").</param>
/// <param name="Cell">The recurrent cell type.</param>
/// <param name="Init">How the stack's weights and biases are initialised.</param>
/// <param name="Description">The cell and its initialisation in a few words, for reports.</param>
public sealed record CellRecipe(string Name, CellType Cell, RecurrentInit Init, string Description)
{
    /// <summary>"rnn-tanh": the Elman RNN with tanh, every weight and bias U(±1/√H) as PyTorch initialises it.</summary>
    public static CellRecipe RnnTanh { get; } = new("rnn-tanh", CellType.RnnTanh, RecurrentInit.Default,
        "tanh RNN, weights U(±1/√H)");
    /// <summary>"irnn": the ReLU RNN of Le et al. 2015, weight_hh the identity and biases zero (input weights as PyTorch).</summary>
    public static CellRecipe Irnn { get; } = new("irnn", CellType.RnnRelu,
        new RecurrentInit(Recurrent: RecurrentWeightInit.Identity, RecurrentScale: 1f), "ReLU RNN, W_hh = I, biases 0");
    /// <summary>"lstm": the LSTM with PyTorch's U(±1/√H) initialisation and the forget-gate bias set to 1 (Jozefowicz et al. 2015).</summary>
    public static CellRecipe Lstm { get; } = new("lstm", CellType.Lstm, new RecurrentInit(ForgetBias: 1f),
        "LSTM, weights U(±1/√H), forget bias 1");
    /// <summary>"gru": the GRU with PyTorch's U(±1/√H) initialisation.</summary>
    public static CellRecipe Gru { get; } = new("gru", CellType.Gru, RecurrentInit.Default, "GRU, weights U(±1/√H)");

    /// <summary>Every recipe, in the order <see cref="RnnTanh"/>, <see cref="Irnn"/>, <see cref="Lstm"/>, <see cref="Gru"/>.</summary>
    public static IReadOnlyList<CellRecipe> All { get; } = [RnnTanh, Irnn, Lstm, Gru];

    /// <summary>The recipe named <paramref name="name"/> (rnn-tanh, irnn, lstm, gru).</summary>
    public static CellRecipe Parse(string name) =>
        All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentOutOfRangeException(nameof(name), name, "Cell must be one of: " + string.Join(", ", All.Select(r => r.Name)) + ".");
}
