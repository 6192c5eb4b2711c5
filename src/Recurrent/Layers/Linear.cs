using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>
/// Fully connected layer as PyTorch's nn.Linear: y = x·Wᵀ + b, x [N, in], W [out, in], b [out], y [N, out].
/// Backward: dW += dyᵀ·x, db += Σ_rows dy, dx = dy·W.
/// </summary>
public sealed class Linear
{
    private readonly Tensor _output = new(0);
    private readonly Tensor _dInput = new(0);
    private Tensor? _input;
    private int _rows;

    public int InputSize { get; }
    public int OutputSize { get; }
    public Parameter Weight { get; }
    public Parameter? Bias { get; }
    public Compute Compute { get; set; } = Compute.SingleThread;

    /// <summary>A layer whose weight is <paramref name="sharedWeight"/> [out, in], shared with another layer (weight tying).</summary>
    public Linear(string prefix, Parameter sharedWeight, Rng rng, bool bias = true)
    {
        if (sharedWeight.Value.Rank != 2) throw new ArgumentException("A shared Linear weight must be [out, in].", nameof(sharedWeight));
        OutputSize = sharedWeight.Value.Dim(0);
        InputSize = sharedWeight.Value.Dim(1);
        Weight = sharedWeight;
        if (bias)
        {
            Bias = new Parameter(prefix + "bias", new Tensor(OutputSize));
            float bound = 1f / MathF.Sqrt(InputSize);
            rng.FillUniform(Bias.Span, -bound, bound);
        }
    }

    public Linear(string prefix, int inputSize, int outputSize, Rng rng, bool bias = true)
    {
        if (inputSize < 1) throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "Input size must be at least 1.");
        if (outputSize < 1) throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "Output size must be at least 1.");
        InputSize = inputSize;
        OutputSize = outputSize;
        Weight = new Parameter(prefix + "weight", new Tensor(outputSize, inputSize));
        if (bias) Bias = new Parameter(prefix + "bias", new Tensor(outputSize));
        // PyTorch's default (kaiming_uniform with a = √5): U(−1/√in, 1/√in) for weight and bias.
        float bound = 1f / MathF.Sqrt(inputSize);
        rng.FillUniform(Weight.Span, -bound, bound);
        if (Bias is not null) rng.FillUniform(Bias.Span, -bound, bound);
    }

    public IEnumerable<Parameter> Parameters()
    {
        yield return Weight;
        if (Bias is not null) yield return Bias;
    }

    /// <summary>x holds N rows of InputSize; it must stay unchanged until Backward. Returns y [N, out] (a workspace).</summary>
    public Tensor Forward(Tensor x, int rows)
    {
        if (x.Length != rows * InputSize) throw new ArgumentException($"Input has {x.Length} values; expected {rows}×{InputSize}.", nameof(x));
        _input = x;
        _rows = rows;
        _output.Resize(rows, OutputSize);
        var y = _output.Span;
        if (Bias is not null) Kernels.BroadcastRows(Bias.Span, rows, y);
        Gemm.Multiply(Compute, false, true, rows, OutputSize, InputSize, 1f, x.Span, InputSize, Weight.Span, InputSize, Bias is null ? 0f : 1f, y, OutputSize);
        return _output;
    }

    /// <summary>dy [N, out] → dx [N, in] (a workspace); accumulates dW and db.</summary>
    public Tensor Backward(ReadOnlySpan<float> dy, bool needInputGrad = true)
    {
        var x = _input ?? throw new InvalidOperationException("Backward called before Forward.");
        int n = _rows;
        if (dy.Length != n * OutputSize) throw new ArgumentException($"Output gradient has {dy.Length} values; expected {n}×{OutputSize}.", nameof(dy));
        Gemm.Multiply(Compute, true, false, OutputSize, InputSize, n, 1f, dy, OutputSize, x.Span, InputSize, 1f, Weight.GradSpan, InputSize);
        if (Bias is not null) Kernels.AddRows(dy, n, OutputSize, Bias.GradSpan);
        _dInput.Resize(n, InputSize);
        if (needInputGrad)
            Gemm.Multiply(Compute, false, false, n, InputSize, OutputSize, 1f, dy, OutputSize, Weight.Span, InputSize, 0f, _dInput.Span, InputSize);
        return _dInput;
    }
}
