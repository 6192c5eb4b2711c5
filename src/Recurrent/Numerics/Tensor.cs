namespace Recurrent.Numerics;

/// <summary>
/// A dense, row-major float32 tensor: a flat buffer and a shape. The buffer may be longer
/// than the element count (workspaces are grown, never shrunk), so always use
/// <see cref="Span"/> or <see cref="Length"/>, not <c>Data.Length</c>.
/// </summary>
public sealed class Tensor
{
    /// <summary>The backing buffer, row-major; it may be longer than <see cref="Length"/> (only the first Length values belong to the tensor), and <see cref="Resize"/> may replace it.</summary>
    public float[] Data { get; private set; }
    /// <summary>The dimensions, outermost first (e.g. [T, B, F]); a copy of what was passed in. Do not modify it.</summary>
    public int[] Shape { get; private set; }
    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for rank 0).</summary>
    public int Length { get; private set; }

    /// <summary>A zero-filled tensor of the given shape.</summary>
    /// <param name="shape">The dimensions, each ≥ 0.</param>
    /// <exception cref="ArgumentException">A dimension is negative, or the element count exceeds one .NET array.</exception>
    public Tensor(params int[] shape)
    {
        Shape = (int[])shape.Clone();
        Length = CheckedCount(shape);
        Data = new float[Length];
    }

    /// <summary>A tensor over an existing buffer (not copied: changes show through both ways).</summary>
    /// <param name="data">The values, row-major; at least as many as the shape holds (extra values are ignored).</param>
    /// <param name="shape">The dimensions, each ≥ 0.</param>
    /// <exception cref="ArgumentException"><paramref name="data"/> is too short, a dimension is negative, or the element count exceeds one .NET array.</exception>
    public Tensor(float[] data, params int[] shape)
    {
        Shape = (int[])shape.Clone();
        Length = CheckedCount(shape);
        if (data.Length < Length)
            throw new ArgumentException($"Buffer holds {data.Length} values but shape [{string.Join(", ", shape)}] needs {Length}.", nameof(data));
        Data = data;
    }

    /// <summary>The tensor's <see cref="Length"/> elements, row-major (a view of <see cref="Data"/>).</summary>
    public Span<float> Span => Data.AsSpan(0, Length);
    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;
    /// <summary>The size of dimension <paramref name="axis"/>.</summary>
    /// <param name="axis">0 for the outermost dimension, up to <see cref="Rank"/> − 1.</param>
    /// <returns><c>Shape[axis]</c>.</returns>
    /// <exception cref="IndexOutOfRangeException"><paramref name="axis"/> is outside 0..Rank − 1.</exception>
    public int Dim(int axis) => Shape[axis];

    /// <summary>Changes the shape, reusing the buffer when it is large enough. Contents are not preserved when it grows.</summary>
    public void Resize(params int[] shape)
    {
        int n = CheckedCount(shape);
        if (n > Data.Length) Data = new float[n];
        Shape = (int[])shape.Clone();
        Length = n;
    }

    /// <summary>Sets every element to zero.</summary>
    public void Clear() => Span.Clear();

    /// <summary>A deep copy: same shape, its own buffer of exactly <see cref="Length"/> values.</summary>
    /// <returns>The copy.</returns>
    public Tensor Clone() => new((float[])Data[..Length].Clone(), Shape);

    /// <summary>The shape for messages, e.g. "[35, 20, 650]".</summary>
    public string ShapeString => "[" + string.Join(", ", Shape) + "]";

    /// <summary>The element count of <paramref name="shape"/>, checked.</summary>
    /// <param name="shape">The dimensions.</param>
    /// <returns>The product of the dimensions (1 for an empty shape).</returns>
    /// <exception cref="ArgumentException">A dimension is negative, or the product exceeds <see cref="Array.MaxLength"/>.</exception>
    public static int CheckedCount(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException("Tensor dimensions must be non-negative.");
            n *= d;
            if (n > Array.MaxLength) throw new ArgumentException("Tensor is too large for one buffer.");
        }
        return (int)n;
    }
}

/// <summary>A trainable tensor with its gradient, named as in a PyTorch state_dict.</summary>
/// <param name="name">The state_dict name, e.g. <c>weight_ih_l0</c> or <c>decoder.bias</c>.</param>
/// <param name="value">The values (used as they are, not copied).</param>
public sealed class Parameter(string name, Tensor value)
{
    /// <summary>The state_dict name, e.g. <c>encoder.weight</c> or <c>weight_ih_l0</c> (a recurrent layer's own name; a <c>SequenceModel</c> lists it as <c>rnn.weight_ih_l0</c>); optimizers key their state by it.</summary>
    public string Name { get; } = name;
    /// <summary>The trainable values, updated in place by optimizers.</summary>
    public Tensor Value { get; } = value;
    /// <summary>The gradient, shaped like <see cref="Value"/> and zero at first; backward passes add into it, <c>ZeroGrad</c> clears it.</summary>
    public Tensor Grad { get; } = new(value.Shape);
    /// <summary>The values as a span (<see cref="Value"/>'s <see cref="Tensor.Span"/>).</summary>
    public Span<float> Span => Value.Span;
    /// <summary>The gradient as a span (<see cref="Grad"/>'s <see cref="Tensor.Span"/>).</summary>
    public Span<float> GradSpan => Grad.Span;
}
