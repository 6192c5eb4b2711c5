using System.CommandLine;
using Recurrent.Serialization;
using Recurrent.Serialization.Onnx;

namespace Recurrent.Cli.Commands;

/// <summary>
/// <c>recurrent export --onnx MODEL OUT.onnx</c>: a trained model as a file other runtimes load;
/// <c>recurrent export --torch MODEL OUT.safetensors</c>: its state dict for PyTorch, with the
/// config (OUT.json) and vocabulary or labels (OUT.vocabulary.json, OUT.labels.json) beside it,
/// as <c>recurrent import</c> and scripts/export_torch_model.py read them.
/// </summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A checkpoint (.ckpt) or a training output directory (uses best.ckpt)." };
        var output = new Argument<string>("out") { Description = "The file to write (model.onnx, or model.safetensors with --torch)." };
        var onnx = new Option<bool>("--onnx") { Description = "Write ONNX (opset 17) for ONNX Runtime: inputs ids or features [time, batch, …], outputs logits or predictions and h_n (c_n)." };
        var torch = new Option<bool>("--torch") { Description = "Write the state dict for PyTorch (safetensors, PyTorch names) and its config OUT.json (+ OUT.vocabulary.json or OUT.labels.json)." };
        var lengths = new Option<bool>("--lengths") { Description = "ONNX: add the input 'lengths' (int32 [batch]) for ragged batches (always there for mean and max pooling)." };
        var noState = new Option<bool>("--no-state") { Description = "ONNX: no initial-state inputs h0/c0 (runs start from zeros); the final states stay outputs." };
        var probabilities = new Option<bool>("--probabilities") { Description = "ONNX, classifiers: add the output 'probabilities' (softmax of the logits)." };
        var command = new Command("export", "Export a trained model: ONNX for ONNX Runtime, or a state dict for PyTorch.") { model, output, onnx, torch, lengths, noState, probabilities };
        command.SetAction(r => CliErrors.Run(() =>
        {
            if (r.GetValue(onnx) == r.GetValue(torch)) throw new ArgumentException("Choose one format to write: --onnx or --torch.");
            string outPath = r.GetValue(output)!;
            var (checkpoint, sequenceModel, path) = ModelFiles.LoadModel(r.GetValue(model)!);
            if (r.GetValue(torch))
            {
                foreach (var onnxOnly in new[] { lengths, noState, probabilities })
                    if (r.GetValue(onnxOnly)) throw new ArgumentException($"{onnxOnly.Name} applies to --onnx only.");
                return ExportTorch(checkpoint, sequenceModel, path, outPath);
            }
            var metadata = checkpoint.Metadata.Where(kv => kv.Key is "vocabulary" or "labels").ToDictionary(kv => kv.Key, kv => kv.Value);
            var options = new OnnxExportOptions(Lengths: r.GetValue(lengths), InitialState: !r.GetValue(noState))
            {
                Probabilities = r.GetValue(probabilities),
                Metadata = metadata,
            };
            if (options.Probabilities && !sequenceModel.Config.IsClassifier) throw new ArgumentException("--probabilities: this model is a regression model; it has no classes.");
            OnnxExport.Save(sequenceModel, outPath, options);
            var config = sequenceModel.Config;
            Console.WriteLine($"wrote {outPath} (ONNX opset {OnnxExport.Opset}) from {path}");
            Console.WriteLine("  inputs:  " + string.Join(", ", OnnxExport.InputNames(config, options)));
            Console.WriteLine("  outputs: " + string.Join(", ", OnnxExport.OutputNames(config, options)));
            return 0;
        }));
        return command;
    }

    private static int ExportTorch(Training.Checkpoint checkpoint, Models.SequenceModel model, string path, string outPath)
    {
        string stem = outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? outPath[..^".safetensors".Length] : outPath;
        var written = new List<string> { outPath, stem + ".json" };
        TorchModel.Export(model, outPath, stem + ".json");
        foreach (var key in new[] { "vocabulary", "labels" })
            if (checkpoint.Metadata.TryGetValue(key, out var json))
            {
                string file = $"{stem}.{key}.json";
                File.WriteAllText(file, json + "\n");
                written.Add(file);
            }
        Console.WriteLine($"wrote {string.Join(", ", written)} from {path}");
        Console.WriteLine($"  {model.NamedParameters.Count + model.NamedBuffers.Count} tensors by PyTorch name: " + string.Join(", ", model.StateDict().Keys));
        return 0;
    }
}
