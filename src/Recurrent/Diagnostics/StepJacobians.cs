using Recurrent.Layers;
using Recurrent.Numerics;

namespace Recurrent.Diagnostics;

/// <summary>
/// Singular values of one step's Jacobian for one batch row. <see cref="Hidden"/>: of
/// ∂h_t/∂h_{t−1} (H×H; for an LSTM with c_{t−1} held fixed). <see cref="State"/> (LSTM only):
/// of the whole state's Jacobian ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}) (2H×2H), whose cell block
/// diag(f_t) is the LSTM's "constant error carousel".
/// For a reverse direction "t − 1" is the step processed before t, i.e. t + 1.
/// </summary>
/// <param name="Time">The 0-based time step t of the Jacobian.</param>
/// <param name="Row">The batch row it was taken for.</param>
/// <param name="Hidden">The H singular values of ∂h_t/∂h_{t−1}, largest first.</param>
/// <param name="State">The 2H singular values of ∂(h_t, c_t)/∂(h_{t−1}, c_{t−1}), largest first (LSTM); null for other cells.</param>
public sealed record StepSpectrum(int Time, int Row, double[] Hidden, double[]? State);

/// <summary>
/// The exact Jacobians of single recurrent steps, formed analytically in double from the
/// layer's weights at the states of the stack's last forward pass:
///   RNN:  J = diag(g'(a_t)) W_hh
///   GRU:  J = diag(z) + diag((h − n) ⊙ z(1−z)) W_hz + diag((1−z) ⊙ (1−n²)) [diag(r) W_hn + diag(ĥ_n ⊙ r(1−r)) W_hr]
///   LSTM: ∂c'/∂h = diag(c ⊙ f(1−f)) W_hf + diag(g ⊙ i(1−i)) W_hi + diag(i ⊙ (1−g²)) W_hg,  ∂c'/∂c = diag(f),
///         ∂h'/∂h = diag(tanh c' ⊙ o(1−o)) W_ho + diag(o ⊙ (1−tanh² c')) ∂c'/∂h,  ∂h'/∂c = diag(o ⊙ (1−tanh² c') ⊙ f)
/// (ĥ_n = W_hn h + b_hn). The states are recomputed in double by running the layer over its
/// input for the chosen row, so the stack's last forward must have used <c>input</c> with
/// zero initial states, full-length rows and no dropout (evaluation mode).
/// </summary>
public static class StepJacobians
{
    /// <summary>
    /// Spectra at the given time steps for layer <paramref name="layer"/> (index l·D + d into
    /// <see cref="RecurrentStack.Layers"/>) and batch row <paramref name="row"/>.
    /// </summary>
    public static IReadOnlyList<StepSpectrum> Compute(RecurrentStack stack, Tensor input, int layer, IReadOnlyList<int> times, int row)
    {
        var jacobians = Jacobians(stack, input, layer, times, row);
        return [.. jacobians.Select(j => new StepSpectrum(j.Time, row, SingularValues.Compute(j.Hidden),
            j.State is null ? null : SingularValues.Compute(j.State)))];
    }

    /// <summary>The Jacobian matrices themselves (see <see cref="Compute"/>), in the order of <paramref name="times"/>.</summary>
    public static IReadOnlyList<(int Time, double[,] Hidden, double[,]? State)> Jacobians(
        RecurrentStack stack, Tensor input, int layer, IReadOnlyList<int> times, int row)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(times);
        if (input.Rank != 3 || input.Dim(2) != stack.Options.InputSize)
            throw new ArgumentException($"Input must be [T, B, {stack.Options.InputSize}]; got {input.ShapeString}.", nameof(input));
        int T = input.Dim(0), B = input.Dim(1), D = stack.Options.Directions;
        if (layer < 0 || layer >= stack.Layers.Count)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Layer index must be in 0..{stack.Layers.Count - 1} (layer·directions + direction).");
        if (row < 0 || row >= B) throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in 0..{B - 1}.");
        foreach (int t in times)
            if (t < 0 || t >= T) throw new ArgumentOutOfRangeException(nameof(times), t, $"Time steps must be in 0..{T - 1}.");

        var cell = stack.Layers[layer];
        int H = cell.HiddenSize, inSize = cell.InputSize, l = layer / D;
        // The layer's input for this row at every time step.
        var x = new double[T][];
        for (int t = 0; t < T; t++)
        {
            x[t] = new double[inSize];
            if (l == 0)
            {
                var src = input.Span.Slice((t * B + row) * inSize, inSize);
                for (int i = 0; i < inSize; i++) x[t][i] = src[i];
            }
            else
            {
                for (int d = 0; d < D; d++)
                {
                    var below = stack.Layers[(l - 1) * D + d].Output;
                    if (below.Length != T * B * H) throw new InvalidOperationException("Run the stack forward on this input before asking for step Jacobians.");
                    var src = below.Span.Slice((t * B + row) * H, H);
                    for (int j = 0; j < H; j++) x[t][d * H + j] = src[j];
                }
            }
        }

