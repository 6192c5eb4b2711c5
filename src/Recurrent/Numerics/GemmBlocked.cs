using System.Runtime.CompilerServices;
namespace Recurrent.Numerics;

/// <summary>
/// One GEMM problem as raw pointers (the caller keeps the buffers pinned), with views of a
/// band of rows or columns of C for splitting the work between threads. When op(B) comes
/// pre-packed (<see cref="PackedMatrix"/>), <see cref="BPanels"/> points at its panels and
/// <see cref="BColumn0"/> says which of its columns this problem's first column is.
/// </summary>
internal readonly unsafe struct GemmProblem
{
    public readonly bool TransA, TransB;
    public readonly int M, N, K;
    public readonly float Alpha, Beta;
    public readonly float* A, B, C;
    public readonly nint Lda, Ldb, Ldc;
    public readonly float* BPanels;
    public readonly int BColumns, BColumn0;

    public GemmProblem(bool transA, bool transB, int m, int n, int k,
        float alpha, float* a, nint lda, float* b, nint ldb, float beta, float* c, nint ldc)
        : this(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, null, 0, 0)
    {
    }

    /// <summary>A product with pre-packed op(B): <paramref name="panels"/> holds all <paramref name="columns"/> columns.</summary>
    public GemmProblem(bool transA, int m, int n, int k, float alpha, float* a, nint lda, float* panels, int columns,
        float beta, float* c, nint ldc)
        : this(transA, false, m, n, k, alpha, a, lda, null, 0, beta, c, ldc, panels, columns, 0)
    {
    }

    private GemmProblem(bool transA, bool transB, int m, int n, int k, float alpha, float* a, nint lda,
        float* b, nint ldb, float beta, float* c, nint ldc, float* bPanels, int bColumns, int bColumn0)
    {
        TransA = transA; TransB = transB; M = m; N = n; K = k; Alpha = alpha; Beta = beta;
        A = a; B = b; C = c; Lda = lda; Ldb = ldb; Ldc = ldc;
        BPanels = bPanels; BColumns = bColumns; BColumn0 = bColumn0;
    }

    /// <summary>Rows [i0, i0 + rows) of C and of op(A), all of op(B).</summary>
    public GemmProblem Rows(int i0, int rows) =>
        new(TransA, TransB, rows, N, K, Alpha, TransA ? A + i0 : A + i0 * Lda, Lda, B, Ldb, Beta, C + i0 * Ldc, Ldc,
            BPanels, BColumns, BColumn0);

    /// <summary>Columns [j0, j0 + cols) of C and of op(B), all of op(A).</summary>
    public GemmProblem Columns(int j0, int cols) =>
        new(TransA, TransB, M, cols, K, Alpha, A, Lda, B is null ? null : TransB ? B + j0 * Ldb : B + j0, Ldb, Beta, C + j0, Ldc,
            BPanels, BColumns, BColumn0 + j0);
}

/// <summary>
/// The packed, cache-blocked GEMM (Goto/BLIS loop nest) around a micro-kernel:
/// <code>
/// for jc in 0..n step NC            a KC×NC panel of op(B), packed into NR-wide micro-panels (L3)
///   for pc in 0..k step KC          rank-KC update; beta applies to the first only
///     for ic in 0..m step MC        an MC×KC block of op(A), packed into MR-wide micro-panels (L2)
///       for jr in 0..nc step NR     one KC×NR micro-panel of B (packed on first use, then reused; L1),
///                                   or B's rows in place when m ≤ MC and B is not transposed,
///                                   or the panel of a pre-packed B
///         for ir in 0..mc step MR   C[ic+ir.., jc+jr..] (MR×NR) = kernel(Ã micro-panel, B̃ micro-panel)
/// </code>
/// Edge tiles (fewer than MR rows or NR columns left) run the same kernel on a copy of the tile,
/// so every element of C is computed by the same instructions wherever it lies. Column blocks
/// follow op(B)'s own NC grid (a band of columns may start inside one), which is also the grid
/// of a <see cref="PackedMatrix"/>: there the panels are read as they are, with no packing of B.
/// </summary>
internal static unsafe class GemmBlocked
{
    /// <summary>B micro-panels packed together when B's rows are contiguous (one sweep of PackGroup·NR columns per row).</summary>
    private const int PackGroup = 8;

