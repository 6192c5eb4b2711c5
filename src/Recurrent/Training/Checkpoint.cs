using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization;

namespace Recurrent.Training;

/// <summary>Raised for a file that is not a Recurrent checkpoint, is of another version, truncated or corrupt.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Where a run stands: everything besides tensors that exact resume needs.</summary>
public sealed record TrainingProgressState
{
    /// <summary>Epochs completed, which is also the 0-based index of the epoch in progress.</summary>
    public int Epoch { get; init; }
    /// <summary>Batches of the current epoch already trained on: the index of the next batch (0 at an epoch's start).</summary>
    public int Window { get; init; }
    /// <summary>Training steps taken so far in the whole run (the <c>step</c> of <c>metrics.jsonl</c> and of reports).</summary>
    public long Step { get; init; }
    /// <summary>Tokens trained on so far in the whole run: the time steps of every sequence of every batch, up to each sequence's length.</summary>
    public long Tokens { get; init; }
    /// <summary>The validation loss at the best evaluation so far by the monitored metric (the training loss when there is no validation data); infinity before the first evaluation.</summary>
    public double BestValidLoss { get; init; } = double.PositiveInfinity;
    /// <summary>The best value of the monitored metric so far, as "lower is better" (the loss, or minus the accuracy).</summary>
    public double BestScore { get; init; } = double.PositiveInfinity;
    /// <summary>Evaluations in a row since the monitored metric last improved (0 right after an improvement); early stopping compares it with <see cref="TrainingOptions.StopPatience"/>.</summary>
    public int EvaluationsWithoutImprovement { get; init; }
    /// <summary>Training time in seconds up to the last evaluation, summed over the run and any resumed runs.</summary>
    public double ElapsedSeconds { get; init; }
    /// <summary>Optimizer updates made so far: the step count that the learning-rate schedule and the optimizer's state (e.g. Adam's bias correction) resume from.</summary>
    public long OptimizerSteps { get; init; }
    /// <summary>Batches per epoch of the data the run was trained on (0: not recorded); resume refuses other data.</summary>
    public int BatchesPerEpoch { get; init; }
    /// <summary>The training data's <see cref="ITrainingData.Fingerprint"/> (null: not recorded); resume refuses other data.</summary>
    public string? DataFingerprint { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first count or time that is negative (or not finite).</summary>
    public void Validate()
    {
        (string Name, double Value)[] counts =
        [
            (nameof(Epoch), Epoch), (nameof(Window), Window), (nameof(Step), Step), (nameof(Tokens), Tokens), (nameof(OptimizerSteps), OptimizerSteps),
            (nameof(EvaluationsWithoutImprovement), EvaluationsWithoutImprovement), (nameof(ElapsedSeconds), ElapsedSeconds), (nameof(BatchesPerEpoch), BatchesPerEpoch),
        ];
        foreach (var (name, value) in counts)
            if (!(value >= 0 && double.IsFinite(value))) throw new ArgumentException($"progress.{name} is {value}; it must be a non-negative number.");
        if (BatchesPerEpoch > 0 && Window > BatchesPerEpoch) throw new ArgumentException($"progress.Window is {Window}, past the {BatchesPerEpoch} batches of an epoch.");
    }
}

/// <summary>
/// One file holding a whole training run: model config, metadata (vocabulary, labels, …), weights, optimizer
/// moments, schedule state, RNG state, the carried hidden state and the data position.
/// The container is safetensors (so the weights open in PyTorch as <c>model.*</c>), with the
/// rest in <c>__metadata__</c>: a format marker, a version, and a SHA-256 checksum over the
/// tensor bytes and the other metadata. Writes are atomic (temp file, flush, rename).
/// </summary>
public sealed class Checkpoint
{
    /// <summary>The <c>"format"</c> metadata entry that marks a Recurrent checkpoint: <c>"recurrent-checkpoint"</c>.</summary>
    public const string FormatName = "recurrent-checkpoint";
    /// <summary>The version <see cref="Save"/> writes (2); <see cref="Load"/> reads versions 1 and 2.</summary>
    public const int FormatVersion = 2;

