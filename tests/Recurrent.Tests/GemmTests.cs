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
}
