using System.Text.Json;
using Recurrent.Models;
using Recurrent.Serialization;
using Recurrent.Text;
using Recurrent.Training;
using Xunit.Abstractions;

namespace Recurrent.Tests;

/// <summary>
/// Whole models between PyTorch and Recurrent (tests/fixtures/torch, made by
/// scripts/export_torch_model.py fixtures): PyTorch modules exported and imported here give
/// PyTorch's own outputs, and files Recurrent wrote were loaded strictly into PyTorch modules
/// whose outputs match ours. Relative L2 error ≤ 1e-5 against PyTorch's float64 results.
/// </summary>
public class TorchInteropTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    public static TheoryData<string> Fixtures() =>
        ["rnnmodel_lstm", "rnnmodel_gru_tied", "rnnmodel_rnn_relu", "classifier_lstm_bi", "recurrent_lm_gru", "recurrent_lm_lstm_tied"];

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void ImportedModelGivesPyTorchsOutputs(string name)
    {
        var result = TorchModel.Import(Fixture(name, ".safetensors"), Fixture(name, ".json"));
        var model = result.Model;
        Assert.True(result.Report.IsExact);
        var expected = SafeTensorFile.Load(Fixture(name, ".expected.safetensors"));
        var idsShape = expected.Shape("ids");
        int T = idsShape[0], B = idsShape[1];
        var ids = expected.GetInt64("ids").Select(v => (int)v).ToArray();
        int[]? lengths = expected.Contains("lengths") ? expected.GetInt64("lengths").Select(v => (int)v).ToArray() : null;
        var state = model.NewState(B);
        var predictions = model.Forward(new SequenceBatch(T, B, ids, null, lengths), state).Clone();

        // word_language_model's RNNModel returns log-probabilities [T·B, V]; the classifier its logits [B, K].
        if (model.Config.Pooling == Pooling.None) LogSoftmax(predictions.Span, model.Config.OutputSize);
        Report(name, "output", predictions.Span, expected.GetFloat64("output"));
        Report(name, "h_n", state.H.Span, expected.GetFloat64("h_n"));
        if (state.C is not null) Report(name, "c_n", state.C.Span, expected.GetFloat64("c_n"));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void StateDictNamesAndShapesArePyTorchs(string name)
    {
        // PyTorch's own state_dict (a tied decoder.weight listed too), as the script recorded it.
        var expected = SafeTensorFile.Load(Fixture(name, ".expected.safetensors"));
        var torchState = JsonSerializer.Deserialize<Dictionary<string, int[]>>(expected.Metadata["state_dict"])!;
        var model = TorchModel.Import(Fixture(name, ".safetensors"), Fixture(name, ".json")).Model;
        var ours = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        if (model.Config.TieWeights)
        {
            Assert.Equal(torchState["encoder.weight"], torchState["decoder.weight"]);
            torchState.Remove("decoder.weight");   // the same tensor as encoder.weight, stored once
        }
        Assert.Equal(torchState.Keys.Order(), ours.Keys.Order());
        foreach (var (key, shape) in torchState) Assert.Equal(shape, ours[key]);
        if (name.StartsWith("recurrent_", StringComparison.Ordinal)) Assert.Equal("true", expected.Metadata["loaded_strictly"]);

        // Export writes back exactly the tensors that came in.
        using var dir = new TempDir();
        TorchModel.Export(model, dir.File("again.safetensors"), dir.File("again.json"));
        var original = SafeTensorFile.Load(Fixture(name, ".safetensors"));
        var again = SafeTensorFile.Load(dir.File("again.safetensors"));
        Assert.Equal(original.Names.Order(), again.Names.Order());
        foreach (var tensor in original.Names) Assert.Equal(original.GetFloat32(tensor), again.GetFloat32(tensor));
        Assert.Equal(TorchModel.ReadConfig(Fixture(name, ".json")).ToSequenceModelConfig() with { Fields = null },
            TorchModel.ReadConfig(dir.File("again.json")).ToSequenceModelConfig() with { Fields = null });
    }

    [Fact]
    public void DistributedDataParallelPrefixIsRemoved()
    {
        using var dir = new TempDir();
        var file = SafeTensorFile.Load(Fixture("rnnmodel_lstm", ".safetensors"));
        SafeTensors.Save(dir.File("ddp.safetensors"), file.Names.Select(n => new KeyValuePair<string, Numerics.Tensor>("module." + n, file.GetTensor(n))));
        var result = TorchModel.Import(dir.File("ddp.safetensors"), Fixture("rnnmodel_lstm", ".json"));
        Assert.Contains("removed the prefix 'module.' from every key", result.Notes);
    }

    [Fact]
    public void StrictImportNamesEveryMissingUnexpectedAndMisshapedKey()
    {
        using var dir = new TempDir();
        var file = SafeTensorFile.Load(Fixture("rnnmodel_lstm", ".safetensors"));
        var tensors = file.Names.Where(n => n != "rnn.bias_hh_l1").ToDictionary(n => n == "decoder.bias" ? "decoder.b" : n, file.GetTensor);
        tensors["rnn.weight_hh_l0"] = new Numerics.Tensor(40, 3);
        SafeTensors.Save(dir.File("broken.safetensors"), tensors);
        var e = Assert.Throws<ArgumentException>(() => TorchModel.Import(dir.File("broken.safetensors"), Fixture("rnnmodel_lstm", ".json")));
        Assert.DoesNotContain('\n', e.Message);
        foreach (var part in new[] { "broken.safetensors", "missing: rnn.bias_hh_l1, decoder.bias", "unexpected: decoder.b", "mis-shaped: rnn.weight_hh_l0 [40, 3] (model [40, 10])" })
            Assert.Contains(part, e.Message);
    }

    [Fact]
    public void TiedWeightsThatDifferAreRefused()
    {
        using var dir = new TempDir();
        var file = SafeTensorFile.Load(Fixture("rnnmodel_gru_tied", ".safetensors"));
        var tensors = file.Names.ToDictionary(n => n, file.GetTensor);
        var decoder = file.GetTensor("encoder.weight");
        decoder.Span[0] += 1f;
        tensors["decoder.weight"] = decoder;
        SafeTensors.Save(dir.File("tied.safetensors"), tensors);
        var e = Assert.Throws<ArgumentException>(() => TorchModel.Import(dir.File("tied.safetensors"), Fixture("rnnmodel_gru_tied", ".json")));
        Assert.Contains("decoder.weight differs from encoder.weight", e.Message);
        tensors["decoder.weight"] = file.GetTensor("encoder.weight");
        SafeTensors.Save(dir.File("tied.safetensors"), tensors);
        Assert.Contains("decoder.weight is tied to encoder.weight", TorchModel.Import(dir.File("tied.safetensors"), Fixture("rnnmodel_gru_tied", ".json")).Notes);
    }

    [Theory]
    [InlineData("\"cell\": \"LSTM\"", "\"cell\": \"TRANSFORMER\"", "\"cell\" is \"TRANSFORMER\"; expected one of \"RNN_TANH\", \"RNN_RELU\", \"LSTM\", \"GRU\"")]
    [InlineData("\"pooling\": \"none\"", "\"pooling\": \"first\"", "\"pooling\" is \"first\"")]
    [InlineData("\"hidden_size\": 10", "\"hiden_size\": 10", "hiden_size")]
    [InlineData("\"hidden_size\": 10", "\"hidden_size\": 0", "Hidden size")]
    [InlineData("\"format\": \"recurrent-torch-config\"", "\"format\": \"other\"", "\"format\" is \"other\"")]
    public void ConfigErrorsNameTheKey(string from, string to, string message)
    {
        using var dir = new TempDir();
        string json = File.ReadAllText(Fixture("rnnmodel_lstm", ".json"));
        Assert.Contains(from, json);
        File.WriteAllText(dir.File("bad.json"), json.Replace(from, to));
        var e = Assert.Throws<FormatException>(() => TorchModel.Import(Fixture("rnnmodel_lstm", ".safetensors"), dir.File("bad.json")));
        Assert.Contains("bad.json", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void ImportedCheckpointSamplesNextsEvaluatesAndFineTunes()
    {
        using var dir = new TempDir();
        string ckpt = dir.File("imported.ckpt");
        var r = Cli.Run("import", "--weights", Fixture("rnnmodel_lstm", ".safetensors"), "--config", Fixture("rnnmodel_lstm", ".json"),
            "--vocabulary", Fixture("rnnmodel_lstm", ".vocabulary.json"), "--out", ckpt);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("imported 11 tensors", r.Out);
        var checkpoint = Checkpoint.Load(ckpt);
        Assert.Equal(Vocabulary.FromJson(File.ReadAllText(Fixture("rnnmodel_lstm", ".vocabulary.json"))).Tokens, Vocabulary.FromJson(checkpoint.VocabularyJson).Tokens);

        var sample = Cli.Run("sample", "--model", ckpt, "--prime", "the ", "--length", "20", "--seed", "2");
        Assert.True(sample.ExitCode == 0, sample.Err);
        Assert.StartsWith("the ", sample.Out);
        var next = Cli.Run("next", "--model", ckpt, "to be or not", "--top", "3", "--json");
        Assert.True(next.ExitCode == 0, next.Err);
        string text = string.Concat(Enumerable.Repeat("to be, or not to be: that is the question. ", 30));
        File.WriteAllText(dir.File("text.txt"), text);
        var eval = Cli.Run("eval", "--model", ckpt, "--data", dir.File("text.txt"), "--json");
        Assert.True(eval.ExitCode == 0, eval.Err);
        double before = JsonDocument.Parse(eval.Out).RootElement.GetProperty("cross_entropy").GetDouble();

        var tune = Cli.Run("train", "--init", ckpt, "--data", dir.File("text.txt"), "--epochs", "2", "--batch", "4", "--bptt", "16", "--lr", "0.01",
            "--threads", "1", "--quiet", "--out", dir.File("tuned"));
        Assert.True(tune.ExitCode == 0, tune.Err);
        var after = Cli.Run("eval", "--model", dir.File("tuned"), "--data", dir.File("text.txt"), "--json");
        Assert.True(after.ExitCode == 0, after.Err);
        double tuned = JsonDocument.Parse(after.Out).RootElement.GetProperty("cross_entropy").GetDouble();
        output.WriteLine($"cross-entropy of the imported model {before:F3}, after fine-tuning {tuned:F3} nats/char");
        Assert.True(tuned < before, $"fine-tuning should lower the loss: {before} → {tuned}");
    }

    [Fact]
    public void ImportAndExportTorchRoundTripThroughTheCli()
    {
        using var dir = new TempDir();
        var r = Cli.Run("import", "--weights", Fixture("classifier_lstm_bi", ".safetensors"), "--config", Fixture("classifier_lstm_bi", ".json"),
            "--vocabulary", Fixture("classifier_lstm_bi", ".vocabulary.json"), "--labels", Fixture("classifier_lstm_bi", ".labels.json"), "--out", dir.File("c.ckpt"));
        Assert.True(r.ExitCode == 0, r.Err);
        var back = Cli.Run("export", "--torch", dir.File("c.ckpt"), dir.File("c.safetensors"));
        Assert.True(back.ExitCode == 0, back.Err);
        foreach (var suffix in new[] { ".json", ".vocabulary.json", ".labels.json" }) Assert.True(File.Exists(dir.File("c" + suffix)), suffix);
        Assert.Equal(JsonSerializer.Deserialize<string[]>(File.ReadAllText(Fixture("classifier_lstm_bi", ".labels.json"))),
            JsonSerializer.Deserialize<string[]>(File.ReadAllText(dir.File("c.labels.json"))));
        var original = SafeTensorFile.Load(Fixture("classifier_lstm_bi", ".safetensors"));
        var again = SafeTensorFile.Load(dir.File("c.safetensors"));
        foreach (var tensor in original.Names) Assert.Equal(original.GetFloat32(tensor), again.GetFloat32(tensor));
    }

    [Fact]
    public void ImportErrorsGiveOneLine()
    {
        using var dir = new TempDir();
        string W(string name) => Fixture(name, ".safetensors");
        string C(string name) => Fixture(name, ".json");
        Cli.AssertOneLineError(Cli.Run("import", "--weights", W("rnnmodel_gru_tied"), "--config", C("rnnmodel_lstm"), "--out", dir.File("x.ckpt")),
            "does not fit", "missing: ", "mis-shaped: ");
        Cli.AssertOneLineError(Cli.Run("import", "--weights", dir.File("none.safetensors"), "--config", C("rnnmodel_lstm"), "--out", dir.File("x.ckpt")), "none.safetensors");
        Cli.AssertOneLineError(Cli.Run("import", "--weights", W("rnnmodel_lstm"), "--config", dir.File("none.json"), "--out", dir.File("x.ckpt")), "none.json");
        Cli.AssertOneLineError(Cli.Run("import", "--weights", W("rnnmodel_lstm"), "--config", C("rnnmodel_lstm"), "--vocabulary", Fixture("rnnmodel_gru_tied", ".vocabulary.json"),
            "--out", dir.File("x.ckpt")), "--vocabulary", "17 tokens", "34");
        Cli.AssertOneLineError(Cli.Run("import", "--weights", W("rnnmodel_lstm"), "--config", C("rnnmodel_lstm"), "--labels", Fixture("classifier_lstm_bi", ".labels.json"),
            "--out", dir.File("x.ckpt")), "--labels", "34 class names");
        File.WriteAllText(dir.File("junk.safetensors"), "junk");
        Cli.AssertOneLineError(Cli.Run("import", "--weights", dir.File("junk.safetensors"), "--config", C("rnnmodel_lstm"), "--out", dir.File("x.ckpt")), "junk.safetensors");
        Assert.False(File.Exists(dir.File("x.ckpt")));
        Assert.Equal(2, Cli.Run("import", "--weights", W("rnnmodel_lstm")).ExitCode);
        Cli.AssertOneLineError(Cli.Run("train", "--init", dir.File("none.ckpt"), "--data", C("rnnmodel_lstm"), "--out", dir.File("t")), "none.ckpt");
        Cli.AssertOneLineError(Cli.Run("export", "--torch", "--onnx", dir.File("none.ckpt"), dir.File("x")), "--onnx or --torch");
    }

    private static string Fixture(string name, string suffix) => TestPaths.Fixture($"torch/{name}{suffix}");

    private void Report(string name, string tensor, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double error = RecurrentGradientCheckTests.RelativeError(actual, expected);
        output.WriteLine($"{name} {tensor}: relative L2 error {error:E2}");
        Assert.True(error <= Tolerance, $"{name} {tensor}: relative L2 error {error:E2} > {Tolerance:E0}");
    }

    private static void LogSoftmax(Span<float> logits, int K)
    {
        for (int r = 0; r < logits.Length / K; r++)
        {
            var row = logits.Slice(r * K, K);
            float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            float logSum = max + (float)Math.Log(sum);
            for (int k = 0; k < K; k++) row[k] -= logSum;
        }
    }
}
