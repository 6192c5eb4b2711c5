namespace Recurrent.Numerics;

/// <summary>
/// A dense, row-major float32 tensor: a flat buffer and a shape. The buffer may be longer
/// than the element count (workspaces are grown, never shrunk), so always use
/// <see cref="Span"/> or <see cref="Length"/>, not <c>Data.Length</c>.
/// </summary>
public sealed class Tensor
{
    public float[] Data { get; private set; }
    public int[] Shape { get; private set; }
    public int Length { get; private set; }

    public Tensor(params int[] shape)
    {
        Shape = (int[])shape.Clone();
        Length = CheckedCount(shape);
        Data = new float[Length];
    }

    public Tensor(float[] data, params int[] shape)
    {
        Shape = (int[])shape.Clone();
        Length = CheckedCount(shape);
        if (data.Length < Length)
            throw new ArgumentException($"Buffer holds {data.Length} values but shape [{string.Join(", ", shape)}] needs {Length}.", nameof(data));
        Data = data;
    }

    public Span<float> Span => Data.AsSpan(0, Length);
    public int Rank => Shape.Length;
    public int Dim(int axis) => Shape[axis];

    /// <summary>Changes the shape, reusing the buffer when it is large enough. Contents are not preserved when it grows.</summary>
    public void Resize(params int[] shape)
    {
        int n = CheckedCount(shape);
        if (n > Data.Length) Data = new float[n];
        Shape = (int[])shape.Clone();
        Length = n;
    }

    public void Clear() => Span.Clear();

    public Tensor Clone() => new((float[])Data[..Length].Clone(), Shape);

    public string ShapeString => "[" + string.Join(", ", Shape) + "]";

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
public sealed class Parameter(string name, Tensor value)
{
    public string Name { get; } = name;
    public Tensor Value { get; } = value;
    public Tensor Grad { get; } = new(value.Shape);
    public Span<float> Span => Value.Span;
    public Span<float> GradSpan => Grad.Span;
}
