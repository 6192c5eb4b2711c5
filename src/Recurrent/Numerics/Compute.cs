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
/// <para>
/// A Compute made without a SIMD level gets <see cref="DefaultSimd"/>: the CPU's best, capped by
/// the environment variable <c>RECURRENT_SIMD</c> (scalar, vector, avx2 or avx512) when it is set,
/// e.g. <c>RECURRENT_SIMD=avx2</c> to measure on an AVX-512 machine what an AVX2 machine gets.
/// The cap covers Recurrent's own kernels (GEMM, and the optimizers: vector or scalar); the cell
/// kernels built on System.Numerics.Tensors pick their width from the runtime, so to keep the whole
/// process off AVX-512 also set the runtime's own switch, <c>DOTNET_EnableAVX512=0</c> (.NET 10).
/// </para>
/// </summary>
public sealed record Compute
{
    /// <summary>The environment variable that caps <see cref="DefaultSimd"/>.</summary>
    public const string SimdVariable = "RECURRENT_SIMD";

    /// <summary>The names <see cref="TryParseSimdLevel"/> accepts.</summary>
    public const string SimdLevelNames = "scalar, vector, avx2, avx512";

    private static readonly Lazy<SimdLevel> s_defaultSimd = new(() => DefaultSimdFor(Environment.GetEnvironmentVariable(SimdVariable)));
    private static Compute? s_singleThread, s_allCores;

    /// <summary>Threads used by large GEMMs (1 = run on the calling thread only).</summary>
    public int Threads { get; }
    /// <summary>The SIMD level the GEMMs and cell kernels run with under this Compute; never above <see cref="BestAvailable"/>.</summary>
    public SimdLevel Simd { get; }

    /// <summary>
    /// <paramref name="simd"/> null takes <see cref="DefaultSimd"/>; an explicit level may be any level
    /// this CPU supports (the environment cap applies to defaults only).
    /// </summary>
    /// <param name="threads">Threads for large GEMMs, 1..256 (1 by default: the calling thread only).</param>
    /// <param name="simd">The SIMD level, or null for <see cref="DefaultSimd"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is outside 1..256, or <paramref name="simd"/> is above <see cref="BestAvailable"/>.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="simd"/> is null and <c>RECURRENT_SIMD</c> holds an invalid value.</exception>
    public Compute(int threads = 1, SimdLevel? simd = null)
    {
        if (threads < 1 || threads > 256)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "Thread count must be between 1 and 256.");
        var best = BestAvailable;
        var level = simd ?? DefaultSimd;
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

    /// <summary>
    /// The level a Compute gets when none is given: <see cref="BestAvailable"/>, capped by <c>RECURRENT_SIMD</c>.
    /// Read once, at first use; an invalid value throws <see cref="InvalidOperationException"/> then (and at every later use).
    /// </summary>
    public static SimdLevel DefaultSimd => s_defaultSimd.Value;

    /// <summary>
    /// <see cref="BestAvailable"/> capped by a value of <c>RECURRENT_SIMD</c>: null, empty or blank means no
    /// cap; a level above the CPU's best leaves the best. Throws <see cref="InvalidOperationException"/>
    /// naming the variable and the allowed values when <paramref name="value"/> is not a level.
    /// </summary>
    public static SimdLevel DefaultSimdFor(string? value)
    {
        var best = BestAvailable;
        if (string.IsNullOrWhiteSpace(value)) return best;
        if (!TryParseSimdLevel(value, out var cap))
            throw new InvalidOperationException($"{SimdVariable}='{value}' is not a SIMD level; use one of {SimdLevelNames} (any case), or unset it.");
        return cap < best ? cap : best;
    }

    /// <summary>Parses scalar, vector, avx2 or avx512, in any case and with surrounding blanks; nothing else (no numbers).</summary>
    public static bool TryParseSimdLevel(string? text, out SimdLevel level)
    {
        SimdLevel? parsed = text?.Trim().ToLowerInvariant() switch
        {
            "scalar" => SimdLevel.Scalar,
            "vector" => SimdLevel.Vector,
            "avx2" => SimdLevel.Avx2,
            "avx512" => SimdLevel.Avx512,
            _ => null,
        };
        level = parsed.GetValueOrDefault();
        return parsed.HasValue;
    }

    /// <summary>One thread, default SIMD: deterministic and the default for tests.</summary>
    public static Compute SingleThread => s_singleThread ??= new(1);

    /// <summary>All cores, default SIMD.</summary>
    public static Compute AllCores => s_allCores ??= new(Math.Max(1, Environment.ProcessorCount));
}
