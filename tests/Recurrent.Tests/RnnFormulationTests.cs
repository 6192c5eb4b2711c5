using Recurrent.Layers;
using Recurrent.Numerics;

namespace Recurrent.Tests;

public class RnnFormulationTests
{
    /// <summary>
    /// h_t = tanh(W_hh h_{t-1} + b_hh + W_ih x_t + b_ih) and h_t = tanh(W_h [h_{t-1}; x_t] + b_h)
    /// with W_h = [W_hh | W_ih] and b_h = b_hh + b_ih are the same function.
    /// </summary>
    [Fact]
    public void SplitAndConcatenatedWeightsGiveTheSameHiddenStates()
    {
        const int inSize = 5, H = 6, B = 2, T = 7;
        var rng = new Rng(7);
        var stack = new RecurrentStack(new RecurrentOptions(CellType.RnnTanh, inSize, H), rng);
        var layer = stack.Layers[0];
        var x = RecurrentGradientCheckTests.Random(rng, T, B, inSize);
        var output = stack.Forward(x).Output.Span.ToArray();

        // W_h [H, H + in] = [W_hh | W_ih]
        var wh = new float[H * (H + inSize)];
        for (int r = 0; r < H; r++)
        {
            layer.WeightHh.Span.Slice(r * H, H).CopyTo(wh.AsSpan(r * (H + inSize), H));
            layer.WeightIh.Span.Slice(r * inSize, inSize).CopyTo(wh.AsSpan(r * (H + inSize) + H, inSize));
        }
        var h = new float[B * H];
        var hx = new float[B * (H + inSize)];
        var pre = new float[B * H];
        for (int t = 0; t < T; t++)
        {
            for (int b = 0; b < B; b++)
            {
                h.AsSpan(b * H, H).CopyTo(hx.AsSpan(b * (H + inSize), H));
                x.Span.Slice((t * B + b) * inSize, inSize).CopyTo(hx.AsSpan(b * (H + inSize) + H, inSize));
            }
            Gemm.Reference(false, true, B, H, H + inSize, 1f, hx, H + inSize, wh, H + inSize, 0f, pre, H);
            for (int b = 0; b < B; b++)
                for (int j = 0; j < H; j++)
                    h[b * H + j] = MathF.Tanh(pre[b * H + j] + layer.BiasHh!.Span[j] + layer.BiasIh!.Span[j]);
            for (int i = 0; i < B * H; i++)
                Assert.Equal(h[i], output[t * B * H + i], 5e-6f);
        }
    }
}
