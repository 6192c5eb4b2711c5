using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Numerics;

/// <summary>
/// Single-precision general matrix multiply with the BLAS contract
/// <c>C = alpha * op(A) * op(B) + beta * C</c>, row-major, op = identity or transpose.
/// op(A) is m×k, op(B) is k×n, C is m×n. lda, ldb and ldc are row strides of the
/// stored matrices (A stored m×k when not transposed, k×m when transposed).
/// When beta is 0, C is overwritten (NaN in C does not propagate), as in BLAS; when alpha
/// is 0 or k is 0, A and B are not read and C becomes beta * C.
/// <para>
/// Products with a few rows or one column of output run as (few-)vector-matrix products; all others
/// run the packed, cache-blocked kernel of <see cref="Compute.Simd"/>. Large products are split
/// over up to <see cref="Compute.Threads"/> threads by bands of rows or columns of C (never over k),
/// so the result has the same bits whatever the thread count.
/// </para>
/// </summary>
internal static class Gemm
{
    /// <summary>Below this many flops (2mnk) a product stays on the calling thread: a hand-off costs more than it saves.</summary>
    internal const double ParallelMinFlops = 1e6;

    public static unsafe void Multiply(Compute compute, bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(compute);
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            Scale(m, n, beta, c, ldc);
            return;
        }
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var problem = new GemmProblem(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            var job = GemmJob.Plan(problem, compute.Simd, compute.Threads);
            if (job.Parts == 1) job.Execute(0);
            else GemmWorkers.Run(job);
        }
    }

    /// <summary>
    /// Packs op(B) (k×n; B stored k×n, or n×k when <paramref name="transB"/>, row stride ldb) into
    /// <paramref name="packed"/> for <see cref="Compute.Simd"/>, replacing what it held.
    /// </summary>
    public static unsafe void Pack(Compute compute, bool transB, int k, int n, ReadOnlySpan<float> b, int ldb, PackedMatrix packed)
    {
        ArgumentNullException.ThrowIfNull(compute);
        ArgumentNullException.ThrowIfNull(packed);
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be non-negative.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be non-negative.");
        CheckMatrix("B", transB ? n : k, transB ? k : n, b.Length, ldb);
        var level = compute.Simd;
        packed.Reset(k, n, level, level switch
        {
            SimdLevel.Avx512 => GemmBlocked.PackedLength<Avx512Kernel>(k, n),
            SimdLevel.Avx2 => GemmBlocked.PackedLength<Avx2Kernel>(k, n),
            SimdLevel.Vector => GemmBlocked.PackedLength<VectorKernel>(k, n),
            _ => GemmBlocked.PackedLength<ScalarKernel>(k, n),
        });
        if (k == 0 || n == 0) return;
        fixed (float* pb = b)
        {
            float* panels = packed.Panels;
            switch (level)
            {
                case SimdLevel.Avx512: GemmBlocked.PackAll<Avx512Kernel>(transB, k, n, pb, ldb, panels); break;
                case SimdLevel.Avx2: GemmBlocked.PackAll<Avx2Kernel>(transB, k, n, pb, ldb, panels); break;
                case SimdLevel.Vector: GemmBlocked.PackAll<VectorKernel>(transB, k, n, pb, ldb, panels); break;
                default: GemmBlocked.PackAll<ScalarKernel>(transB, k, n, pb, ldb, panels); break;
            }
        }
    }

    /// <summary>
    /// C = alpha * op(A) * B + beta * C with B pre-packed by <see cref="Pack"/> (k = b.K, n = b.N):
    /// the same contract as the unpacked overload, without packing B on every call. Worth it when
    /// op(A) has more than four rows (fewer rows go faster through the unpacked call, which then
    /// reads B once without packing at all).
    /// </summary>
    public static unsafe void Multiply(Compute compute, bool transA, int m, float alpha, ReadOnlySpan<float> a, int lda,
        PackedMatrix b, float beta, Span<float> c, int ldc)
    {
        ArgumentNullException.ThrowIfNull(compute);
        ArgumentNullException.ThrowIfNull(b);
        if (b.Simd != compute.Simd)
            throw new ArgumentException($"B was packed for {b.Simd} but this product runs at {compute.Simd}; pack it with the same Compute.", nameof(b));
        int n = b.N, k = b.K;
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be non-negative.");
        CheckMatrix("A", transA ? k : m, transA ? m : k, a.Length, lda);
        CheckMatrix("C", m, n, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            Scale(m, n, beta, c, ldc);
            return;
        }
        fixed (float* pa = a)
        fixed (float* pc = c)
        {
            var problem = new GemmProblem(transA, m, n, k, alpha, pa, lda, b.Panels, n, beta, pc, ldc);
            var job = GemmJob.Plan(problem, compute.Simd, compute.Threads);
            if (job.Parts == 1) job.Execute(0);
            else GemmWorkers.Run(job);
        }
        GC.KeepAlive(b);
    }

    /// <summary>C = beta * C (C = 0 when beta is 0, whatever C held).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Scale(int m, int n, float beta, Span<float> c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == 0) row.Clear();
            else if (beta != 1)
                for (int j = 0; j < row.Length; j++) row[j] *= beta;
        }
    }

    /// <summary>The plain triple loop (accumulating in double): the reference every fast path is tested against.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

/// <summary>How a product is computed: packed and blocked, or as a matrix-vector product.</summary>
internal enum GemmPath
{
    Blocked,
    /// <summary>m ≤ <see cref="GemmMatrixVector.MaxRows"/>: each row of C from the matching row of op(A), op(B) read once, unpacked.</summary>
    FewRows,
    /// <summary>n = 1: y = op(A) x with x the one column of op(B), y a column of C.</summary>
    ColumnVector,
}

