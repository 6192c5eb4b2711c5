using System.Globalization;

namespace Recurrent.Models;

/// <summary>Raised before allocating when a model or a batch would need more memory than the machine has, or a tensor larger than one .NET array.</summary>
/// <param name="message">What is needed, what is available and what to lower.</param>
public sealed class MemoryBudgetException(string message) : ArgumentException(message);

/// <summary>
/// What a <see cref="SequenceModel"/> of a config needs in bytes, computed from the shapes alone:
/// weights and gradients (float32, one of each per parameter), the optimizer's moments, the
/// packed copies of W_hh, and the activations kept for backward for a batch of B sequences of
/// T steps. The activations are an estimate (within a small factor: gates, states and outputs of
/// every layer and direction, the head's predictions and their gradient).
/// </summary>
/// <param name="WeightBytes">Bytes of the parameters and buffers (4 per value).</param>
/// <param name="GradientBytes">Bytes of the gradients (4 per value, as many as the weights).</param>
/// <param name="OptimizerBytes">Bytes of the optimizer's per-parameter state (4 per value and moment).</param>
/// <param name="ActivationBytes">Bytes of the activations kept for the batch and the packed copies of W_hh (an estimate; 0 for the model alone).</param>
/// <param name="LargestTensor">Values in the largest single tensor, to check against a .NET array's limit.</param>
/// <param name="LargestTensorName">That tensor's name, e.g. <c>rnn.weight_ih_l0</c> or <c>gates of layer 0</c>.</param>
public sealed record ModelMemory(long WeightBytes, long GradientBytes, long OptimizerBytes, long ActivationBytes, long LargestTensor, string LargestTensorName)
{
    /// <summary>Environment variable that caps the memory Recurrent plans for (bytes, or with a K/M/G/T suffix), e.g. for tests or shared machines.</summary>
    public const string LimitVariable = "RECURRENT_MEMORY_LIMIT";

    /// <summary>The sum of weights, gradients, optimizer state and activations, in bytes.</summary>
    public long TotalBytes => WeightBytes + GradientBytes + OptimizerBytes + ActivationBytes;

    /// <summary>Computes the memory a model of <paramref name="config"/> needs, from the shapes alone (nothing is allocated).</summary>
    /// <param name="config">The model's shape.</param>
    /// <param name="batch">Sequences per batch B (0: the model alone).</param>
    /// <param name="steps">Steps per batch T (0: the model alone).</param>
    /// <param name="optimizerMoments">Tensors the optimizer keeps per parameter (Adam 2, SGD with momentum 1, none 0).</param>
    /// <param name="training">Activations kept for backward (training) or only the running ones (inference).</param>
    /// <returns>The estimate; check it with <see cref="EnsureFits"/>.</returns>
    public static ModelMemory Estimate(SequenceModelConfig config, int batch = 0, int steps = 0, int optimizerMoments = 0, bool training = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        long parameters = config.ParameterCount() + config.BufferCount();
        long H = config.HiddenSize, G = config.GateCount, D = config.Directions, K = config.OutputSize;
        long rows = (long)batch * steps;
        var tensors = new List<(string Name, long Values)>();
        if (config.HasTokens) tensors.Add(("encoder.weight", (long)config.VocabularySize * config.EmbeddingSize));
        long activations = 0, packed = 0;
        for (int l = 0; l < config.Layers; l++)
        {
            long input = l == 0 ? config.InputSize : D * H;
            tensors.Add(($"rnn.weight_ih_l{l}", G * H * input));
            tensors.Add(($"rnn.weight_hh_l{l}", G * H * H));
            packed += D * G * H * H;
            // Per direction: gates [T, B, G·H], previous states, outputs and (LSTM) cells [T, B, H];
            // backward adds the gates' gradient and the input gradient [T, B, in].
            long perRow = training ? 2 * G * H + 4 * H + input : G * H + 2 * H;
            activations += D * rows * perRow;
            // Backward's weight-gradient sums: a band of ≤ 2²⁰ values in double plus its float product (RecurrentLayer).
            if (training && batch > 0) activations += D * 3 * Math.Min(1L << 20, G * H * Math.Max(input, H));
            tensors.Add(($"gates of layer {l}", rows * G * H));
        }
        if (!config.TieWeights) tensors.Add(("decoder.weight", K * D * H));
        long predictions = config.Pooling == Pooling.None ? rows * K : (long)batch * K;
        tensors.Add(("predictions", predictions));
        activations += (training ? 2 : 1) * (predictions + rows * config.InputSize);
        var largest = tensors.MaxBy(t => t.Values);
        return new ModelMemory(4 * parameters, 4 * parameters, 4 * parameters * optimizerMoments, 4 * (activations + (batch > 0 ? packed : 0)),
            largest.Values, largest.Name);
    }

