namespace Recurrent.Numerics;

/// <summary>
/// The one seeded random generator of a run: xoshiro256** seeded through SplitMix64.
/// Its whole state is four 64-bit words, so a checkpoint can save and restore it exactly
/// (System.Random's state cannot be saved).
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>A generator whose state is expanded from <paramref name="seed"/> by SplitMix64: the same seed gives the same sequence on every machine.</summary>
    /// <param name="seed">Any 64-bit value, 0 included.</param>
    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    private Rng(ulong s0, ulong s1, ulong s2, ulong s3) { _s0 = s0; _s1 = s1; _s2 = s2; _s3 = s3; }

    /// <summary>The four state words, for checkpoints.</summary>
    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    /// <summary>Restores a state saved by <see cref="GetState"/>.</summary>
    public static Rng FromState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4) throw new ArgumentException("An Rng state is exactly 4 words.", nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0) throw new ArgumentException("An all-zero Rng state is invalid.", nameof(state));
        return new Rng(state[0], state[1], state[2], state[3]);
    }

    /// <summary>Sets this generator to a state saved by <see cref="GetState"/>.</summary>
    public void Restore(ReadOnlySpan<ulong> state)
    {
        var r = FromState(state);
        (_s0, _s1, _s2, _s3) = (r._s0, r._s1, r._s2, r._s3);
    }

    /// <summary>A copy in the same state: it produces the same sequence as this one, independently of it.</summary>
    /// <returns>The copy; this generator is unchanged.</returns>
    public Rng Clone() => new(_s0, _s1, _s2, _s3);

    /// <summary>A new independent generator derived from this one (advances this one).</summary>
    public Rng Split() => new(NextUInt64());

    /// <summary>The next 64 uniformly random bits (xoshiro256**); every other draw is built on it.</summary>
    /// <returns>A value uniform over the whole <c>ulong</c> range.</returns>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) with 24 bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [0, n), unbiased (Lemire's method).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Upper bound must be positive.");
        ulong range = (ulong)n;
        ulong x = NextUInt64();
        UInt128 m = (UInt128)x * range;
        ulong low = (ulong)m;
        if (low < range)
        {
            ulong threshold = (0 - range) % range;
            while (low < threshold)
            {
                x = NextUInt64();
                m = (UInt128)x * range;
                low = (ulong)m;
            }
        }
        return (int)(m >> 64);
    }

    /// <summary>Uniform in [lo, hi).</summary>
    public float Uniform(float lo, float hi) => lo + (hi - lo) * NextFloat();

    /// <summary>Standard normal (Box–Muller, one value per call).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble();
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fills <paramref name="values"/> in order with draws of <see cref="Uniform"/>(lo, hi).</summary>
    /// <param name="values">The span to overwrite.</param>
    /// <param name="lo">Lower bound (inclusive).</param>
    /// <param name="hi">Upper bound (exclusive, up to float rounding).</param>
    public void FillUniform(Span<float> values, float lo, float hi)
    {
        for (int i = 0; i < values.Length; i++) values[i] = Uniform(lo, hi);
    }

    /// <summary>Fills <paramref name="values"/> in order with mean + std·<see cref="NextGaussian"/>(), computed in double and rounded to float.</summary>
    /// <param name="values">The span to overwrite.</param>
    /// <param name="mean">Mean of the normal distribution.</param>
    /// <param name="std">Standard deviation of the normal distribution.</param>
    public void FillGaussian(Span<float> values, float mean, float std)
    {
        for (int i = 0; i < values.Length; i++) values[i] = (float)(mean + std * NextGaussian());
    }

    /// <summary>Fisher–Yates shuffle.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
