namespace Recurrent.Numerics;

/// <summary>
/// Single-precision general matrix multiply with the BLAS contract
/// <c>C = alpha * op(A) * op(B) + beta * C</c>, row-major, op = identity or transpose.
/// op(A) is m×k, op(B) is k×n, C is m×n. lda, ldb and ldc are row strides of the
/// stored matrices (A stored m×k when not transposed, k×m when transposed).
/// When beta is 0, C is overwritten (NaN in C does not propagate), as in BLAS.
/// </summary>
public static class Gemm
{
    public static void Multiply(Compute compute, bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>The plain triple loop (accumulating in double): the reference every fast path is tested against.</summary>
    public static void Reference(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int p = 0; p < k; p++)
            {
                float av = transA ? a[p * lda + i] : a[i * lda + p];
                float bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                s += (double)av * bv;
            }
            ref float cij = ref c[i * ldc + j];
            cij = beta == 0 ? (float)(alpha * s) : (float)(alpha * s + beta * cij);
        }
    }

    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLen, int lda, int bLen, int ldb, int cLen, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be non-negative.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be non-negative.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be non-negative.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckMatrix("A", aRows, aCols, aLen, lda);
        CheckMatrix("B", bRows, bCols, bLen, ldb);
        CheckMatrix("C", m, n, cLen, ldc);
    }

    private static void CheckMatrix(string name, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentOutOfRangeException("ld" + char.ToLowerInvariant(name[0]), ld, $"Leading dimension of {name} must be at least its column count {cols}.");
        if (rows > 0 && cols > 0 && (long)(rows - 1) * ld + cols > length)
            throw new ArgumentException($"{name} buffer holds {length} values, too few for {rows}×{cols} with leading dimension {ld}.");
    }
}
