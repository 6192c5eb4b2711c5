using System.Globalization;
using Recurrent.Numerics;

namespace Recurrent.Bench;

/// <summary>
/// GEMM throughput on square products and the shapes an RNN spends its time in; the same
/// shapes as scripts/bench_gemm_numpy.py, so the two can be compared line by line.
/// Each shape is warmed up, then timed as every benchmark is (see <see cref="BenchOptions"/>);
/// the median rep is reported.
/// </summary>
internal static class GemmBenchmark
{
    /// <summary>One product C[m×n] = op(A)·op(B) with op(A) m×k and op(B) k×n; PrePacked: B packed once, outside the timing.</summary>
    private sealed record Shape(string Name, int M, int N, int K, bool TransA, bool TransB, bool PrePacked = false);

    private static readonly Shape[] Shapes =
    [
        new("square 256", 256, 256, 256, false, false),
        new("square 512", 512, 512, 512, false, false),
        new("square 1024", 1024, 1024, 1024, false, false),
        new("square 2048", 2048, 2048, 2048, false, false),
        new("input projection 2048x256 * 256x1024", 2048, 1024, 256, false, false),
        new("32x512 * 512x2048", 32, 2048, 512, false, false),
        new("recurrent step 32x512 * (2048x512)T", 32, 2048, 512, false, true),
        new("recurrent step, W pre-packed, 32x512 * (2048x512)T", 32, 2048, 512, false, true, PrePacked: true),
        new("weight gradient (1120x2048)T * 1120x256", 2048, 256, 1120, true, false),
        new("batch-1 GEMV 1x512 * (2048x512)T", 1, 2048, 512, false, true),
    ];

    public static int Run(string[] args)
    {
        if (args.Contains("--list"))
        {
            foreach (var shape in Shapes) Console.WriteLine(shape.Name);
            return 0;
        }
        string? only = null;
        var shapes = new List<Shape>();
        bool Extra(string arg, string value)
        {
            switch (arg)
            {
                case "--only": only = value; return true;
                case "--shape": shapes.Add(ParseShape(value)); return true;
                default: return false;
            }
        }
        if (args.Contains("--help") || args.Contains("-h"))
        {
            BenchOptions.Parse("gemm", ["--help"], modelOptions: false, "[--only NAME] [--shape MxNxK[:NT[:P]]]... | --list");
            Console.WriteLine("--only runs the one standard shape with that name (see --list); --shape replaces the standard shapes,");
            Console.WriteLine("its optional suffix giving op(A) and op(B) as N (as stored) or T (transposed), then :P to pack B once outside the timing.");
            Console.WriteLine("Prints a header naming the SIMD level, then one tab-separated line per shape: name, m, n, k, threads, GFLOP/s (median rep).");
            return 0;
        }
        BenchOptions? o;
        try
        {
            o = BenchOptions.Parse("gemm", args, modelOptions: false, extra: Extra);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"gemm: {e.Message}");
            return 2;
        }
        if (o is null) return 2;

        var compute = o.Compute;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# Recurrent GEMM, {compute.Simd}, {o.Threads} thread(s), median of {o.Reps} reps, {o.Seconds:0.##} s timed after {o.WarmUpSeconds:0.##} s warm-up per shape; {o.SimdDescription}"));
        Console.WriteLine("# shape\tm\tn\tk\tthreads\tGFLOP/s");
        var rng = new Rng(1);
        foreach (var shape in shapes.Count > 0 ? shapes : [.. Shapes])
        {
            if (only is not null && shape.Name != only) continue;
            double gflops = Measure(shape, o, rng);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{shape.Name}\t{shape.M}\t{shape.N}\t{shape.K}\t{o.Threads}\t{gflops:F1}"));
        }
        return 0;
    }

    /// <summary>Parses "MxNxK", "MxNxK:NT" (N = as stored, T = transposed, for A then B) or "MxNxK:NT:P" (B pre-packed).</summary>
    private static Shape ParseShape(string text)
    {
        string[] parts = text.Split(':');
        string[] dims = parts[0].Split('x');
        string flags = parts.Length > 1 ? parts[1].ToUpperInvariant() : "NN";
        bool prePacked = parts.Length > 2 && parts[2].Equals("P", StringComparison.OrdinalIgnoreCase);
        if (dims.Length != 3 || flags.Length != 2 || flags.Any(f => f is not ('N' or 'T')) || parts.Length > 3 || parts.Length == 3 && !prePacked)
            throw new ArgumentException($"--shape '{text}' is not MxNxK, MxNxK:NT or MxNxK:NT:P.");
        int m = int.Parse(dims[0], CultureInfo.InvariantCulture), n = int.Parse(dims[1], CultureInfo.InvariantCulture);
        int k = int.Parse(dims[2], CultureInfo.InvariantCulture);
        return new Shape(text, m, n, k, flags[0] == 'T', flags[1] == 'T', prePacked);
    }

    private static double Measure(Shape s, BenchOptions o, Rng rng)
    {
        var compute = o.Compute;
        int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N;
        var a = Random(rng, s.M * s.K);
        var b = Random(rng, s.K * s.N);
        var c = new float[s.M * s.N];
        var packed = new PackedMatrix();
        if (s.PrePacked) Gemm.Pack(compute, s.TransB, s.K, s.N, b, ldb, packed);
        var reps = o.Time(() =>
        {
            if (s.PrePacked) Gemm.Multiply(compute, s.TransA, s.M, 1f, a, lda, packed, 0f, c, s.N);
            else Gemm.Multiply(compute, s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c, s.N);
        });
        return BenchOptions.Median(reps.Select(r => 2.0 * s.M * s.N * s.K / r.SecondsPerCall / 1e9));
    }

    private static float[] Random(Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextFloat() * 2 - 1;
        return x;
    }
}
