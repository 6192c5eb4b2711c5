using Recurrent.Layers;

namespace Recurrent.Tasks;

/// <summary>
/// A recurrent cell together with the initialisation that defines it in the literature:
/// "rnn-tanh" (Elman RNN, PyTorch's default init), "irnn" (ReLU RNN with identity recurrent
/// weights and zero biases, Le et al. 2015), "lstm" (PyTorch default with forget-gate bias 1,
/// Jozefowicz et al. 2015) and "gru" (PyTorch default).
/// </summary>
public sealed record CellRecipe(string Name, CellType Cell, RecurrentInit Init, string Description)
{
    public static CellRecipe RnnTanh { get; } = new("rnn-tanh", CellType.RnnTanh, RecurrentInit.Default,
        "tanh RNN, weights U(±1/√H)");
    public static CellRecipe Irnn { get; } = new("irnn", CellType.RnnRelu,
        new RecurrentInit(Recurrent: RecurrentWeightInit.Identity, RecurrentScale: 1f), "ReLU RNN, W_hh = I, biases 0");
    public static CellRecipe Lstm { get; } = new("lstm", CellType.Lstm, new RecurrentInit(ForgetBias: 1f),
        "LSTM, weights U(±1/√H), forget bias 1");
    public static CellRecipe Gru { get; } = new("gru", CellType.Gru, RecurrentInit.Default, "GRU, weights U(±1/√H)");

    public static IReadOnlyList<CellRecipe> All { get; } = [RnnTanh, Irnn, Lstm, Gru];

    /// <summary>The recipe named <paramref name="name"/> (rnn-tanh, irnn, lstm, gru).</summary>
    public static CellRecipe Parse(string name) =>
        All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentOutOfRangeException(nameof(name), name, "Cell must be one of: " + string.Join(", ", All.Select(r => r.Name)) + ".");
}