    public static void Run<TK>(in GemmProblem g) where TK : struct, IGemmKernel
    {
        int mr = TK.MR, nr = TK.NR;
        int kcMax = Math.Min(TK.KC, g.K);
        int mcMax = Math.Min(TK.MC, RoundUp(g.M, mr));
        int ncMax = Math.Min(TK.NC, RoundUp(g.N, nr));
        int aFloats = GemmScratch.Align(mcMax * kcMax);
        int bFloats = GemmScratch.Align(ncMax * kcMax);
        float* aPack = GemmScratch.Get(aFloats + bFloats + mr * nr);
        float* bPack = aPack + aFloats;
        float* tile = bPack + bFloats;
        SimdLevel level = TK.Level;
        // B that is not transposed and feeds a single block of A is read in place: packing it
        // would cost a full extra pass for a panel that is used only once (small m).
        bool directB = !g.TransB && g.M <= TK.MC;

        for (int jc = 0, nc; jc < g.N; jc += nc)
        {
            int blockStart = (g.BColumn0 + jc) / TK.NC * TK.NC;
            int inBlock = g.BColumn0 + jc - blockStart;
            nc = Math.Min(TK.NC - inBlock, g.N - jc);
            for (int pc = 0; pc < g.K; pc += TK.KC)
            {
                int kc = Math.Min(TK.KC, g.K - pc);
                float beta = pc == 0 ? g.Beta : 1f;
                for (int ic = 0; ic < g.M; ic += TK.MC)
                {
                    int mc = Math.Min(TK.MC, g.M - ic);
                    for (int ir = 0; ir < mc; ir += mr)
                    {
                        int rows = Math.Min(mr, mc - ir);
                        float* dst = aPack + ir * kc;
                        if (g.TransA)
                            GemmPacking.PackAlongLanes(g.A + pc * g.Lda + ic + ir, g.Lda, rows, kc, mr, dst, level);
                        else
                            GemmPacking.PackAlongDepth(g.A + (ic + ir) * g.Lda + pc, g.Lda, rows, kc, mr, dst, level);
                    }
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        float* bp = bPack + jr * kc;
                        nint ldb = nr;
                        if (g.BPanels is not null)
                        {
                            bp = g.BPanels + PanelOffset<TK>(g.K, g.BColumns, blockStart, pc) + (nint)(inBlock + jr) * kc;
                        }
                        else if (directB && cols == nr)
                        {
                            bp = g.B + pc * g.Ldb + jc + jr;
                            ldb = g.Ldb;
                        }
                        else if (ic == 0)
                        {
                            if (g.TransB)
                                GemmPacking.PackAlongDepth(g.B + (jc + jr) * g.Ldb + pc, g.Ldb, cols, kc, nr, bp, level);
                            else if (directB)
                                GemmPacking.PackAlongLanes(g.B + pc * g.Ldb + jc + jr, g.Ldb, cols, kc, nr, bp, level);
                            else if (jr % (PackGroup * nr) == 0)
                                GemmPacking.PackAlongLanesWide(g.B + pc * g.Ldb + jc + jr, g.Ldb, Math.Min(PackGroup * nr, nc - jr), kc, nr, bp, level);
                        }
                        for (int ir = 0; ir < mc; ir += mr)
                        {
                            int rows = Math.Min(mr, mc - ir);
                            float* c = g.C + (ic + ir) * g.Ldc + jc + jr;
                            if (rows == mr && cols == nr)
                                TK.Tile(kc, aPack + ir * kc, bp, ldb, c, g.Ldc, g.Alpha, beta);
                            else
                                EdgeTile<TK>(kc, aPack + ir * kc, bp, ldb, c, g.Ldc, rows, cols, g.Alpha, beta, tile);
                        }
                    }
                }
            }
        }
    }

    /// <summary>A tile with fewer than MR rows or NR columns: run the full kernel on a copy, write back the real part.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EdgeTile<TK>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int rows, int cols,
        float alpha, float beta, float* tile) where TK : struct, IGemmKernel
    {
        int nr = TK.NR;
        if (beta != 0)
            for (int i = 0; i < rows; i++)
                new ReadOnlySpan<float>(c + i * ldc, cols).CopyTo(new Span<float>(tile + i * nr, cols));
        TK.Tile(kc, a, b, ldb, tile, nr, alpha, beta);
        for (int i = 0; i < rows; i++)
            new ReadOnlySpan<float>(tile + i * nr, cols).CopyTo(new Span<float>(c + i * ldc, cols));
    }

    public static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>Floats in a fully packed k×n op(B): every column block, every depth block, zero-padded to whole micro-panels.</summary>
    public static long PackedLength<TK>(int k, int n) where TK : struct, IGemmKernel => (long)k * RoundUp(n, TK.NR);

    /// <summary>
    /// Where the packed kc×nc panel of columns [blockStart, blockStart + NC) and depths [pc, pc + KC)
    /// starts: all earlier column blocks (NC·k floats each), then the earlier depth blocks of this one.
    /// </summary>
    public static nint PanelOffset<TK>(int k, int n, int blockStart, int pc) where TK : struct, IGemmKernel =>
        (nint)blockStart * k + (nint)pc * RoundUp(Math.Min(TK.NC, n - blockStart), TK.NR);

    /// <summary>Packs all of op(B) (k×n) into <paramref name="panels"/> in the order <see cref="PanelOffset{TK}"/> describes.</summary>
    public static void PackAll<TK>(bool transB, int k, int n, float* b, nint ldb, float* panels) where TK : struct, IGemmKernel
    {
        int nr = TK.NR;
        for (int jc = 0; jc < n; jc += TK.NC)
        {
            int nc = Math.Min(TK.NC, n - jc);
            for (int pc = 0; pc < k; pc += TK.KC)
            {
                int kc = Math.Min(TK.KC, k - pc);
                float* panel = panels + PanelOffset<TK>(k, n, jc, pc);
                for (int jr = 0; jr < nc; jr += nr)
                {
                    int cols = Math.Min(nr, nc - jr);
                    if (transB)
                        GemmPacking.PackAlongDepth(b + (jc + jr) * ldb + pc, ldb, cols, kc, nr, panel + jr * kc, TK.Level);
                    else
                        GemmPacking.PackAlongLanes(b + pc * ldb + jc + jr, ldb, cols, kc, nr, panel + jr * kc, TK.Level);
                }
            }
        }
    }
}