/// <summary>
/// A planned product: the path, the SIMD level and how C is cut into <see cref="Parts"/> bands
/// (of rows or of columns, in whole units) for threads. The path is chosen once from the whole
/// problem, so each band computes its elements exactly as a single thread would.
/// </summary>
internal readonly unsafe struct GemmJob
{
    public readonly GemmProblem Problem;
    public readonly SimdLevel Level;
    public readonly GemmPath Path;
    /// <summary>True: bands of columns of C; false: bands of rows.</summary>
    public readonly bool SplitColumns;
    public readonly int Unit;
    public readonly int Parts;

    private GemmJob(in GemmProblem problem, SimdLevel level, GemmPath path, bool splitColumns, int unit, int parts)
    {
        Problem = problem; Level = level; Path = path; SplitColumns = splitColumns; Unit = unit; Parts = parts;
    }

    public static GemmJob Plan(in GemmProblem g, SimdLevel level, int threads)
    {
        GemmPath path = g.BPanels is not null ? GemmPath.Blocked
            : g.M <= GemmMatrixVector.MaxRows ? GemmPath.FewRows
            : g.N == 1 ? GemmPath.ColumnVector
            : GemmPath.Blocked;
        bool splitColumns;
        int unit;
        switch (path)
        {
            case GemmPath.FewRows: splitColumns = true; unit = GemmMatrixVector.SplitUnit; break;
            case GemmPath.ColumnVector: splitColumns = false; unit = GemmMatrixVector.SplitUnit; break;
            default:
                // Split the larger side, so the operand each thread packs again is the smaller one.
                splitColumns = g.N >= g.M;
                var (mr, nr) = TileShape(level);
                unit = splitColumns ? nr : mr;
                break;
        }
        int parts = Math.Min(threads, Environment.ProcessorCount);
        if (2.0 * g.M * g.N * g.K < Gemm.ParallelMinFlops) parts = 1;
        int units = ((splitColumns ? g.N : g.M) + unit - 1) / unit;
        parts = Math.Max(1, Math.Min(parts, units));
        return new GemmJob(g, level, path, splitColumns, unit, parts);
    }

    private static (int MR, int NR) TileShape(SimdLevel level) => level switch
    {
        SimdLevel.Avx512 => (Avx512Kernel.MR, Avx512Kernel.NR),
        SimdLevel.Avx2 => (Avx2Kernel.MR, Avx2Kernel.NR),
        SimdLevel.Vector => (VectorKernel.MR, VectorKernel.NR),
        _ => (ScalarKernel.MR, ScalarKernel.NR),
    };

    /// <summary>Computes band <paramref name="part"/> of <see cref="Parts"/> on the calling thread.</summary>
    public void Execute(int part)
    {
        int extent = SplitColumns ? Problem.N : Problem.M;
        int units = (extent + Unit - 1) / Unit;
        int start = (int)((long)units * part / Parts) * Unit;
        int end = Math.Min(extent, (int)((long)units * (part + 1) / Parts) * Unit);
        if (start >= end) return;
        GemmProblem g = SplitColumns ? Problem.Columns(start, end - start) : Problem.Rows(start, end - start);
        switch (Level)
        {
            case SimdLevel.Avx512: Run<Avx512Kernel, Avx512Ops, Vector512<float>>(g, Path); break;
            case SimdLevel.Avx2: Run<Avx2Kernel, Avx2Ops, Vector256<float>>(g, Path); break;
            case SimdLevel.Vector: Run<VectorKernel, VectorOps, System.Numerics.Vector<float>>(g, Path); break;
            default: Run<ScalarKernel, ScalarOps, float>(g, Path); break;
        }
    }

    private static void Run<TK, TS, TV>(in GemmProblem g, GemmPath path)
        where TK : struct, IGemmKernel where TS : struct, ISimdOps<TV> where TV : struct
    {
        switch (path)
        {
            case GemmPath.Blocked:
                GemmBlocked.Run<TK>(g);
                break;
            case GemmPath.FewRows:
            {
                // X = the rows of op(A), contiguous (copied when A is stored transposed); op(B) is read by rows (transB) or by columns.
                float* x = g.TransA ? Transposed(g.A, g.Lda, g.K, g.M) : g.A;
                nint ldx = g.TransA ? g.K : g.Lda;
                if (g.TransB) GemmMatrixVector.ByRows<TS, TV>(g.B, g.Ldb, x, ldx, g.M, g.K, g.N, g.Alpha, g.Beta, g.C, g.Ldc, 1);
                else GemmMatrixVector.ByColumns<TS, TV>(g.B, g.Ldb, x, ldx, g.M, g.K, g.N, g.Alpha, g.Beta, g.C, g.Ldc, 1);
                break;
            }
            case GemmPath.ColumnVector:
            {
                // x = the column of op(B); y = the column of C (stride ldc).
                float* x = g.TransB ? g.B : Transposed(g.B, g.Ldb, g.K, 1);
                if (g.TransA) GemmMatrixVector.ByColumns<TS, TV>(g.A, g.Lda, x, g.K, 1, g.K, g.M, g.Alpha, g.Beta, g.C, 0, g.Ldc);
                else GemmMatrixVector.ByRows<TS, TV>(g.A, g.Lda, x, g.K, 1, g.K, g.M, g.Alpha, g.Beta, g.C, 0, g.Ldc);
                break;
            }
        }
    }

    /// <summary>The transpose of a rows×cols matrix (row stride ld) as a contiguous cols×rows matrix in scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float* Transposed(float* src, nint ld, int rows, int cols)
    {
        float* dst = GemmScratch.Get(rows * cols);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                dst[c * rows + r] = src[r * ld + c];
        return dst;
    }
}
