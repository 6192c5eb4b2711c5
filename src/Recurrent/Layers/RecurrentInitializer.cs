using Recurrent.Numerics;

namespace Recurrent.Layers;

/// <summary>Initialisation schemes for recurrent weights (see <see cref="RecurrentInit"/>).</summary>
public static class RecurrentInitializer
{
    /// <summary>
    /// Overwrites every parameter of every layer of <paramref name="stack"/>, layer by layer in state_dict
    /// order: first the scheme of <see cref="RecurrentInit.Weights"/> (weight_ih, weight_hh and biases), then
    /// the <see cref="RecurrentInit.Recurrent"/> override of each H×H gate block of weight_hh (Identity also
    /// zeroes the biases), then, for an LSTM, <see cref="RecurrentInit.ForgetBias"/>.
    /// </summary>
    /// <param name="stack">The stack whose layers are initialised.</param>
    /// <param name="rng">Draws the random values.</param>
    /// <param name="init">The scheme; <see cref="RecurrentInit.Default"/> is PyTorch's.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="RecurrentInit.RecurrentScale"/> is not a positive finite number.</exception>
    /// <exception cref="InvalidOperationException">Orthogonal initialisation drew a degenerate matrix (practically never).</exception>
    public static void Apply(RecurrentStack stack, Rng rng, RecurrentInit init)
    {
        if (!(init.RecurrentScale > 0f && float.IsFinite(init.RecurrentScale)))
            throw new ArgumentOutOfRangeException(nameof(init), init.RecurrentScale, "RecurrentScale must be a positive finite number.");
        int H = stack.Options.HiddenSize;
        foreach (var layer in stack.Layers)
        {
            int G = layer.GateCount;
            if (init.Weights == WeightInit.PyTorchDefault)
            {
                // PyTorch: every parameter ~ U(−1/√H, 1/√H), in state_dict order.
                float bound = 1f / MathF.Sqrt(H);
                foreach (var p in layer.Parameters()) rng.FillUniform(p.Span, -bound, bound);
            }
            else
            {
                XavierPerGate(layer.WeightIh.Span, G, H, layer.InputSize, rng);
                XavierPerGate(layer.WeightHh.Span, G, H, H, rng);
                layer.BiasIh?.Span.Clear();
                layer.BiasHh?.Span.Clear();
            }
            switch (init.Recurrent)
            {
                case RecurrentWeightInit.Orthogonal:
                    for (int g = 0; g < G; g++) Orthogonal(layer.WeightHh.Span.Slice(g * H * H, H * H), H, init.RecurrentScale, rng);
                    break;
                case RecurrentWeightInit.Identity:
                    var w = layer.WeightHh.Span;
                    w.Clear();
                    for (int g = 0; g < G; g++)
                        for (int j = 0; j < H; j++) w[(g * H + j) * H + j] = init.RecurrentScale;
                    layer.BiasIh?.Span.Clear();
                    layer.BiasHh?.Span.Clear();
                    break;
            }
            if (init.ForgetBias is float fb && layer is LstmLayer)
            {
                layer.BiasIh?.Span.Slice(H, H).Fill(fb);
                layer.BiasHh?.Span.Slice(H, H).Clear();
            }
        }
    }

    private static void XavierPerGate(Span<float> w, int gates, int H, int fanIn, Rng rng)
    {
        float bound = MathF.Sqrt(6f / (fanIn + H));
        rng.FillUniform(w[..(gates * H * fanIn)], -bound, bound);
    }

    /// <summary>
    /// Fills the n×n block with a random orthogonal matrix times <paramref name="gain"/>: QR of a
    /// Gaussian matrix by modified Gram–Schmidt in double (which keeps R's diagonal positive, so Q is Haar-distributed).
    /// </summary>
    public static void Orthogonal(Span<float> block, int n, float gain, Rng rng)
    {
        var q = new double[n * n];
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextGaussian();
        // Columns of q (stored row-major, column j = q[i*n + j]) orthonormalised in order.
        for (int j = 0; j < n; j++)
        {
            for (int p = 0; p < j; p++)
            {
                double dot = 0;
                for (int i = 0; i < n; i++) dot += q[i * n + p] * q[i * n + j];
                for (int i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + p];
            }
            double norm = 0;
            for (int i = 0; i < n; i++) norm += q[i * n + j] * q[i * n + j];
            norm = Math.Sqrt(norm);
            if (norm < 1e-12) throw new InvalidOperationException("Orthogonal initialisation met a degenerate random matrix.");
            for (int i = 0; i < n; i++) q[i * n + j] /= norm;
        }
        for (int i = 0; i < q.Length; i++) block[i] = (float)(gain * q[i]);
    }
}
