using System.Globalization;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization;

namespace Recurrent.Tests;

/// <summary>
/// The whole language model (embedding → recurrent stack → decoder → mean cross-entropy) against
/// PyTorch (scripts/make_lm_fixtures.py): logits, loss, final states and every parameter gradient,
/// including a tied embedding/decoder matrix, within 1e-5 relative L2 error.
/// </summary>
public class LanguageModelParityTests
{
    [Theory]
    [InlineData("lm_lstm_tied")]
    [InlineData("lm_lstm_untied")]
    [InlineData("lm_gru")]
    [InlineData("lm_rnn_tanh")]
    public void MatchesPyTorch(string name)
    {
        var file = SafeTensorFile.Load(TestPaths.Fixture($"lm/{name}.safetensors"));
        int Int(string key) => int.Parse(file.Metadata[key], CultureInfo.InvariantCulture);
        var cell = file.Metadata["mode"] switch { "LSTM" => CellType.Lstm, "GRU" => CellType.Gru, _ => CellType.RnnTanh };
        int V = Int("vocabulary"), T = Int("seq_len"), B = Int("batch");
        var config = SequenceModelConfig.LanguageModel(cell, V, Int("embedding"), Int("hidden"), Int("layers"), 0f, file.Metadata["tie"] == "true");
        var model = new SequenceModel(config, new Rng(0));
        foreach (var (paramName, p) in model.NamedParameters) file.GetTensor(paramName).Span.CopyTo(p.Span);
        Assert.Equal(file.Names.Count(n => !n.StartsWith("grad.") && n.Contains('.')), model.NamedParameters.Count);

        var ids = file.GetInt64("ids").Select(v => (int)v).ToArray();
        var targets = file.GetInt64("targets").Select(v => (int)v).ToArray();
        var state = model.NewState(B);
        file.GetTensor("h0").Span.CopyTo(state.H.Span);
        if (state.C is not null) file.GetTensor("c0").Span.CopyTo(state.C.Span);

        var logits = model.Forward(ids, T, B, state);
        Assert.True(RecurrentGradientCheckTests.RelativeError(logits.Span, file.GetFloat64("logits")) <= 1e-5, "logits");
        Assert.True(RecurrentGradientCheckTests.RelativeError(state.H.Span, file.GetFloat64("h_n")) <= 1e-5, "h_n");
        if (state.C is not null) Assert.True(RecurrentGradientCheckTests.RelativeError(state.C.Span, file.GetFloat64("c_n")) <= 1e-5, "c_n");

        model.ZeroGrad();
        var (loss, count) = SoftmaxCrossEntropy.ForwardBackward(logits.Span, targets, V);
        Assert.Equal(T * B, count);
        Assert.Equal(file.GetFloat64("loss")[0], loss, 1e-5);
        model.Backward(logits.Span);
        foreach (var (paramName, p) in model.NamedParameters)
        {
            double err = RecurrentGradientCheckTests.RelativeError(p.GradSpan, file.GetFloat64("grad." + paramName));
            Assert.True(err <= 1e-5, $"{name} grad.{paramName}: relative L2 error {err:E2}");
        }
    }
}