    /// <summary>
    /// Throws <see cref="MemoryBudgetException"/> when one tensor exceeds a .NET array or
    /// <paramref name="needed"/> bytes exceed what the machine has (<see cref="AvailableBytes"/>).
    /// </summary>
    /// <param name="needed">The bytes still to allocate (what is already allocated is not counted twice).</param>
    /// <param name="advice">What to lower, e.g. "--hidden, --layers or the vocabulary".</param>
    public void EnsureFits(long needed, string advice)
    {
        if (LargestTensor > Array.MaxLength)
            throw new MemoryBudgetException(Invariant($"This model needs about {Gb(TotalBytes)} ({Describe()}), and {LargestTensorName} alone holds {LargestTensor:N0} values, more than one .NET array can ({Array.MaxLength:N0}). Lower {advice}."));
        var (available, source) = Available();
        if (needed > available)
            throw new MemoryBudgetException(Invariant($"This model needs about {Gb(TotalBytes)} ({Describe()}) but {Gb(available)} is available ({source}). Lower {advice}."));
    }

    /// <summary>The parts, e.g. "weights 4.3 GB, gradients 4.3 GB, Adam moments 8.6 GB, activations 0.2 GB".</summary>
    public string Describe()
    {
        var parts = new List<string> { "weights " + Gb(WeightBytes), "gradients " + Gb(GradientBytes) };
        if (OptimizerBytes > 0) parts.Add("optimizer state " + Gb(OptimizerBytes));
        if (ActivationBytes > 0) parts.Add("activations " + Gb(ActivationBytes));
        return string.Join(", ", parts);
    }

    /// <summary>The bytes this process may still allocate: the smaller of the GC's limit and the system's available memory, or <see cref="LimitVariable"/>.</summary>
    public static long AvailableBytes() => Available().Bytes;

    private static (long Bytes, string Source) Available()
    {
        if (Environment.GetEnvironmentVariable(LimitVariable) is { Length: > 0 } text)
            return (ParseSize(text) ?? throw new ArgumentException($"{LimitVariable} is '{text}'; it must be a number of bytes, optionally with K, M, G or T."), LimitVariable);
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        string source = "this machine's memory";
        if (OperatingSystem.IsLinux() && MemAvailable() is long free)
        {
            long usable = free + GC.GetTotalMemory(false);
            if (usable < available) { available = usable; source = "free memory now"; }
        }
        return (available, source);
    }

    private static long? MemAvailable()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    var kb = line["MemAvailable:".Length..].Trim().Split(' ')[0];
                    return long.TryParse(kb, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v * 1024 : null;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    internal static long? ParseSize(string text)
    {
        text = text.Trim();
        long unit = 1;
        if (text.Length > 0 && char.IsLetter(text[^1]))
        {
            unit = char.ToUpperInvariant(text[^1]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, 'T' => 1L << 40, _ => 0 };
            text = text[..^1];
        }
        return unit > 0 && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0 && v * unit < long.MaxValue
            ? (long)(v * unit) : null;
    }

    private static string Gb(long bytes) => bytes >= 1_000_000_000 ? Invariant($"{bytes / 1e9:F1} GB") : Invariant($"{bytes / 1e6:F1} MB");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
