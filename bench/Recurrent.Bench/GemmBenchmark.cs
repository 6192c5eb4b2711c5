using System.Diagnostics;
using System.Globalization;
using Recurrent.Numerics;

namespace Recurrent.Bench;

/// <summary>
/// GEMM throughput on square products and the shapes an RNN spends its time in; the same
/// shapes as scripts/bench_gemm_numpy.py, so the two can be compared line by line.
/// Each shape is warmed up, then timed <c>reps</c> times (each rep long enough to time
/// reliably); the median rep is reported.
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
        int threads = 1, reps = 5;
        double minSeconds = 0.15;
        SimdLevel? simd = null;
        string? only = null;
        var shapes = new List<Shape>();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--reps": reps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--min-seconds": minSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--simd": simd = Enum.Parse<SimdLevel>(Next(), ignoreCase: true); break;
                case "--only": only = Next(); break;
                case "--shape": shapes.Add(ParseShape(Next())); break;
                case "--list":
                    foreach (var shape in Shapes) Console.WriteLine(shape.Name);
                    return 0;
                case "--help" or "-h":
                    Console.WriteLine("gemm [--threads N] [--reps N] [--min-seconds S] [--simd Scalar|Vector|Avx2|Avx512] [--only NAME] [--shape MxNxK[:NT[:P]]]... | --list");
                    Console.WriteLine("--only runs the one standard shape with that name (see --list); --shape replaces the standard shapes,");
                    Console.WriteLine("its optional suffix giving op(A) and op(B) as N (as stored) or T (transposed), then :P to pack B once outside the timing.");
                    Console.WriteLine("Prints one tab-separated line per shape: name, m, n, k, threads, GFLOP/s (median of reps).");
                    return 0;
                default:
                    Console.Error.WriteLine($"gemm: unknown option '{arg}' (try --help)");
                    return 2;
            }
        }
        if (reps < 1) { Console.Error.WriteLine("gemm: --reps must be at least 1"); return 2; }

        var compute = new Compute(threads, simd);
        Console.WriteLine($"# Recurrent GEMM, {compute.Simd}, {threads} thread(s), median of {reps}");
        Console.WriteLine("# shape\tm\tn\tk\tthreads\tGFLOP/s");
        var rng = new Rng(1);
        foreach (var shape in shapes.Count > 0 ? shapes : [.. Shapes])
        {
            if (only is not null && shape.Name != only) continue;
            double gflops = Measure(shape, compute, reps, minSeconds, rng);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{shape.Name}\t{shape.M}\t{shape.N}\t{shape.K}\t{threads}\t{gflops:F1}"));
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

    private static double Measure(Shape s, Compute compute, int reps, double minSeconds, Rng rng)
    {
        int lda = s.TransA ? s.M : s.K, ldb = s.TransB ? s.K : s.N;
        var a = Random(rng, s.M * s.K);
        var b = Random(rng, s.K * s.N);
        var c = new float[s.M * s.N];
        var packed = new PackedMatrix();
        if (s.PrePacked) Gemm.Pack(compute, s.TransB, s.K, s.N, b, ldb, packed);
        void Once()
        {
            if (s.PrePacked) Gemm.Multiply(compute, s.TransA, s.M, 1f, a, lda, packed, 0f, c, s.N);
            else Gemm.Multiply(compute, s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, lda, b, ldb, 0f, c, s.N);
        }

        // Warm-up: lets the JIT reach its final tier and the pack buffers reach full size.
        var clock = Stopwatch.StartNew();
        int calls = 0;
        while (clock.Elapsed.TotalSeconds < Math.Max(0.3, minSeconds) || calls < 3) { Once(); calls++; }
        int perRep = Math.Max(1, (int)(calls * minSeconds / clock.Elapsed.TotalSeconds));

        var rates = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < perRep; i++) Once();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            rates[r] = 2.0 * s.M * s.N * s.K * perRep / seconds / 1e9;
        }
        Array.Sort(rates);
        return rates[reps / 2];
    }

    private static float[] Random(Rng rng, int count)
    {
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = rng.NextFloat() * 2 - 1;
        return x;
    }
}