    /// <summary>The configuration of the trained model, saved as JSON in the <c>"model"</c> metadata entry.</summary>
    public required SequenceModelConfig Model { get; init; }
    /// <summary>What the run needs besides tensors, saved as it is: "vocabulary" (token models), "labels" (classes), …</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>The vocabulary JSON of a token model (see <see cref="Text.Vocabulary.ToJson"/>).</summary>
    public string VocabularyJson => Metadata.TryGetValue("vocabulary", out var v) ? v : throw new CheckpointException("This checkpoint has no vocabulary (its model reads features, not tokens).");
    /// <summary>The options the run was trained with, saved as JSON in the <c>"training"</c> metadata entry; a resumed run may change only some of them.</summary>
    public required TrainingOptions Training { get; init; }
    /// <summary>Where the run stands (epoch, batch, step, best loss, …), saved as JSON in the <c>"progress"</c> metadata entry.</summary>
    public required TrainingProgressState Progress { get; init; }
    /// <summary>The model's state dict (parameters and buffers by their PyTorch names, see <see cref="SequenceModel.StateDict"/>), stored as tensors <c>model.&lt;name&gt;</c>.</summary>
    public required IReadOnlyDictionary<string, Tensor> Weights { get; init; }
    /// <summary>The optimizer's state tensors (e.g. Adam's moments) by name, stored as tensors <c>optimizer.&lt;name&gt;</c>; empty by default.</summary>
    public IReadOnlyDictionary<string, Tensor> OptimizerState { get; init; } = new Dictionary<string, Tensor>();
    /// <summary>The learning-rate schedule's state as named numbers, saved as JSON in the <c>"schedule"</c> metadata entry; empty by default.</summary>
    public IReadOnlyDictionary<string, double> ScheduleState { get; init; } = new Dictionary<string, double>();
    /// <summary>The training RNG's state, four 64-bit words (see <see cref="Rng"/>), saved as comma-separated hex in the <c>"rng"</c> metadata entry; empty by default, which resume refuses.</summary>
    public ulong[] RngState { get; init; } = [];
    /// <summary>The hidden state h [layers·directions, B, H] carried between batches of a stateful run (a language model's streams), stored as tensor <c>state.h</c>; null when none is carried.</summary>
    public Tensor? StateH { get; init; }
    /// <summary>The carried LSTM cell state c [layers·directions, B, H], stored as tensor <c>state.c</c>; null for other cells or when no state is carried.</summary>
    public Tensor? StateC { get; init; }

