using System.Numerics.Tensors;
using Recurrent.Numerics;

namespace Recurrent.Generation;

/// <summary>
/// Draws the next token from logits: softmax with temperature τ, optionally restricted to the k
/// most likely tokens (top-k) and/or the smallest set whose probability reaches p (nucleus, top-p).
/// τ = 0 means greedy (argmax), and so does any τ below float32's smallest normal number
/// (1.18e-38): there 1/τ overflows or loses precision and the softmax would be 0·∞. Reuses its
/// scratch buffers: one Sampler per generation loop.
/// </summary>
public sealed class Sampler
{
    private float[] _probs = [];
    private int[] _order = [];

    /// <summary>Temperatures below this (float32's smallest normal number) sample greedily.</summary>
    public const float GreedyBelow = 1.17549435e-38f;

    /// <summary>τ, which divides the logits before the softmax: below 1 sharpens the distribution, above 1 flattens it; 0 (or below <see cref="GreedyBelow"/>) is greedy.</summary>
    public float Temperature { get; }

    /// <summary>Whether this sampler takes the argmax (τ = 0 or sub-normal).</summary>
    public bool IsGreedy => Temperature < GreedyBelow;
    /// <summary>Sample only among the k most likely tokens (ties by lower id); 0: no limit.</summary>
    public int TopK { get; }
    /// <summary>Nucleus cut: sample only from the smallest set of most likely tokens (within top-k) whose probabilities after temperature add up to at least this; in (0, 1], 1: no cut.</summary>
    public float TopP { get; }

    /// <summary>A sampler with the given temperature, top-k and top-p (the defaults sample from the plain softmax).</summary>
    /// <param name="temperature">τ ≥ 0 (0, or below <see cref="GreedyBelow"/>, = greedy).</param>
    /// <param name="topK">0 = no limit, else keep the k most likely.</param>
    /// <param name="topP">in (0, 1]; 1 = no nucleus cut.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="temperature"/> is negative or not finite, <paramref name="topK"/> is negative, or <paramref name="topP"/> is not in (0, 1].</exception>
    public Sampler(float temperature = 1f, int topK = 0, float topP = 1f)
    {
        if (!(temperature >= 0 && float.IsFinite(temperature))) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Temperature must be a finite number ≥ 0 (0 = greedy).");
        if (topK < 0) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top-k must be ≥ 0 (0 = off).");
        if (!(topP > 0 && topP <= 1)) throw new ArgumentOutOfRangeException(nameof(topP), topP, "top-p must be in (0, 1].");
        Temperature = temperature;
        TopK = topK;
        TopP = topP;
    }

    /// <summary>Draws one token id from <paramref name="logits"/> with this sampler's temperature, top-k and top-p; greedy samplers return the argmax (the first, on ties) without drawing.</summary>
    /// <param name="logits">The unnormalised scores of the V tokens.</param>
    /// <param name="rng">The random generator the draw takes one number from (unused when greedy).</param>
    /// <returns>A token id in 0 … V − 1.</returns>
    /// <exception cref="ArgumentException"><paramref name="logits"/> is empty.</exception>
    public int Sample(ReadOnlySpan<float> logits, Rng rng)
    {
        int V = logits.Length;
        if (V == 0) throw new ArgumentException("No logits to sample from.", nameof(logits));
        if (IsGreedy) return TensorPrimitives.IndexOfMax(logits);
        if (_probs.Length != V) { _probs = new float[V]; _order = new int[V]; }
        var p = _probs.AsSpan();
        Softmax(logits, Temperature, p);
        int n = V;
        var order = _order.AsSpan();
        if (TopK > 0 || TopP < 1)
        {
            for (int i = 0; i < V; i++) order[i] = i;
            var probs = _probs;
            order.Sort((a, b) => probs[b].CompareTo(probs[a]) is var c && c != 0 ? c : a.CompareTo(b));
            if (TopK > 0) n = Math.Min(n, TopK);
            if (TopP < 1)
            {
                double mass = 0;
                for (int i = 0; i < n; i++)
                {
                    mass += p[order[i]];
                    if (mass >= TopP) { n = i + 1; break; }
                }
            }
        }
        else
        {
            for (int i = 0; i < V; i++) order[i] = i;
        }
        double total = 0;
        for (int i = 0; i < n; i++) total += p[order[i]];
        double u = rng.NextDouble() * total, acc = 0;
        for (int i = 0; i < n; i++)
        {
            acc += p[order[i]];
            if (u < acc) return order[i];
        }
        return order[n - 1];
    }

    /// <summary>Softmax of logits/τ into <paramref name="probabilities"/>, max subtracted first.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, float temperature, Span<float> probabilities)
    {
        float max = TensorPrimitives.Max(logits);
        if (temperature < GreedyBelow)
        {
            // The limit τ → 0: all the mass on the most likely token (the first, on ties).
            probabilities.Clear();
            probabilities[TensorPrimitives.IndexOfMax(logits)] = 1f;
            return;
        }
        float inv = 1f / temperature;
        // (x − max)·(1/τ) is 0 for the maximum and ≤ 0 elsewhere; −∞ (an overflow) gives exp = 0, never 0·∞.
        for (int i = 0; i < logits.Length; i++) probabilities[i] = logits[i] == max ? 0f : (logits[i] - max) * inv;
        Numerics.Softmax.Rows(probabilities, probabilities.Length, probabilities);   // the row max is now 0: exact
    }

    /// <summary>The k most likely tokens with their probabilities (τ = 1), most likely first.</summary>
    public static IReadOnlyList<(int Id, double Probability)> TopTokens(ReadOnlySpan<float> logits, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be at least 1.");
        var p = new float[logits.Length];
        Softmax(logits, 1f, p);
        return Enumerable.Range(0, p.Length).OrderByDescending(i => p[i]).ThenBy(i => i).Take(k).Select(i => (i, (double)p[i])).ToList();
    }
}
