using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>
/// The inference forward (<c>keepForBackward: false</c>) against the training forward: the same
/// bits for the output and the final states, on every cell and SIMD level, with ragged lengths,
/// reverse directions, initial states, several layers, and sequences long enough to be cut into
/// chunks (evenly and not); Backward after it throws; and what it allocates grows with T only by
/// the output sequences.
/// </summary>
public class InferenceModeTests
{
    public static TheoryData<CellType, SimdLevel> CellsAndLevels()
    {
        var data = new TheoryData<CellType, SimdLevel>();
        foreach (var cell in Enum.GetValues<CellType>())
            for (var level = SimdLevel.Scalar; level <= Compute.BestAvailable; level++)
                data.Add(cell, level);
        return data;
    }

    /// <summary>(T, B, layers, bidirectional, ragged, initial states, bias): one chunk; chunks of uneven size; batch 1; no bias.</summary>
    private static readonly (int T, int B, int Layers, bool Bidirectional, bool Ragged, bool InitialStates, bool Bias)[] Shapes =
    [
        (5, 3, 2, true, true, true, true),       // T below one chunk: a single projection, as in training
        (61, 40, 2, true, true, true, true),     // 26 steps a chunk → 3 chunks of 20–21 steps
        (150, 1, 1, true, true, false, true),    // batch 1: 64 steps a chunk → 3 chunks of 50 steps
        (70, 5, 2, false, false, false, false),  // no bias, 2 chunks of 35 steps
    ];

    [Theory]
    [MemberData(nameof(CellsAndLevels))]
    public void InferenceForwardGivesTheTrainingForwardsBits(CellType cell, SimdLevel level)
    {
        foreach (var shape in Shapes)
        {
            var rng = new Rng(7);
            var options = new RecurrentOptions(cell, 6, 9, shape.Layers, shape.Bidirectional, Bias: shape.Bias);
            var stack = new RecurrentStack(options, rng) { Compute = new Compute(1, level) };
            int LD = shape.Layers * options.Directions;
            var x = Random(rng, shape.T, shape.B, 6);
            int[]? lengths = shape.Ragged ? RaggedLengths(rng, shape.T, shape.B) : null;
            var h0 = shape.InitialStates ? Random(rng, LD, shape.B, 9) : null;
            var c0 = shape.InitialStates && cell == CellType.Lstm ? Random(rng, LD, shape.B, 9) : null;

            var inference = Copy(stack.Forward(x, lengths, h0, c0, keepForBackward: false));
            Assert.False(stack.KeepsForBackward);
            var training = Copy(stack.Forward(x, lengths, h0, c0));
            Assert.True(stack.KeepsForBackward);
            string what = $"{cell} {level} T={shape.T} B={shape.B}";
            Assert.True(training.Output.AsSpan().SequenceEqual(inference.Output), what + ": output differs");
            Assert.True(training.HN.AsSpan().SequenceEqual(inference.HN), what + ": h_n differs");
            if (cell == CellType.Lstm) Assert.True(training.CN.AsSpan().SequenceEqual(inference.CN), what + ": c_n differs");
        }
    }

    [Fact]
    public void TwoThreadsGiveTheSameBits()
    {
        var rng = new Rng(3);
        var stack = new RecurrentStack(new RecurrentOptions(CellType.Lstm, 24, 64, 2, true), rng) { Compute = new Compute(2) };
        var x = Random(rng, 90, 16, 24);
        int[] lengths = RaggedLengths(rng, 90, 16);
        var inference = Copy(stack.Forward(x, lengths, keepForBackward: false));
        var training = Copy(stack.Forward(x, lengths));
        Assert.Equal(training.Output, inference.Output);
        Assert.Equal(training.HN, inference.HN);
        Assert.Equal(training.CN, inference.CN);
    }

