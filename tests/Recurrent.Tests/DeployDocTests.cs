using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Recurrent.Generation;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>
/// docs/DEPLOY.md's C# code, run as written: its code block must equal the region between the
/// markers below, and that code, serving a model exported with the documented command in ONNX
/// Runtime, must produce what Recurrent itself produces.
/// </summary>
public class DeployDocTests
{
    private const string Begin = "// ---- docs/DEPLOY.md, from here ----";
    private const string End = "// ---- to here ----";

    // ---- docs/DEPLOY.md, from here ----
    // Streams a language model exported with `recurrent export --onnx run lm.onnx --lengths`: the prime
    // goes in one run, then one token per run, the state carried from h_n (c_n) to h0 (c0).
    static string Generate(string modelPath, string prime, int length)
    {
        using var session = new InferenceSession(modelPath);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        string[] tokens = JsonDocument.Parse(metadata["vocabulary"]).RootElement.GetProperty("tokens")
            .EnumerateArray().Select(t => t.GetString()!).ToArray();
        int layers = int.Parse(metadata["num_layers"]), hidden = int.Parse(metadata["hidden_size"]);
        bool lstm = metadata["cell"] == "LSTM";
        var h = new float[layers * hidden];   // zeros: a fresh start
        var c = new float[layers * hidden];
        long[] ids = prime.EnumerateRunes().Select(r => (long)Array.IndexOf(tokens, r.ToString())).ToArray();
        var text = new StringBuilder(prime);
        using var run = new RunOptions();
        for (int step = 0; step < length; step++)
        {
            var inputs = new Dictionary<string, OrtValue>
            {
                ["ids"] = OrtValue.CreateTensorValueFromMemory(ids, [ids.Length, 1]),   // [time, batch]
                ["lengths"] = OrtValue.CreateTensorValueFromMemory(new[] { ids.Length }, [1]),
                ["h0"] = OrtValue.CreateTensorValueFromMemory(h, [layers, 1, hidden]),
            };
            if (lstm) inputs["c0"] = OrtValue.CreateTensorValueFromMemory(c, [layers, 1, hidden]);
            using var outputs = session.Run(run, inputs, session.OutputNames);   // logits, h_n (, c_n)
            var last = outputs[0].GetTensorDataAsSpan<float>()[^tokens.Length..];  // the last step's logits
            int next = 0;                                                           // greedy; sample softmax(last / T) for variety
            for (int k = 1; k < last.Length; k++) if (last[k] > last[next]) next = k;
            h = outputs[1].GetTensorDataAsSpan<float>().ToArray();
            if (lstm) c = outputs[2].GetTensorDataAsSpan<float>().ToArray();
            foreach (var value in inputs.Values) value.Dispose();
            text.Append(tokens[next]);
            ids = [next];
        }
        return text.ToString();
    }

    // A ragged batch in one run: texts padded to the longest, `lengths` saying where each ends.
    // Returns each text's most likely next token, read at its own last step.
    static string[] NextTokens(string modelPath, string[] texts)
    {
        using var session = new InferenceSession(modelPath);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        string[] tokens = JsonDocument.Parse(metadata["vocabulary"]).RootElement.GetProperty("tokens")
            .EnumerateArray().Select(t => t.GetString()!).ToArray();
        int layers = int.Parse(metadata["num_layers"]), hidden = int.Parse(metadata["hidden_size"]);
        int[][] sequences = texts.Select(t => t.EnumerateRunes().Select(r => Array.IndexOf(tokens, r.ToString())).ToArray()).ToArray();
        int B = texts.Length, T = sequences.Max(s => s.Length), V = tokens.Length;
        var ids = new long[T * B];                     // time-major: step t of text b at t·B + b; padding 0
        for (int b = 0; b < B; b++)
            for (int t = 0; t < sequences[b].Length; t++) ids[t * B + b] = sequences[b][t];
        var inputs = new Dictionary<string, OrtValue>
        {
            ["ids"] = OrtValue.CreateTensorValueFromMemory(ids, [T, B]),
            ["lengths"] = OrtValue.CreateTensorValueFromMemory(sequences.Select(s => s.Length).ToArray(), [B]),
            ["h0"] = OrtValue.CreateTensorValueFromMemory(new float[layers * B * hidden], [layers, B, hidden]),
        };
        if (metadata["cell"] == "LSTM") inputs["c0"] = OrtValue.CreateTensorValueFromMemory(new float[layers * B * hidden], [layers, B, hidden]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, inputs, ["logits"]);
        var logits = outputs[0].GetTensorDataAsSpan<float>();   // [T, B, V]
        var result = new string[B];
        for (int b = 0; b < B; b++)
        {
            var row = logits.Slice(((sequences[b].Length - 1) * B + b) * V, V);
            int best = 0;
            for (int k = 1; k < V; k++) if (row[k] > row[best]) best = k;
            result[b] = tokens[best];
        }
        foreach (var value in inputs.Values) value.Dispose();
        return result;
    }
    // ---- to here ----

    [Fact]
    public void TheDeployDocShowsTheCodeThisTestRuns()
    {
        var blocks = DocCode.CsharpBlocks(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "DEPLOY.md")));
        Assert.True(blocks.Count > 0, "docs/DEPLOY.md has no ```csharp block");
        string source = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "Recurrent.Tests", "DeployDocTests.cs"));
        Assert.Equal(DocCode.Regions(source, Begin, End).Single(), blocks[0]);
    }

    [Theory]
    [InlineData(CellType.Lstm)]
    [InlineData(CellType.Gru)]
    public void TheDeployDocCodeServesAnExportedModelAsRecurrentDoes(CellType cell)
    {
        using var dir = new TempDir();
        var vocabulary = CharVocabulary.Build("abcdefghijklmnopqrstuvwxyz .,");
        var config = SequenceModelConfig.LanguageModel(cell, vocabulary.Count, 12, 16, layers: 2);
        var rng = new Rng(8);
        var model = new SequenceModel(config, rng);
        foreach (var (_, p) in model.NamedParameters) rng.FillUniform(p.Span, -0.6f, 0.6f);
        new Checkpoint
        {
            Model = config, Training = new TrainingOptions(), Progress = new TrainingProgressState(), Weights = model.StateDict(),
            Metadata = new Dictionary<string, string> { ["vocabulary"] = vocabulary.ToJson() },
        }.Save(dir.File("best.ckpt"));
        var export = Cli.Run("export", "--onnx", dir.Path, dir.File("lm.onnx"), "--lengths");
        Assert.True(export.ExitCode == 0, export.Err);

        var generator = new TextGenerator(model, vocabulary);
        string expected = "the cat " + string.Concat(generator.Generate("the cat ", 30, new Sampler(temperature: 0f), new Rng(1)));
        Assert.Equal(expected, Generate(dir.File("lm.onnx"), "the cat ", 30));

        string[] texts = ["a", "hello wor", "the quick brown fo", "xy"];
        Assert.Equal(texts.Select(t => generator.NextTokens(t, 1)[0].Token), NextTokens(dir.File("lm.onnx"), texts));
    }
}
