using Recurrent.Numerics;

namespace Recurrent.Tests;

public class GemmContractTests
{
    [Fact]
    public void RejectsTooSmallBuffer()
    {
        var a = new float[5];
        var b = new float[6];
        var c = new float[6];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(Compute.SingleThread, false, false, 2, 3, 3, 1, a, 3, b, 3, 0, c, 3));
    }

    [Fact]
    public void RejectsTooSmallLeadingDimension()
    {
        var a = new float[6];
        var b = new float[6];
        var c = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(Compute.SingleThread, false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2));
    }
}

/// <summary>
/// Every SIMD level this CPU has, against <see cref="Gemm.Reference"/>: all four transpose
/// cases, awkward sizes (not multiples of any vector width, crossing every cache block),
/// padded leading dimensions, alpha/beta variants, and bit-identical results for 1 and 2 threads.
/// </summary>
public class GemmTests
{
    public static TheoryData<SimdLevel> Levels()
    {
        var data = new TheoryData<SimdLevel>();
        foreach (var level in Enum.GetValues<SimdLevel>())
            if (level <= Compute.BestAvailable) data.Add(level);
        return data;
    }

    /// <summary>One product with its reference result and the error bound Σ|alpha·a·b| + |beta·c| per element.</summary>
    private sealed record Case(bool TransA, bool TransB, int M, int N, int K, float Alpha, float Beta,
        float[] A, int Lda, float[] B, int Ldb, float[] C, int Ldc, float[] Expected, float[] Bound)
    {
        public override string ToString() =>
            $"op(A) {M}×{K}{(TransA ? "ᵀ" : "")} (lda {Lda}), op(B) {K}×{N}{(TransB ? "ᵀ" : "")} (ldb {Ldb}), ldc {Ldc}, alpha {Alpha}, beta {Beta}";
    }

    private static readonly (float Alpha, float Beta)[] Scalings = [(1f, 0f), (1f, 1f), (0.7f, 0.5f), (-1.3f, 0f)];

    private static readonly Lazy<List<Case>> Cases = new(MakeCases);

