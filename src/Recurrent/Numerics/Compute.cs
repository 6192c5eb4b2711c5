using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Numerics;

/// <summary>Which vector instruction set a kernel uses. Every level gives the same results within float rounding.</summary>
public enum SimdLevel
{
    /// <summary>Plain scalar loops: the reference every other path is tested against.</summary>
    Scalar,
    /// <summary>Portable <see cref="System.Numerics.Vector{T}"/> code (any width the runtime picks).</summary>
    Vector,
    /// <summary>AVX2 with FMA (256-bit).</summary>
    Avx2,
    /// <summary>AVX-512F (512-bit).</summary>
    Avx512,
}

/// <summary>
/// How numeric work runs: the thread count and the SIMD level. Passed explicitly to layers
/// (no hidden global state) so tests and benchmarks can pin both.
/// </summary>
public sealed record Compute
{
    /// <summary>Threads used by large GEMMs (1 = run on the calling thread only).</summary>
    public int Threads { get; }
    public SimdLevel Simd { get; }

    public Compute(int threads = 1, SimdLevel? simd = null)
    {
        if (threads < 1 || threads > 256)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "Thread count must be between 1 and 256.");
        var best = BestAvailable;
        var level = simd ?? best;
        if (level > best)
            throw new ArgumentOutOfRangeException(nameof(simd), level, $"SIMD level {level} is not supported on this CPU (best is {best}).");
        Threads = threads;
        Simd = level;
    }

    /// <summary>The widest SIMD level this CPU and runtime support.</summary>
    public static SimdLevel BestAvailable =>
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated ? SimdLevel.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? SimdLevel.Avx2
        : System.Numerics.Vector.IsHardwareAccelerated ? SimdLevel.Vector
        : SimdLevel.Scalar;

    /// <summary>One thread, best SIMD: deterministic and the default for tests.</summary>
    public static Compute SingleThread { get; } = new(1);

    /// <summary>All cores, best SIMD.</summary>
    public static Compute AllCores { get; } = new(Math.Max(1, Environment.ProcessorCount));
}
