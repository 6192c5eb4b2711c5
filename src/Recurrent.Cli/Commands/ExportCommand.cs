using System.CommandLine;
using Recurrent.Serialization.Onnx;

namespace Recurrent.Cli.Commands;

/// <summary><c>recurrent export --onnx MODEL OUT.onnx</c>: a trained model as a file other runtimes load.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "A checkpoint (.ckpt) or a training output directory (uses best.ckpt)." };
        var output = new Argument<string>("out") { Description = "The file to write (e.g. model.onnx)." };
        var onnx = new Option<bool>("--onnx") { Description = "Write ONNX (opset 17) for ONNX Runtime: inputs ids or features [time, batch, …], outputs logits or predictions and h_n (c_n)." };
        var lengths = new Option<bool>("--lengths") { Description = "ONNX: add the input 'lengths' (int32 [batch]) for ragged batches (always there for mean and max pooling)." };
        var noState = new Option<bool>("--no-state") { Description = "ONNX: no initial-state inputs h0/c0 (runs start from zeros); the final states stay outputs." };
        var probabilities = new Option<bool>("--probabilities") { Description = "ONNX, classifiers: add the output 'probabilities' (softmax of the logits)." };
        var command = new Command("export", "Export a trained model: ONNX for ONNX Runtime and other ONNX runtimes.") { model, output, onnx, lengths, noState, probabilities };
        command.SetAction(r => CliErrors.Run(() =>
        {
            if (!r.GetValue(onnx)) throw new ArgumentException("Choose the format to write: --onnx.");
            string outPath = r.GetValue(output)!;
            var (checkpoint, sequenceModel, path) = ModelFiles.LoadModel(r.GetValue(model)!);
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
}
