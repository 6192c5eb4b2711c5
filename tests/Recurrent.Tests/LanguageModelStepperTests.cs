using Recurrent.Generation;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;

namespace Recurrent.Tests;

/// <summary>The batch-1 stepper computes the same function as the general sequence forward.</summary>
public class LanguageModelStepperTests
{
    [Theory]
    [InlineData(CellType.Lstm, 7, 2, SimdLevel.Avx512)]      // small vocabulary: layer-0 table
    [InlineData(CellType.Lstm, 3000, 2, SimdLevel.Avx512)]   // V·4H over the limit: W_ih0 read per token
    [InlineData(CellType.Gru, 7, 2, SimdLevel.Avx512)]
    [InlineData(CellType.Gru, 3000, 1, SimdLevel.Avx512)]
    [InlineData(CellType.RnnTanh, 7, 3, SimdLevel.Avx512)]
    [InlineData(CellType.RnnRelu, 4000, 2, SimdLevel.Avx512)]
    [InlineData(CellType.Lstm, 7, 2, SimdLevel.Scalar)]
    [InlineData(CellType.Gru, 7, 2, SimdLevel.Avx2)]
    [InlineData(CellType.Lstm, 3000, 1, SimdLevel.Vector)]
    public void StepMatchesSequenceForward(CellType cell, int V, int layers, SimdLevel simd)
    {
        if (simd > Compute.BestAvailable) simd = Compute.BestAvailable;
        const int E = 19, H = 90, T = 9;   // sizes that are not multiples of any vector width
        var rng = new Rng(5);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(cell, V, E, H, layers), rng) { Compute = new Compute(1, simd) };
        foreach (var (_, p) in model.NamedParameters) rng.FillUniform(p.Span, -0.3f, 0.3f);
        var ids = new int[T];
        for (int t = 0; t < T; t++) ids[t] = rng.NextInt(V);

        var state = model.NewState(1);
        var expected = model.Forward(ids, T, 1, state).Span.ToArray();
        var stepper = new LanguageModelStepper(model);
        Assert.Equal((long)V * H * (cell == CellType.Lstm ? 4 : cell == CellType.Gru ? 3 : 1) <= LanguageModelStepper.TableLimit, stepper.UsesTable);
        for (int t = 0; t < T; t++)
        {
            var logits = stepper.Step(ids[t]);
            for (int v = 0; v < V; v++) Assert.Equal(expected[t * V + v], logits[v], 2e-5f);
        }
        var final = model.NewState(1);
        stepper.GetState(final);
        for (int i = 0; i < final.H.Length; i++) Assert.Equal(state.H.Span[i], final.H.Span[i], 2e-5f);
        for (int i = 0; i < (final.C?.Length ?? 0); i++) Assert.Equal(state.C!.Span[i], final.C!.Span[i], 2e-5f);
    }

    [Theory]
    [InlineData(CellType.Lstm, 70)]
    [InlineData(CellType.Lstm, 5000)]
    [InlineData(CellType.Gru, 70)]
    [InlineData(CellType.RnnTanh, 3000)]
    public void TwoThreadsGiveTheSameBitsAsOne(CellType cell, int V)
    {
        const int E = 37, H = 250, T = 6;   // big enough that layers and the decoder split into bands
        var rng = new Rng(9);
        var config = SequenceModelConfig.LanguageModel(cell, V, E, H, 2);
        var one = new SequenceModel(config, new Rng(4)) { Compute = new Compute(1) };
        var two = new SequenceModel(config, new Rng(4)) { Compute = new Compute(2) };
        var ids = new int[T];
        for (int t = 0; t < T; t++) ids[t] = rng.NextInt(V);
        var state = one.NewState(1);
        var expected = one.Forward(ids, T, 1, state).Span.ToArray();
        var a = new LanguageModelStepper(one);
        var b = new LanguageModelStepper(two);
        for (int t = 0; t < T; t++)
        {
            var la = a.Step(ids[t]).ToArray();
            var lb = b.Step(ids[t]).ToArray();
            Assert.Equal(la, lb);
            for (int v = 0; v < V; v++) Assert.Equal(expected[t * V + v], la[v], 2e-5f);
        }
    }

    [Fact]
    public void RefreshPicksUpChangedWeightsAndStateRoundTrips()
    {
        var rng = new Rng(8);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, 11, 6, 16, 2), rng);
        var stepper = new LanguageModelStepper(model);
        rng.FillUniform(model.Encoder!.Weight.Span, -1f, 1f);
        rng.FillUniform(model.Rnn.Layers[0].BiasIh!.Span, -1f, 1f);
        stepper.Refresh();
        int[] ids = [3, 1, 4, 1, 5];
        var state = model.NewState(1);
        var expected = model.Forward(ids, ids.Length, 1, state).Span[(4 * 11)..].ToArray();
        stepper.Reset();
        var logits = stepper.Prime(ids).ToArray();
        for (int v = 0; v < 11; v++) Assert.Equal(expected[v], logits[v], 1e-5f);

        // Continuing from a state set from the general path gives the general path's next logits.
        var next = model.Forward([9], 1, 1, state).Span.ToArray();
        stepper.Reset();
        model.Forward(ids, ids.Length, 1, state = model.NewState(1));
        stepper.SetState(state);
        logits = stepper.Step(9).ToArray();
        for (int v = 0; v < 11; v++) Assert.Equal(next[v], logits[v], 1e-5f);
    }

    [Fact]
    public void GeneratorSamplesWhatTheSequenceForwardWouldGive()
    {
        var rng = new Rng(21);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Gru, 5, 4, 12, 2), rng);
        foreach (var (_, p) in model.NamedParameters) rng.FillUniform(p.Span, -1f, 1f);
        var vocabulary = new CharVocabulary(["\n", "a", "b", "c", "d"]);
        var generator = new TextGenerator(model, vocabulary);
        string text = string.Concat(generator.Generate("ab", 30, new Sampler(0f), new Rng(1)));

        // Greedy decoding through the general forward, one token at a time.
        var state = model.NewState(1);
        var logits = model.Forward([1, 2], 2, 1, state).Span[5..].ToArray();
        var expected = new System.Text.StringBuilder();
        for (int i = 0; i < 30; i++)
        {
            int next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
            expected.Append(vocabulary.Render(next));
            logits = model.Forward([next], 1, 1, state).Span.ToArray();
        }
        Assert.Equal(expected.ToString(), text);
    }
}