        var wanted = new HashSet<int>(times);
        var found = new Dictionary<int, (double[,], double[,]?)>();
        var step = new CellStep(cell);
        var h = new double[H];
        var c = new double[H];
        for (int s = 0; s < T; s++)
        {
            int t = cell.Reverse ? T - 1 - s : s;
            bool want = wanted.Contains(t);
            var (hNext, cNext, jh, js) = step.Run(x[t], h, c, want);
            if (want) found[t] = (jh!, js);
            h = hNext;
            c = cNext;
        }
        return [.. times.Select(t => (t, found[t].Item1, found[t].Item2))];
    }

    /// <summary>One step of a layer's cell in double, with its Jacobian when asked.</summary>
    internal sealed class CellStep
    {
        private readonly RecurrentLayer _layer;
        private readonly double[,] _wIh, _wHh;
        private readonly double[] _bIh, _bHh;
        private readonly int _h, _in, _g;

        public CellStep(RecurrentLayer layer)
        {
            _layer = layer;
            _h = layer.HiddenSize;
            _in = layer.InputSize;
            _g = layer.GateCount;
            _wIh = ToMatrix(layer.WeightIh.Span, _g * _h, _in);
            _wHh = ToMatrix(layer.WeightHh.Span, _g * _h, _h);
            _bIh = layer.BiasIh is null ? new double[_g * _h] : [.. layer.BiasIh.Value.Span.ToArray().Select(v => (double)v)];
            _bHh = layer.BiasHh is null ? new double[_g * _h] : [.. layer.BiasHh.Value.Span.ToArray().Select(v => (double)v)];
        }

        public (double[] H, double[] C, double[,]? Hidden, double[,]? State) Run(double[] x, double[] h, double[] c, bool jacobian)
        {
            int H = _h, G = _g * _h;
            var gx = new double[G];
            var gh = new double[G];
            for (int r = 0; r < G; r++)
            {
                double sx = _bIh[r], sh = _bHh[r];
                for (int i = 0; i < _in; i++) sx += _wIh[r, i] * x[i];
                for (int j = 0; j < H; j++) sh += _wHh[r, j] * h[j];
                gx[r] = sx;
                gh[r] = sh;
            }
            var hNext = new double[H];
            var cNext = new double[H];
            double[,]? jh = jacobian ? new double[H, H] : null;
            double[,]? js = null;
            switch (_layer)
            {
                case RnnLayer rnn:
                    for (int j = 0; j < H; j++)
                    {
                        double a = gx[j] + gh[j];
                        bool tanh = rnn.Activation == RnnActivation.Tanh;
                        hNext[j] = tanh ? Math.Tanh(a) : Math.Max(a, 0);
                        if (jh is null) continue;
                        double slope = tanh ? 1 - hNext[j] * hNext[j] : a > 0 ? 1 : 0;
                        for (int k = 0; k < H; k++) jh[j, k] = slope * _wHh[j, k];
                    }
                    break;
                case LstmLayer:
                    if (jacobian) js = new double[2 * H, 2 * H];
                    for (int j = 0; j < H; j++)
                    {
                        double i = Sigmoid(gx[j] + gh[j]), f = Sigmoid(gx[H + j] + gh[H + j]);
                        double g = Math.Tanh(gx[2 * H + j] + gh[2 * H + j]), o = Sigmoid(gx[3 * H + j] + gh[3 * H + j]);
                        double cj = f * c[j] + i * g, tc = Math.Tanh(cj);
                        cNext[j] = cj;
                        hNext[j] = o * tc;
                        if (js is null) continue;
                        double di = g * i * (1 - i), df = c[j] * f * (1 - f), dg = i * (1 - g * g);
                        double dTanh = o * (1 - tc * tc), dOut = tc * o * (1 - o);
                        for (int k = 0; k < H; k++)
                        {
                            double dcdh = df * _wHh[H + j, k] + di * _wHh[j, k] + dg * _wHh[2 * H + j, k];
                            double dhdh = dOut * _wHh[3 * H + j, k] + dTanh * dcdh;
                            jh![j, k] = dhdh;
                            js[j, k] = dhdh;
                            js[H + j, k] = dcdh;
                        }
                        js[j, H + j] = dTanh * f;      // ∂h'_j/∂c_j
                        js[H + j, H + j] = f;          // ∂c'_j/∂c_j
                    }
                    break;
                case GruLayer:
                    for (int j = 0; j < H; j++)
                    {
                        double r = Sigmoid(gx[j] + gh[j]), z = Sigmoid(gx[H + j] + gh[H + j]);
                        double hn = gh[2 * H + j], n = Math.Tanh(gx[2 * H + j] + r * hn);
                        hNext[j] = (1 - z) * n + z * h[j];
                        if (jh is null) continue;
                        double dz = (h[j] - n) * z * (1 - z), dn = (1 - z) * (1 - n * n);
                        double dr = dn * hn * r * (1 - r);
                        for (int k = 0; k < H; k++)
                            jh[j, k] = dz * _wHh[H + j, k] + dn * r * _wHh[2 * H + j, k] + dr * _wHh[j, k];
                        jh[j, j] += z;
                    }
                    break;
                default:
                    throw new NotSupportedException($"Step Jacobians are not implemented for {_layer.GetType().Name}.");
            }
            return (hNext, cNext, jh, js);
        }

        private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

        private static double[,] ToMatrix(ReadOnlySpan<float> w, int rows, int cols)
        {
            var m = new double[rows, cols];
            for (int r = 0; r < rows; r++)
                for (int k = 0; k < cols; k++) m[r, k] = w[r * cols + k];
            return m;
        }
    }
}