    private const string MetadataPrefix = "meta.";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// Writes the checkpoint to <paramref name="path"/> as a safetensors file, atomically (temporary file, flush, rename):
    /// the tensors in float32 and everything else in <c>__metadata__</c> (format, version, JSON entries,
    /// <see cref="Metadata"/> under <c>meta.&lt;key&gt;</c>, and a SHA-256 checksum).
    /// </summary>
    /// <param name="path">The file to write (by convention <c>best.ckpt</c> or <c>latest.ckpt</c>); an existing file is replaced.</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (k, v) in Weights) tensors.Add(new("model." + k, v));
        foreach (var (k, v) in OptimizerState) tensors.Add(new("optimizer." + k, v));
        if (StateH is not null) tensors.Add(new("state.h", StateH));
        if (StateC is not null) tensors.Add(new("state.c", StateC));
        var meta = new Dictionary<string, string>
        {
            ["format"] = FormatName,
            ["version"] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["model"] = JsonSerializer.Serialize(Model, Json),
            ["training"] = JsonSerializer.Serialize(Training, Json),
            ["progress"] = JsonSerializer.Serialize(Progress, Json),
            ["schedule"] = JsonSerializer.Serialize(ScheduleState, Json),
            ["rng"] = string.Join(",", RngState.Select(s => s.ToString("x16", CultureInfo.InvariantCulture))),
        };
        foreach (var (k, v) in Metadata) meta[MetadataPrefix + k] = v;
        meta["checksum"] = Checksum(tensors, meta);
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>
    /// Reads a checkpoint written by <see cref="Save"/> (format version 1 or 2) and verifies its checksum and its
    /// model config, training options and progress. The weights are not yet put into a model: see <see cref="CreateModel"/>.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <returns>The checkpoint, with <see cref="Metadata"/> holding the <c>meta.*</c> entries without their prefix.</returns>
    /// <exception cref="CheckpointException">The file does not exist, cannot be read, is not a valid safetensors file, is not a Recurrent checkpoint or of an unknown version, fails its checksum, or has missing or invalid metadata.</exception>
    public static Checkpoint Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"Checkpoint '{path}' does not exist.");
        SafeTensorFile file;
        try { file = SafeTensorFile.Load(path); }
        catch (SafeTensorsException e) { throw new CheckpointException($"'{path}' is not a Recurrent checkpoint or is corrupt: {e.Message}", e); }
        catch (IOException e) { throw new CheckpointException($"Cannot read checkpoint '{path}': {e.Message}", e); }
        var meta = file.Metadata;
        if (!meta.TryGetValue("format", out var format) || format != FormatName)
            throw new CheckpointException($"'{path}' is a safetensors file but not a Recurrent checkpoint (no '{FormatName}' marker).");
        if (!meta.TryGetValue("version", out var version) || version is not ("1" or "2"))
            throw new CheckpointException($"Checkpoint '{path}' has format version {version ?? "(none)"}; this build reads versions 1 and 2.");
        var tensors = file.Names.Select(n => new KeyValuePair<string, Tensor>(n, file.GetTensor(n))).ToList();
        if (!meta.TryGetValue("checksum", out var stored) || stored != Checksum(tensors, meta))
            throw new CheckpointException($"Checkpoint '{path}' is corrupt: its checksum does not match its contents.");
        try
        {
            var model = Parse<SequenceModelConfig>(meta, "model", path);
            // Version 1 held only language models, whose config had no output size.
            if (version == "1") model = model with { OutputSize = model.VocabularySize };
            model.Validate();
            var extra = meta.Where(kv => kv.Key.StartsWith(MetadataPrefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[MetadataPrefix.Length..], kv => kv.Value);
            if (version == "1") extra["vocabulary"] = Get(meta, "vocabulary", path);
            var training = Parse<TrainingOptions>(meta, "training", path);
            training.Validate();
            var progress = Parse<TrainingProgressState>(meta, "progress", path);
            progress.Validate();
            var schedule = Parse<Dictionary<string, double>>(meta, "schedule", path);
            var rngText = Get(meta, "rng", path);
            ulong[] rng = rngText.Length == 0 ? [] : rngText.Split(',').Select(s => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture)).ToArray();
            var byName = tensors.ToDictionary(t => t.Key, t => t.Value);
            return new Checkpoint
            {
                Model = model,
                Metadata = extra,
                Training = training,
                Progress = progress,
                ScheduleState = schedule,
                RngState = rng,
                Weights = Strip(byName, "model."),
                OptimizerState = Strip(byName, "optimizer."),
                StateH = byName.GetValueOrDefault("state.h"),
                StateC = byName.GetValueOrDefault("state.c"),
            };
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or OverflowException or NullReferenceException)
        {
            throw new CheckpointException($"Checkpoint '{path}' has invalid metadata: {e.Message}", e);
        }
    }

    /// <summary>
    /// Builds the model the checkpoint describes and loads its weights. The config's size is
    /// checked against the tensors actually stored first, so a hostile config cannot make us allocate
    /// a model far larger than the file.
    /// </summary>
    public SequenceModel CreateModel(string path)
    {
        long stored = Weights.Values.Sum(t => (long)t.Length);
        long expected = Model.ParameterCount() + Model.BufferCount();
        if (stored != expected)
            throw new CheckpointException($"Checkpoint '{path}' is inconsistent: its config describes {expected:N0} values but it stores {stored:N0}.");
        var model = new SequenceModel(Model, new Rng(0));
        LoadWeightsInto(model, path);
        return model;
    }

    /// <summary>Copies the stored weights into <paramref name="model"/>: every name and shape must match, and every value be finite.</summary>
    public void LoadWeightsInto(SequenceModel model, string path)
    {
        try { model.LoadStateDict(Weights); }
        catch (ArgumentException e) { throw new CheckpointException($"Checkpoint '{path}': {e.Message.Replace($" (Parameter 'tensors')", "")}", e); }
    }

    /// <summary>A metadata entry as JSON; a JSON null (or an entry that is not an object) is an error naming the entry.</summary>
    private static T Parse<T>(IReadOnlyDictionary<string, string> meta, string key, string path) where T : class =>
        JsonSerializer.Deserialize<T>(Get(meta, key, path), Json) ?? throw new CheckpointException($"Checkpoint '{path}' has invalid metadata: its '{key}' entry is null.");

    private static string Get(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new CheckpointException($"Checkpoint '{path}' lacks the '{key}' entry.");

    private static Dictionary<string, Tensor> Strip(Dictionary<string, Tensor> all, string prefix) =>
        all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);

    /// <summary>SHA-256 over every tensor (name, shape, float bytes) in name order and every metadata entry but the checksum, in key order.</summary>
    internal static string Checksum(IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string> meta)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, t) in tensors.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name + "[" + string.Join(",", t.Shape) + "]\n"));
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Span));
        }
        foreach (var (k, v) in meta.Where(kv => kv.Key != "checksum").OrderBy(kv => kv.Key, StringComparer.Ordinal))
            hash.AppendData(Encoding.UTF8.GetBytes(k + "=" + v + "\n"));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