    [Fact]
    public void BackwardAfterAnInferenceForwardThrows()
    {
        var rng = new Rng(1);
        var stack = new RecurrentStack(new RecurrentOptions(CellType.Gru, 3, 4, 2), rng);
        var x = Random(rng, 6, 2, 3);
        var dOut = Random(rng, 6, 2, 4);
        stack.Forward(x);
        stack.Backward(dOut);   // a training forward first: its activations are not what the next Backward may use
        stack.Forward(x, keepForBackward: false);
        var error = Assert.Throws<InvalidOperationException>(() => stack.Backward(dOut));
        Assert.Contains("keepForBackward: false", error.Message);
        Assert.Throws<InvalidOperationException>(() => stack.Layers[0].Backward(new float[6 * 2 * 4], default, default));
        stack.Forward(x);
        stack.Backward(dOut);   // and a training forward makes it usable again
    }

    [Fact]
    public void LanguageModelInferenceGivesTheSameLogitsAndRefusesBackward()
    {
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, 11, 5, 8, 2), new Rng(4));
        var rng = new Rng(5);
        const int T = 40, B = 3;
        var ids = new int[T * B];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(11);
        var inferState = model.NewState(B);
        var inference = model.Forward(ids, T, B, inferState, keepForBackward: false).Span.ToArray();
        Assert.Throws<InvalidOperationException>(() => model.Backward(new float[T * B * 11]));
        var trainState = model.NewState(B);
        var training = model.Forward(ids, T, B, trainState).Span.ToArray();
        Assert.Equal(training, inference);
        Assert.Equal(trainState.H.Span.ToArray(), inferState.H.Span.ToArray());
        Assert.Equal(trainState.C!.Span.ToArray(), inferState.C!.Span.ToArray());
    }

    /// <summary>
    /// Twice the steps cost a fresh stack's inference forward only the longer output sequences (each
    /// layer's [T, B, H] per direction and the stack's [T, B, D·H] per layer), where the training
    /// forward also keeps every step's gates and states.
    /// </summary>
    [Fact]
    public void InferenceMemoryGrowsWithTOnlyByTheOutputs()
    {
        const int B = 4, H = 32, L = 2, D = 2, T = 256;
        long Allocated(int t, bool keep)
        {
            var rng = new Rng(2);
            var stack = new RecurrentStack(new RecurrentOptions(CellType.Lstm, 16, H, L, D == 2), rng);
            var x = Random(rng, t, B, 16);
            long before = GC.GetAllocatedBytesForCurrentThread();
            stack.Forward(x, keepForBackward: keep);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Allocated(T, false);   // first use: GEMM scratch and the JIT's own allocations
        long inferenceGrowth = Allocated(2 * T, false) - Allocated(T, false);
        long trainingGrowth = Allocated(2 * T, true) - Allocated(T, true);
        long outputs = (long)T * B * H * sizeof(float) * (L * D + L * D);
        Assert.InRange(inferenceGrowth, 0, outputs + 4096);
        Assert.True(trainingGrowth > 4 * outputs, $"training forward grew by {trainingGrowth} bytes, expected far more than {outputs}");
    }

    private sealed record Result(float[] Output, float[] HN, float[]? CN);

    private static Result Copy(RecurrentResult r) => new(r.Output.Span.ToArray(), r.HN.Span.ToArray(), r.CN?.Span.ToArray());

    /// <summary>Lengths in 1..T with at least one row of full length and one shorter (when B &gt; 1).</summary>
    private static int[] RaggedLengths(Rng rng, int T, int B)
    {
        var lengths = new int[B];
        for (int b = 0; b < B; b++) lengths[b] = 1 + rng.NextInt(T);
        lengths[0] = T;
        if (B > 1) lengths[B - 1] = Math.Max(1, T / 3);
        return lengths;
    }

    private static Tensor Random(Rng rng, params int[] shape)
    {
        var t = new Tensor(shape);
        rng.FillUniform(t.Span, -1f, 1f);
        return t;
    }
}
