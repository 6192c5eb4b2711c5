using System.Text.Json;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>Draws loss.png (training and validation loss against step) from a run's metrics.jsonl.</summary>
public static class LossPlot
{
    public const string FileName = "loss.png";

    /// <param name="runDirectory">The run's output directory.</param>
    /// <param name="yLabel">What the loss is.</param>
    public static void Write(string runDirectory, string yLabel = "cross-entropy (nats/token)")
    {
        var metrics = Path.Combine(runDirectory, Trainer.MetricsFile);
        if (!File.Exists(metrics)) return;
        var steps = new List<double>();
        var train = new List<double>();
        var valid = new List<double>();
        foreach (var line in File.ReadLines(metrics))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            double step = root.GetProperty("step").GetDouble();
            steps.Add(step);
            train.Add(Number(root, "train_loss"));
            valid.Add(Number(root, "valid_loss"));
        }
        if (steps.Count == 0) return;
        new LineChart("Loss", "training step", yLabel)
            .Add(new Series("train", steps, train))
            .Add(new Series("validation", steps, valid))
            .SavePng(Path.Combine(runDirectory, FileName));
    }

    /// <summary>A metric that may be missing or null (non-finite values are written as null).</summary>
    private static double Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
}
