using System.CommandLine;
using System.Text.Json;
using Recurrent.Serialization;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// <c>recurrent import</c>: a PyTorch state dict (safetensors) and its config JSON
/// (scripts/export_torch_model.py) become a checkpoint that sample, next, eval, export and
/// train --init accept.
/// </summary>
public static class ImportCommand
{
    public static Command Create()
    {
        var weights = new Option<string>("--weights") { Description = "The state dict as safetensors (PyTorch names: encoder.weight, rnn.weight_ih_l0, …, decoder.weight, decoder.bias).", Required = true };
        var config = new Option<string>("--config") { Description = "The model config JSON written beside it (cell, hidden_size, num_layers, …).", Required = true };
        var vocabulary = new Option<string?>("--vocabulary") { Description = "Token models: the vocabulary JSON {\"level\": \"char\"|\"word\", \"tokens\": [...]}, token i at index i (needed by sample, next and eval)." };
        var labels = new Option<string?>("--labels") { Description = "Classifiers: a JSON array of class names, class i at index i." };
        var output = new Option<string>("--out", "-o") { Description = "The checkpoint to write (e.g. model.ckpt).", Required = true };
        var command = new Command("import", "Turn a PyTorch model (state dict + config) into a checkpoint.") { weights, config, vocabulary, labels, output };
        command.SetAction(r => CliErrors.Run(() =>
        {
            string weightsPath = r.GetValue(weights)!, configPath = r.GetValue(config)!, outPath = r.GetValue(output)!;
            var result = TorchModel.Import(weightsPath, configPath);
            var model = result.Model;
            var modelConfig = model.Config;
            var metadata = new Dictionary<string, string> { ["source"] = "imported from " + Path.GetFileName(weightsPath) };
            if (r.GetValue(vocabulary) is { } vocabularyPath)
            {
                if (!modelConfig.HasTokens) throw new ArgumentException($"--vocabulary: the model reads features, not tokens.");
                var vocab = Vocabulary.FromJson(ReadText(vocabularyPath, "--vocabulary"));
                if (vocab.Count != modelConfig.VocabularySize)
                    throw new ArgumentException($"--vocabulary '{vocabularyPath}' has {vocab.Count} tokens; the model has {modelConfig.VocabularySize}.");
                metadata["vocabulary"] = vocab.ToJson();
            }
            if (r.GetValue(labels) is { } labelsPath)
            {
                if (!modelConfig.IsClassifier) throw new ArgumentException("--labels: the model is a regression model; it has no classes.");
                string[]? names;
                try { names = JsonSerializer.Deserialize<string[]>(ReadText(labelsPath, "--labels")); }
                catch (JsonException e) { throw new FormatException($"--labels '{labelsPath}' is not a JSON array of strings: {e.Message}"); }
                if (names is null || names.Length != modelConfig.OutputSize || names.Any(n => n is null))
                    throw new ArgumentException($"--labels '{labelsPath}' must hold {modelConfig.OutputSize} class names; it holds {names?.Length ?? 0}.");
                metadata["labels"] = JsonSerializer.Serialize(names);
            }
            new Checkpoint
            {
                Model = modelConfig,
                Metadata = metadata,
                Training = new TrainingOptions(),
                Progress = new TrainingProgressState(),
                Weights = model.StateDict(),
            }.Save(outPath);
            string input = modelConfig.HasTokens ? $"vocabulary {modelConfig.VocabularySize}" : $"{modelConfig.FeatureSize} features";
            Console.WriteLine($"imported {model.NamedParameters.Count + model.NamedBuffers.Count} tensors ({model.ParameterCount:N0} parameters): {modelConfig.Cell} {modelConfig.Layers}x{modelConfig.HiddenSize}" +
                $"{(modelConfig.Bidirectional ? " bidirectional" : "")}, {input}, {modelConfig.Pooling} pooling, {modelConfig.OutputSize} outputs");
            foreach (var note in result.Notes) Console.WriteLine("  note: " + note);
            if (modelConfig.HasTokens && !metadata.ContainsKey("vocabulary"))
                Console.WriteLine("  note: no --vocabulary: sample, next and eval need one");
            Console.WriteLine($"wrote {outPath}");
            return 0;
        }));
        return command;
    }

    private static string ReadText(string path, string option) =>
        File.Exists(path) ? File.ReadAllText(path) : throw new FileNotFoundException($"{option} '{path}' does not exist.", path);
}
