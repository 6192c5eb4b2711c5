using Recurrent.Layers;
using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>
/// With two threads a bidirectional stack runs its two directions at the same time (forward and
/// backward). The products give the same bits on 1 and 2 threads (GemmTests), so the concurrent
/// run must give exactly the bits of the one-thread run: output, final states, every input and
/// state gradient and every parameter gradient, on every cell, with ragged lengths and initial
/// states, over several batches (the layers' workspaces are reused).
/// </summary>
public class ConcurrentDirectionsTests
{
    [Theory]
    [InlineData(CellType.RnnTanh)]
    [InlineData(CellType.RnnRelu)]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    public void TwoThreadsGiveTheOneThreadBits(CellType cell)
    {
        const int T = 23, B = 7, In = 20, H = 48, Layers = 2;
        var options = new RecurrentOptions(cell, In, H, Layers, Bidirectional: true);
        var one = new RecurrentStack(options, new Rng(3)) { Compute = new Compute(1) };
        var two = new RecurrentStack(options, new Rng(3)) { Compute = new Compute(2) };
        var rng = new Rng(11);
        for (int batch = 0; batch < 3; batch++)
        {
            var x = Random(rng, T, B, In);
            int[] lengths = Enumerable.Range(0, B).Select(b => b == 0 ? T : 1 + (int)(rng.NextUInt64() % T)).ToArray();
            var h0 = Random(rng, Layers * 2, B, H);
            var c0 = cell == CellType.Lstm ? Random(rng, Layers * 2, B, H) : null;
            var dOut = Random(rng, T, B, 2 * H);
            var dHN = Random(rng, Layers * 2, B, H);
            var dCN = cell == CellType.Lstm ? Random(rng, Layers * 2, B, H) : null;

            var a = Run(one, x, lengths, h0, c0, dOut, dHN, dCN);
            var b = Run(two, x, lengths, h0, c0, dOut, dHN, dCN);
            Assert.Equal(a.Count, b.Count);
            foreach (var (name, values) in a)
                Assert.True(values.AsSpan().SequenceEqual(b[name]), $"{cell}, batch {batch}: {name} differs between 1 and 2 threads");
        }
    }

    private static Dictionary<string, float[]> Run(RecurrentStack stack, Tensor x, int[] lengths, Tensor h0, Tensor? c0, Tensor dOut, Tensor dHN, Tensor? dCN)
    {
        stack.ZeroGrad();
        var result = stack.Forward(x, lengths, h0, c0);
        var values = new Dictionary<string, float[]>
        {
            ["output"] = result.Output.Span.ToArray(),
            ["h_n"] = result.HN.Span.ToArray(),
        };
        if (result.CN is not null) values["c_n"] = result.CN.Span.ToArray();
        var grads = stack.Backward(dOut, dHN, dCN);
        values["d input"] = grads.Input.Span.ToArray();
        values["d h0"] = grads.H0.Span.ToArray();
        if (grads.C0 is not null) values["d c0"] = grads.C0.Span.ToArray();
        foreach (var p in stack.Parameters()) values["grad " + p.Name] = p.Grad.Span.ToArray();
        return values;
    }

    private static Tensor Random(Rng rng, params int[] shape)
    {
        var t = new Tensor(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return t;
    }
}
