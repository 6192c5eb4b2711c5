using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Numerics;

/// <summary>
/// A k×n right-hand operand op(B) packed once, in the layout the blocked GEMM kernels of one
/// <see cref="SimdLevel"/> read, for many products with the same op(B) — for example W_hhᵀ in
/// <c>h_t · W_hhᵀ</c> at every time step of a sequence. Fill it with <see cref="Gemm.Pack"/>
/// (again whenever B changes, e.g. after an optimizer step) and use it with the
/// <see cref="Gemm.Multiply(Compute, bool, int, float, ReadOnlySpan{float}, int, PackedMatrix, float, Span{float}, int)"/>
/// overload. Products with it give the same bits as the unpacked call takes for the same
/// shape whenever that call packs too (more than four rows and more than one column of C).
/// The buffer grows as needed and is reused, so re-packing allocates nothing.
/// </summary>
internal sealed class PackedMatrix
{
    private float[] _buffer = [];
    private int _offset;

    /// <summary>Rows of op(B): the inner dimension k of the products.</summary>
    public int K { get; private set; }
    /// <summary>Columns of op(B): the columns n of C.</summary>
    public int N { get; private set; }
    /// <summary>The SIMD level whose kernel layout this holds; products must use the same level.</summary>
    public SimdLevel Simd { get; private set; }

    internal unsafe void Reset(int k, int n, SimdLevel simd, long floats)
    {
        if (floats > Array.MaxLength - 16) throw new ArgumentException($"A packed {k}×{n} matrix is too large for one buffer.");
        if (_buffer.Length < floats + 16)
        {
            _buffer = GC.AllocateUninitializedArray<float>((int)floats + 16, pinned: true);
            nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer));
            _offset = (int)(((start + 63) & ~(nint)63) - start) / sizeof(float);
        }
        K = k;
        N = n;
        Simd = simd;
    }

    /// <summary>The 64-byte-aligned start of the panels (the buffer lives on the pinned heap).</summary>
    internal unsafe float* Panels => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer)) + _offset;
}
