using System.Globalization;
using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Cli.Serve;

/// <summary>One point of the training curve (a line of metrics.jsonl).</summary>
public sealed record CurvePoint(long Step, int Epoch, double? TrainLoss, double? ValidLoss, double? ElapsedSeconds);

/// <summary>
/// What the model card shows: the shape, the size, the vocabulary, how it was trained (the
/// checkpoint's options and progress, the command that trained it) and the training curve from
/// the metrics.jsonl beside the checkpoint.
/// </summary>
public sealed record ModelCard
{
    public required string Name { get; init; }
    public string? Checkpoint { get; init; }
    public required string Cell { get; init; }
    public required int Layers { get; init; }
    public required int Directions { get; init; }
    public required int HiddenSize { get; init; }
    public required int EmbeddingSize { get; init; }
    public required float Dropout { get; init; }
    public required bool Tied { get; init; }
    public required long Parameters { get; init; }
    public required IReadOnlyList<string> GateNames { get; init; }
    public required string VocabularyLevel { get; init; }
    public required int VocabularySize { get; init; }
    /// <summary>The tokens (at most <see cref="ShownTokens"/>), in id order.</summary>
    public required IReadOnlyList<string> VocabularyTokens { get; init; }
    public JsonElement? Training { get; init; }
    public TrainingProgressState? Progress { get; init; }
    /// <summary>The best validation loss in nats per token (null when unknown).</summary>
    public double? ValidLoss { get; init; }
    public IReadOnlyList<CurvePoint> Curve { get; init; } = [];
    /// <summary>The command that trained the model: as typed when the checkpoint recorded it, else rebuilt from its options.</summary>
    public string? Command { get; init; }
    public bool CommandRecorded { get; init; }
    public string? Reference { get; init; }
    public int ReferenceTokens { get; init; }
    public ServeLimits? Limits { get; init; }

    public const int ShownTokens = 500;
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private const int MaxCurvePoints = 2000;

    /// <summary>The card of <paramref name="model"/>; <paramref name="checkpoint"/> and its path add the training side.</summary>
    public static ModelCard Create(string name, SequenceModel model, Vocabulary vocabulary, Checkpoint? checkpoint = null, string? checkpointPath = null)
    {
        var c = model.Config;
        var recorded = checkpoint?.Metadata.GetValueOrDefault("command");
        double? valid = checkpoint is { Progress.BestValidLoss: var best } && double.IsFinite(best) ? best : null;
        return new ModelCard
        {
            Name = name,
            Checkpoint = checkpointPath is null ? null : Path.GetFileName(checkpointPath),
            Cell = CellName(c.Cell),
            Layers = c.Layers,
            Directions = c.Directions,
            HiddenSize = c.HiddenSize,
            EmbeddingSize = c.EmbeddingSize,
            Dropout = c.Dropout,
            Tied = c.TieWeights,
            Parameters = model.ParameterCount,
            GateNames = Diagnostics.ModelInspector.GateNamesOf(c.Cell),
            VocabularyLevel = vocabulary.Level == TokenLevel.Char ? "char" : "word",
            VocabularySize = vocabulary.Count,
            VocabularyTokens = vocabulary.Tokens.Take(ShownTokens).ToList(),
            Training = checkpoint is null ? null : JsonSerializer.SerializeToElement(checkpoint.Training, SnakeCase),
            Progress = checkpoint?.Progress,
            ValidLoss = valid,
            Curve = checkpointPath is null ? [] : ReadCurve(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!, Trainer.MetricsFile)),
            Command = recorded ?? (checkpoint is null ? null : RebuildCommand(c, checkpoint.Training, vocabulary)),
            CommandRecorded = recorded is not null,
        };
    }

    /// <summary>The CLI's name of a cell (what <c>--cell</c> takes).</summary>
    public static string CellName(CellType cell) => cell switch
    {
        CellType.Lstm => "lstm",
        CellType.Gru => "gru",
        CellType.RnnRelu => "rnn-relu",
        _ => "rnn",
    };

    /// <summary>The metrics.jsonl curve (lines that do not parse are skipped; long curves are thinned to at most 2000 points).</summary>
    public static IReadOnlyList<CurvePoint> ReadCurve(string path)
    {
        if (!File.Exists(path)) return [];
        var points = new List<CurvePoint>();
        foreach (var line in File.ReadLines(path))
        {
            try
            {
                var e = JsonDocument.Parse(line).RootElement;
                points.Add(new CurvePoint(e.GetProperty("step").GetInt64(), e.TryGetProperty("epoch", out var ep) ? ep.GetInt32() : 0,
                    Number(e, "train_loss"), Number(e, "valid_loss"), Number(e, "elapsed_seconds")));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException) { }
        }
        if (points.Count <= MaxCurvePoints) return points;
        int every = (points.Count + MaxCurvePoints - 1) / MaxCurvePoints;
        return points.Where((_, i) => i % every == 0 || i == points.Count - 1).ToList();
    }

    private static double? Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    /// <summary>A <c>recurrent train</c> command with this model's shape and options (the data file is not in older checkpoints: DATA).</summary>
    private static string RebuildCommand(SequenceModelConfig c, TrainingOptions o, Vocabulary vocabulary)
    {
        static string F(float v) => v.ToString(CultureInfo.InvariantCulture);
        var parts = new List<string>
        {
            "recurrent train --data DATA", "--level " + (vocabulary.Level == TokenLevel.Char ? "char" : "word"),
            "--cell " + CellName(c.Cell), $"--layers {c.Layers}", $"--hidden {c.HiddenSize}", $"--embed {c.EmbeddingSize}",
            "--dropout " + F(c.Dropout), $"--batch {o.Batch}", $"--bptt {o.Bptt}", "--lr " + F(o.LearningRate),
            "--optimizer " + o.Optimizer.ToString().ToLowerInvariant(), "--clip " + F(o.ClipNorm), $"--epochs {o.Epochs}",
        };
        if (c.TieWeights) parts.Add("--tie");
        if (o.MaxMinutes > 0) parts.Add("--minutes " + o.MaxMinutes.ToString(CultureInfo.InvariantCulture));
        if (o.Schedule != ScheduleKind.Constant) parts.Add("--schedule " + o.Schedule.ToString().ToLowerInvariant());
        if (o.EvalEvery > 0) parts.Add($"--eval-every {o.EvalEvery}");
        parts.Add($"--seed {o.Seed}");
        parts.Add($"--threads {o.Threads}");
        return string.Join(' ', parts);
    }
}
