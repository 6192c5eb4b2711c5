using System.Text.Json;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>Draws loss.png (training and validation loss against step) from a run's metrics.jsonl.</summary>
public static class LossPlot
{
    public const string FileName = "loss.png";

    public static void Write(string runDirectory)
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
            train.Add(root.TryGetProperty("train_loss", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetDouble() : double.NaN);
            valid.Add(root.GetProperty("valid_loss").GetDouble());
        }
        if (steps.Count == 0) return;
        new LineChart("Loss", "training step", "cross-entropy (nats/token)")
            .Add(new Series("train", steps, train))
            .Add(new Series("validation", steps, valid))
            .SavePng(Path.Combine(runDirectory, FileName));
    }
}