    private static List<Case> MakeCases()
    {
        var rng = new Rng(20240611);
        var cases = new List<Case>();
        int variant = 0;
        int[] sizes = [1, 3, 17, 255];
        int largeCount = 0;
        foreach (int m in sizes)
        foreach (int n in sizes)
        foreach (int k in sizes)
        {
            // The largest products (two or three sides of 255) take one transpose case each, in turn, to keep the run short.
            bool large = (m == 255 ? 1 : 0) + (n == 255 ? 1 : 0) + (k == 255 ? 1 : 0) >= 2;
            int only = large ? largeCount++ % 4 : -1;
            foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                if (large && (transA ? 2 : 0) + (transB ? 1 : 0) != only) continue;
                var (alpha, beta) = Scalings[variant % Scalings.Length];
                int pad = variant % 3 == 0 ? 0 : 1 + rng.NextInt(5);
                cases.Add(MakeCase(rng, transA, transB, m, n, k, alpha, beta, pad));
                variant++;
            }
        }
        // Crossing the cache blocks of every kernel (MC, KC, NC), the column strips of the few-row paths, and the switch between them.
        (int M, int N, int K)[] blocks = [(300, 40, 600), (21, 2100, 20), (40, 50, 513), (2, 1000, 33), (1, 700, 300), (700, 1, 300), (1, 1, 40), (4, 300, 77), (5, 50, 9), (64, 2048, 64)];
        foreach (var (m, n, k) in blocks)
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        {
            var (alpha, beta) = Scalings[variant % Scalings.Length];
            cases.Add(MakeCase(rng, transA, transB, m, n, k, alpha, beta, variant % 2 == 0 ? 0 : 3));
            variant++;
        }
        return cases;
    }

    private static Case MakeCase(Rng rng, bool transA, bool transB, int m, int n, int k, float alpha, float beta, int pad)
    {
        int aCols = transA ? m : k, aRows = transA ? k : m;
        int bCols = transB ? k : n, bRows = transB ? n : k;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = Random(rng, aRows * lda);
        var b = Random(rng, bRows * ldb);
        var c = Random(rng, m * ldc);
        if (beta == 0) Array.Fill(c, float.NaN);
        var expected = (float[])c.Clone();
        Gemm.Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        var bound = c.Select(MathF.Abs).ToArray();
        Gemm.Reference(transA, transB, m, n, k, MathF.Abs(alpha), a.Select(MathF.Abs).ToArray(), lda,
            b.Select(MathF.Abs).ToArray(), ldb, MathF.Abs(beta), bound, ldc);
        return new Case(transA, transB, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc, expected, bound);
    }

    private static float[] Random(Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextFloat() * 2 - 1;
        return x;
    }

    private static float[] Run(Case t, Compute compute)
    {
        var c = (float[])t.C.Clone();
        Gemm.Multiply(compute, t.TransA, t.TransB, t.M, t.N, t.K, t.Alpha, t.A, t.Lda, t.B, t.Ldb, t.Beta, c, t.Ldc);
        return c;
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void MatchesReference(SimdLevel level)
    {
        var compute = new Compute(1, level);
        foreach (var t in Cases.Value)
        {
            var c = Run(t, compute);
            // Forward error of a float sum of k products: at most about k·2⁻²⁴ of Σ|a·b| (plus the beta term).
            double tolerance = Math.Max(1e-5, (t.K + 2) * 6e-8);
            for (int i = 0; i < t.M; i++)
            for (int j = 0; j < t.N; j++)
            {
                int at = i * t.Ldc + j;
                double diff = Math.Abs((double)c[at] - t.Expected[at]);
                if (!(diff <= tolerance * t.Bound[at] + 1e-30))
                    Assert.Fail($"{level}, {t}: C[{i},{j}] = {c[at]}, reference {t.Expected[at]}");
            }
            for (int at = 0; at < c.Length; at++)
                if (at % t.Ldc >= t.N && !c[at].Equals(t.C[at]))
                    Assert.Fail($"{level}, {t}: padding C[{at}] was written");
        }
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void TwoThreadsGiveTheSameBitsAsOne(SimdLevel level)
    {
        var rng = new Rng(7);
        // Large enough to be split: by columns (n ≥ m), by rows (m > n), and the two matrix-vector paths.
        (int M, int N, int K)[] shapes = [(100, 200, 150), (300, 70, 100), (1, 3000, 700), (3, 2000, 300), (3000, 1, 700), (32, 1024, 64)];
        foreach (var (m, n, k) in shapes)
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        {
            var t = MakeUnchecked(rng, transA, transB, m, n, k, 0.9f, 0.5f);
            var one = Run(t, new Compute(1, level));
            var two = Run(t, new Compute(2, level));
            Assert.True(one.AsSpan().SequenceEqual(two), $"{level}, {t}: 1 and 2 threads differ");
        }
    }

    private static readonly Lazy<List<Case>> PackedCases = new(() =>
    {
        var rng = new Rng(19);
        var cases = new List<Case>();
        // Crossing KC and NC, few rows, one column.
        (int M, int N, int K)[] shapes = [(9, 2100, 300), (70, 100, 600), (300, 50, 40), (3, 40, 17), (17, 1, 255), (1, 33, 5)];
        foreach (var (m, n, k) in shapes)
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
            cases.Add(MakeCase(rng, transA, transB, m, n, k, 0.8f, m % 2 == 0 ? 0f : 0.5f, 2));
        return cases;
    });

    [Theory]
    [MemberData(nameof(Levels))]
    public void PrePackedBMatchesReferenceAndUnpackedBits(SimdLevel level)
    {
        var packed = new PackedMatrix();
        foreach (var t in PackedCases.Value)
        {
            // The same PackedMatrix re-packed for every shape.
            Gemm.Pack(new Compute(1, level), t.TransB, t.K, t.N, t.B, t.Ldb, packed);
            Assert.Equal((t.K, t.N, level), (packed.K, packed.N, packed.Simd));
            var c = (float[])t.C.Clone();
            Gemm.Multiply(new Compute(1, level), t.TransA, t.M, t.Alpha, t.A, t.Lda, packed, t.Beta, c, t.Ldc);
            double tolerance = Math.Max(1e-5, (t.K + 2) * 6e-8);
            for (int i = 0; i < t.M; i++)
            for (int j = 0; j < t.N; j++)
            {
                int at = i * t.Ldc + j;
                if (!(Math.Abs((double)c[at] - t.Expected[at]) <= tolerance * t.Bound[at] + 1e-30))
                    Assert.Fail($"{level}, packed, {t}: C[{i},{j}] = {c[at]}, reference {t.Expected[at]}");
            }
            var two = (float[])t.C.Clone();
            Gemm.Multiply(new Compute(2, level), t.TransA, t.M, t.Alpha, t.A, t.Lda, packed, t.Beta, two, t.Ldc);
            Assert.True(c.AsSpan().SequenceEqual(two), $"{level}, packed, {t}: 1 and 2 threads differ");
            if (t.M > 4 && t.N > 1)
                Assert.True(c.AsSpan().SequenceEqual(Run(t, new Compute(1, level))), $"{level}, packed, {t}: differs from unpacked");
        }
    }

    [Fact]
    public void PrePackedBRejectsAnotherSimdLevel()
    {
        var packed = new PackedMatrix();
        Gemm.Pack(new Compute(1, SimdLevel.Scalar), false, 2, 2, new float[4], 2, packed);
        if (Compute.BestAvailable == SimdLevel.Scalar) return;
        var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new Compute(1, Compute.BestAvailable), false, 2, 1f, new float[4], 2, packed, 0f, c, 2));
    }

    [Fact]
    public void ConcurrentThreadedProductsMatchSingleThread()
    {
        var rng = new Rng(11);
        var t = MakeUnchecked(rng, false, true, 64, 512, 256, 1f, 0f);
        var expected = Run(t, Compute.SingleThread);
        var results = new float[4][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            i => results[i] = Run(t, new Compute(2)));
        foreach (var r in results) Assert.True(expected.AsSpan().SequenceEqual(r));
    }

    [Fact]
    public void BackToBackThreadedProductsMatchSingleThread()
    {
        // Many consecutive jobs of different band counts through the worker pool, as an RNN's time loop issues them.
        var rng = new Rng(13);
        Case[] cases = [MakeUnchecked(rng, false, true, 32, 256, 64, 1f, 0f), MakeUnchecked(rng, true, false, 96, 40, 300, 1f, 1f),
            MakeUnchecked(rng, false, true, 1, 2048, 512, 1f, 0f)];
        var expected = cases.Select(t => Run(t, Compute.SingleThread)).ToArray();
        var twoThreads = new Compute(2);
        for (int round = 0; round < 50; round++)
            for (int i = 0; i < cases.Length; i++)
                Assert.True(expected[i].AsSpan().SequenceEqual(Run(cases[i], twoThreads)), $"round {round}, {cases[i]}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void WarmProductsAllocateNothing(int threads)
    {
        var rng = new Rng(17);
        Case[] cases = [MakeUnchecked(rng, false, true, 40, 300, 200, 1f, 0f), MakeUnchecked(rng, true, false, 1, 500, 64, 1f, 1f),
            MakeUnchecked(rng, false, false, 3, 200, 100, 1f, 0f)];
        var compute = new Compute(threads);
        foreach (var t in cases) Run(t, compute);
        var c = cases.Select(t => (float[])t.C.Clone()).ToArray();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < cases.Length; i++)
        {
            var t = cases[i];
            Gemm.Multiply(compute, t.TransA, t.TransB, t.M, t.N, t.K, t.Alpha, t.A, t.Lda, t.B, t.Ldb, t.Beta, c[i], t.Ldc);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>A product without the (slow) reference, for comparisons between thread counts.</summary>
    private static Case MakeUnchecked(Rng rng, bool transA, bool transB, int m, int n, int k, float alpha, float beta)
    {
        int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 3;
        var a = Random(rng, (transA ? k : m) * lda);
        var b = Random(rng, (transB ? n : k) * ldb);
        var c = Random(rng, m * ldc);
        return new Case(transA, transB, m, n, k, alpha, beta, a, lda, b, ldb, c, ldc, [], []);
    }

    [Theory]
    [MemberData(nameof(Levels))]
    public void EmptyInnerDimensionScalesC(SimdLevel level)
    {
        var compute = new Compute(2, level);
        var c = new float[] { 1, 2, float.NaN, 4, 5, 6 };
        Gemm.Multiply(compute, false, false, 2, 2, 0, 1f, [], 1, [], 3, 0.5f, c, 3);
        Assert.Equal(new float[] { 0.5f, 1, float.NaN, 2, 2.5f, 6 }, c);
        Gemm.Multiply(compute, true, true, 2, 2, 0, 1f, [], 2, [], 1, 0f, c, 3);
        Assert.Equal(new float[] { 0, 0, float.NaN, 0, 0, 6 }, c);
    }

    [Fact]
    public void ZeroAlphaDoesNotReadAOrB()
    {
        var a = new float[] { float.NaN, float.NaN, float.NaN, float.NaN };
        var c = new float[] { 1, 2, 3, 4 };
        Gemm.Multiply(Compute.SingleThread, false, false, 2, 2, 2, 0f, a, 2, a, 2, 2f, c, 2);
        Assert.Equal(new float[] { 2, 4, 6, 8 }, c);
    }

    [Fact]
    public void EmptyOutputIsANoOp()
    {
        var c = new float[] { 7 };
        Gemm.Multiply(Compute.SingleThread, false, false, 0, 5, 3, 1f, [], 3, new float[15], 5, 0f, c, 5);
        Gemm.Multiply(Compute.SingleThread, false, false, 1, 0, 3, 1f, new float[3], 3, [], 1, 0f, c, 1);
        Assert.Equal(7, c[0]);
    }
}
