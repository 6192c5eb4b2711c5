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

    /// <summary>Features per input row (PyTorch's <c>in_features</c>).</summary>
    public int InputSize { get; }
    /// <summary>Values per output row (PyTorch's <c>out_features</c>).</summary>
    public int OutputSize { get; }
    /// <summary>The weight W [out, in], named <c>&lt;prefix&gt;weight</c>; with weight tying, the shared parameter itself.</summary>
    public Parameter Weight { get; }
    /// <summary>The bias b [out], named <c>&lt;prefix&gt;bias</c>; null when the layer was made without one.</summary>
    public Parameter? Bias { get; }
    /// <summary>Thread count and SIMD level of the forward and backward GEMMs; <see cref="Numerics.Compute.SingleThread"/> by default.</summary>
    public Compute Compute { get; set; } = Compute.SingleThread;

    /// <summary>A layer whose weight is <paramref name="sharedWeight"/> [out, in], shared with another layer (weight tying).</summary>
    /// <param name="prefix">Prepended to the bias's name, e.g. <c>decoder.</c> gives <c>decoder.bias</c>.</param>
    /// <param name="sharedWeight">The weight to use as it is (not copied); its values are left unchanged.</param>
    /// <param name="rng">Draws the bias from U(−1/√in, 1/√in).</param>
    /// <param name="bias">Whether the layer has a bias (true by default).</param>
    /// <exception cref="ArgumentException"><paramref name="sharedWeight"/> is not a rank-2 tensor.</exception>
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

    /// <summary>A layer with weight and bias drawn from U(−1/√in, 1/√in), PyTorch's default initialisation.</summary>
    /// <param name="prefix">Prepended to the parameter names, e.g. <c>decoder.</c> gives <c>decoder.weight</c> and <c>decoder.bias</c>.</param>
    /// <param name="inputSize">Features per input row, ≥ 1.</param>
    /// <param name="outputSize">Values per output row, ≥ 1.</param>
    /// <param name="rng">Draws the initial weight and bias.</param>
    /// <param name="bias">Whether the layer has a bias (true by default).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> or <paramref name="outputSize"/> is below 1.</exception>
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

    /// <summary>The parameters in PyTorch state_dict order: weight, then bias (when present).</summary>
    /// <returns>The layer's parameters (the shared weight too, with weight tying).</returns>
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
