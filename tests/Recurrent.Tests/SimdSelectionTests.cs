using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>
/// The default SIMD level and its cap by RECURRENT_SIMD, through the function that reads the
/// variable's value (the process environment itself is left alone).
/// </summary>
public class SimdSelectionTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void UnsetMeansTheBestLevel(string? value) => Assert.Equal(Compute.BestAvailable, Compute.DefaultSimdFor(value));

    [Theory]
    [InlineData("scalar", SimdLevel.Scalar)]
    [InlineData("SCALAR", SimdLevel.Scalar)]
    [InlineData(" Vector ", SimdLevel.Vector)]
    [InlineData("avx2", SimdLevel.Avx2)]
    [InlineData("AVX512", SimdLevel.Avx512)]
    public void ALevelCapsTheBest(string value, SimdLevel level)
    {
        var expected = level < Compute.BestAvailable ? level : Compute.BestAvailable;
        Assert.Equal(expected, Compute.DefaultSimdFor(value));
    }

    [Theory]
    [InlineData("avx3")]
    [InlineData("2")]
    [InlineData("sse")]
    [InlineData("avx-512")]
    public void AnInvalidValueNamesTheVariableAndTheAllowedValues(string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Compute.DefaultSimdFor(value));
        Assert.Contains("RECURRENT_SIMD", error.Message);
        Assert.Contains($"'{value}'", error.Message);
        Assert.Contains("scalar, vector, avx2, avx512", error.Message);
    }

    [Fact]
    public void AComputeWithoutALevelTakesTheDefault()
    {
        Assert.Equal(Compute.DefaultSimd, new Compute(1).Simd);
        Assert.Equal(Compute.DefaultSimd, Compute.SingleThread.Simd);
    }

    [Fact]
    public void AnExplicitLevelIsNotCapped()
    {
        for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++)
            Assert.Equal(level, new Compute(1, level).Simd);
    }
}
