using Microsoft.ML.OnnxRuntime;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary><c>recurrent export</c>: the files it writes run in ONNX Runtime and give the checkpoint's own outputs.</summary>
public partial class CliTests
{
    [Fact]
    public void ExportOnnxOfATrainedLanguageModelRunsInOnnxRuntime()
    {
        string onnx = run.Dir.File("lm.onnx");
        var r = Cli.Run("export", "--onnx", run.Out, onnx, "--lengths");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("inputs:  ids, lengths, h0", r.Out);
        Assert.Contains("outputs: logits, h_n", r.Out);

        var checkpoint = Checkpoint.Load(Path.Combine(run.Out, Trainer.BestFile));
        var model = checkpoint.CreateModel("best.ckpt");
        var vocabulary = Vocabulary.FromJson(checkpoint.VocabularyJson);
        int[] lengths = [9, 4];
        var batch = SequenceBatch.FromTokens([vocabulary.Encode("to be or "), vocabulary.Encode("that")]);
        var expected = model.Forward(batch).Span.ToArray();

        using var session = new InferenceSession(onnx);
        Assert.Equal(checkpoint.VocabularyJson, session.ModelMetadata.CustomMetadataMap["vocabulary"]);
        int T = batch.Steps, B = batch.Size, H = model.Config.HiddenSize;
        var inputs = new Dictionary<string, OrtValue>
        {
            ["ids"] = OrtValue.CreateTensorValueFromMemory(batch.Ids!.Select(id => (long)id).ToArray(), [T, B]),
            ["lengths"] = OrtValue.CreateTensorValueFromMemory(lengths, [B]),
            ["h0"] = OrtValue.CreateTensorValueFromMemory(new float[model.Config.Layers * B * H], [model.Config.Layers, B, H]),
        };
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, inputs, ["logits"]);
        AssertRelativelyClose(expected, outputs[0].GetTensorDataAsSpan<float>().ToArray());
        foreach (var value in inputs.Values) value.Dispose();
    }

    [Fact]
    public void ExportOnnxOfAPooledClassifierWithoutState()
    {
        var config = new SequenceModelConfig
        {
            Cell = CellType.Lstm, HiddenSize = 6, Layers = 2, Bidirectional = true, FeatureSize = 3,
            Pooling = Pooling.Max, OutputSize = 3, Loss = LossKind.CrossEntropy,
        };
        var model = new SequenceModel(config, new Rng(5));
        new Rng(6).FillUniform(model.InputMean!.Span, -1f, 1f);
        string ckpt = run.Dir.File("classifier.ckpt");
        new Checkpoint
        {
            Model = config, Training = new TrainingOptions(), Progress = new TrainingProgressState(), Weights = model.StateDict(),
            Metadata = new Dictionary<string, string> { ["labels"] = "[\"low\",\"mid\",\"high\"]" },
        }.Save(ckpt);
        string onnx = run.Dir.File("classifier.onnx");
        var r = Cli.Run("export", "--onnx", ckpt, onnx, "--no-state", "--probabilities");
        Assert.True(r.ExitCode == 0, r.Err);

        float[][] sequences = [[0.1f, 0.2f, 0.3f, 1f, 2f, 3f, -1f, 0f, 1f], [5f, 4f, 3f]];
        var batch = SequenceBatch.FromFeatures(sequences, 3);
        var expected = model.Forward(batch).Span.ToArray();
        using var session = new InferenceSession(onnx);
        Assert.Equal(["features", "lengths"], session.InputNames);
        Assert.Equal(["logits", "probabilities", "h_n", "c_n"], session.OutputNames);
        Assert.Equal("[\"low\",\"mid\",\"high\"]", session.ModelMetadata.CustomMetadataMap["labels"]);
        var inputs = new Dictionary<string, OrtValue>
        {
            ["features"] = OrtValue.CreateTensorValueFromMemory(batch.Features!.Span.ToArray(), [batch.Steps, 2, 3]),
            ["lengths"] = OrtValue.CreateTensorValueFromMemory(batch.Lengths!.ToArray(), [2]),
        };
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, inputs, ["logits", "probabilities"]);
        AssertRelativelyClose(expected, outputs[0].GetTensorDataAsSpan<float>().ToArray());
        var probabilities = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(1.0, probabilities[..3].Sum(), 5);
        foreach (var value in inputs.Values) value.Dispose();
    }

    [Fact]
    public void ExportErrorsGiveOneLine()
    {
        Cli.AssertOneLineError(Cli.Run("export", run.Out, run.Dir.File("x.onnx")), "--onnx");
        Cli.AssertOneLineError(Cli.Run("export", "--onnx", run.Dir.File("missing.ckpt"), run.Dir.File("x.onnx")), "missing.ckpt", "does not exist");
        Cli.AssertOneLineError(Cli.Run("export", "--onnx", run.Out, Path.Combine(run.Dir.File("no-such-folder"), "x.onnx")), "no-such-folder");
        Cli.AssertOneLineError(Cli.Run("export", "--onnx", run.Out, run.Dir.File("x.onnx"), "--probabilities", "--bogus"), "--bogus");
        File.WriteAllText(run.Dir.File("junk.ckpt"), "not a checkpoint");
        Cli.AssertOneLineError(Cli.Run("export", "--onnx", run.Dir.File("junk.ckpt"), run.Dir.File("x.onnx")), "junk.ckpt");
        Assert.False(File.Exists(run.Dir.File("x.onnx")));
        Assert.Equal(2, Cli.Run("export", "--onnx").ExitCode);
    }

    private static void AssertRelativelyClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            diff += ((double)actual[i] - expected[i]) * ((double)actual[i] - expected[i]);
            norm += (double)expected[i] * expected[i];
        }
        Assert.True(Math.Sqrt(diff) <= 1e-5 * Math.Sqrt(norm), $"relative error {Math.Sqrt(diff / norm):E2}");
    }
}
