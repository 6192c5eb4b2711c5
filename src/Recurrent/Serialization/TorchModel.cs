using System.Text.Json;
using System.Text.Json.Serialization;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Serialization;

/// <summary>An extra token field in a <see cref="TorchModelConfig"/> (see <see cref="TokenField"/>).</summary>
/// <param name="Name">The field's name (JSON key <c>"name"</c>).</param>
/// <param name="VocabularySize">The field's number of distinct ids, its nn.Embedding's num_embeddings (JSON key <c>"vocabulary_size"</c>, 1..10,000,000).</param>
/// <param name="EmbeddingSize">The field's embedding width, its nn.Embedding's embedding_dim (JSON key <c>"embedding_size"</c>, 1..65,536).</param>
public sealed record TorchField(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("vocabulary_size")] int VocabularySize,
    [property: JsonPropertyName("embedding_size")] int EmbeddingSize);

/// <summary>
/// The JSON that goes beside a PyTorch state dict, in PyTorch's words: what <see cref="SequenceModel"/>
/// to build for it. <c>scripts/export_torch_model.py</c> writes it from an nn.Module and
/// <c>recurrent export --torch</c> from a checkpoint; <c>recurrent import</c> reads it. Example
/// (word_language_model's RNNModel):
/// <code>
/// {"format": "recurrent-torch-config", "version": 1, "cell": "LSTM", "hidden_size": 200, "num_layers": 2,
///  "vocabulary_size": 10000, "embedding_size": 200, "pooling": "none", "output_size": 10000,
///  "loss": "cross_entropy", "tie_weights": false, "dropout": 0.2}
/// </code>
/// Unknown keys are errors, so a misspelt key cannot be silently ignored.
/// </summary>
public sealed record TorchModelConfig
{
    /// <summary>The value of the <c>"format"</c> key that marks a Recurrent PyTorch config: <c>"recurrent-torch-config"</c>.</summary>
    public const string FormatName = "recurrent-torch-config";
    /// <summary>The config version this build writes and reads (1).</summary>
    public const int FormatVersion = 1;

    /// <summary>The <c>"format"</c> key; must be <see cref="FormatName"/> (the default), otherwise <see cref="ToSequenceModelConfig"/> throws <see cref="FormatException"/>.</summary>
    [JsonPropertyName("format")] public string? Format { get; init; } = FormatName;
    /// <summary>The <c>"version"</c> key; must be <see cref="FormatVersion"/> (the default), otherwise <see cref="ToSequenceModelConfig"/> throws <see cref="FormatException"/>.</summary>
    [JsonPropertyName("version")] public int Version { get; init; } = FormatVersion;
    /// <summary>Where the model came from (free text, e.g. the PyTorch class); not used.</summary>
    [JsonPropertyName("source")] public string? Source { get; init; }
    /// <summary>PyTorch's nn.RNNBase mode: "LSTM", "GRU", "RNN_TANH" or "RNN_RELU".</summary>
    [JsonPropertyName("cell")] public string Cell { get; init; } = "LSTM";
    /// <summary>nn.RNNBase's hidden_size: units per layer and direction (1..65536; no default, so it must be given).</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }
    /// <summary>nn.RNNBase's num_layers: stacked recurrent layers (1..64, default 1).</summary>
    [JsonPropertyName("num_layers")] public int NumLayers { get; init; } = 1;
    /// <summary>nn.RNNBase's bidirectional: each layer also runs backwards in time and the two directions' outputs are concatenated (default false).</summary>
    [JsonPropertyName("bidirectional")] public bool Bidirectional { get; init; }
    /// <summary>Training-time dropout (embedding, between layers, before the decoder); no effect on inference.</summary>
    [JsonPropertyName("dropout")] public float Dropout { get; init; }
    /// <summary>Token input: nn.Embedding's num_embeddings (0 for feature input).</summary>
    [JsonPropertyName("vocabulary_size")] public int VocabularySize { get; init; }
    /// <summary>Token input: nn.Embedding's embedding_dim (1..65536; 0 for feature input).</summary>
    [JsonPropertyName("embedding_size")] public int EmbeddingSize { get; init; }
    /// <summary>Token input: extra token fields, each embedded (as <c>fields.{i}.weight</c>) and concatenated after the main embedding in this order; null or absent for none.</summary>
    [JsonPropertyName("fields")] public IReadOnlyList<TorchField>? Fields { get; init; }
    /// <summary>Feature input: values per step (0 for token input).</summary>
    [JsonPropertyName("feature_size")] public int FeatureSize { get; init; }
    /// <summary>"none" (a prediction per step), "last" (cat(h_n[-2], h_n[-1]) when bidirectional, else h_n[-1]), "mean" or "max".</summary>
    [JsonPropertyName("pooling")] public string Pooling { get; init; } = "none";
    /// <summary>The decoder's out_features.</summary>
    [JsonPropertyName("output_size")] public int OutputSize { get; init; }
    /// <summary>"cross_entropy", "mse", "mae" or "huber".</summary>
    [JsonPropertyName("loss")] public string Loss { get; init; } = "cross_entropy";
    /// <summary>decoder.weight is encoder.weight (word_language_model's --tied).</summary>
    [JsonPropertyName("tie_weights")] public bool TieWeights { get; init; }

    private static readonly (string Name, CellType Cell)[] Cells = [("RNN_TANH", CellType.RnnTanh), ("RNN_RELU", CellType.RnnRelu), ("LSTM", CellType.Lstm), ("GRU", CellType.Gru)];
    private static readonly (string Name, Pooling Pooling)[] Poolings = [("none", Models.Pooling.None), ("last", Models.Pooling.Last), ("mean", Models.Pooling.Mean), ("max", Models.Pooling.Max)];
    private static readonly (string Name, LossKind Loss)[] Losses = [("cross_entropy", LossKind.CrossEntropy), ("mse", LossKind.Mse), ("mae", LossKind.Mae), ("huber", LossKind.Huber)];

    /// <summary>The Recurrent model this describes, validated; errors name the JSON key.</summary>
    public SequenceModelConfig ToSequenceModelConfig()
    {
        if (Format != FormatName) throw new FormatException($"\"format\" is {Quote(Format)}; expected \"{FormatName}\".");
        if (Version != FormatVersion) throw new FormatException($"\"version\" is {Version}; this build reads version {FormatVersion}.");
        var config = new SequenceModelConfig
        {
            Cell = Lookup(Cells, Cell, "cell"),
            HiddenSize = HiddenSize,
            Layers = NumLayers,
            Bidirectional = Bidirectional,
            Dropout = Dropout,
            VocabularySize = VocabularySize,
            EmbeddingSize = EmbeddingSize,
            Fields = Fields?.Select(f => new TokenField(f.Name, f.VocabularySize, f.EmbeddingSize)).ToArray(),
            FeatureSize = FeatureSize,
            Pooling = Lookup(Poolings, Pooling, "pooling"),
            OutputSize = OutputSize,
            Loss = Lookup(Losses, Loss, "loss"),
            TieWeights = TieWeights,
        };
        try { config.Validate(); }
        catch (ArgumentException e) { throw new FormatException("Invalid model config: " + e.Message.Split('\n')[0].Replace($" (Parameter '{e.ParamName}')", "")); }
        return config;
    }

    /// <summary>The config of <paramref name="config"/> in PyTorch's words.</summary>
    public static TorchModelConfig From(SequenceModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new TorchModelConfig
        {
            Source = "Recurrent",
            Cell = Cells.First(c => c.Cell == config.Cell).Name,
            HiddenSize = config.HiddenSize,
            NumLayers = config.Layers,
            Bidirectional = config.Bidirectional,
            Dropout = config.Dropout,
            VocabularySize = config.VocabularySize,
            EmbeddingSize = config.EmbeddingSize,
            Fields = config.Fields?.Select(f => new TorchField(f.Name, f.VocabularySize, f.EmbeddingSize)).ToArray(),
            FeatureSize = config.FeatureSize,
            Pooling = Poolings.First(p => p.Pooling == config.Pooling).Name,
            OutputSize = config.OutputSize,
            Loss = Losses.First(l => l.Loss == config.Loss).Name,
            TieWeights = config.TieWeights,
        };
    }

    private static T Lookup<T>((string Name, T Value)[] table, string? name, string key)
    {
        foreach (var (n, value) in table)
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase)) return value;
        throw new FormatException($"\"{key}\" is {Quote(name)}; expected one of {string.Join(", ", table.Select(t => "\"" + t.Name + "\""))}.");
    }

    private static string Quote(string? s) => s is null ? "missing" : "\"" + s + "\"";
}

/// <summary>What <see cref="TorchModel.Import"/> built: the model, the key report, and what it adjusted on the way (one note each).</summary>
/// <param name="Model">The model built from the config, with the file's weights loaded.</param>
/// <param name="Report">The state-dict keys that were missing, unexpected or mis-shaped (all empty after a strict import).</param>
/// <param name="Notes">One line per adjustment made while importing (a removed key prefix, a dropped tied <c>decoder.weight</c>, a normalisation buffer not in the file); empty when none was needed.</param>
public sealed record TorchImportResult(SequenceModel Model, StateDictReport Report, IReadOnlyList<string> Notes);

/// <summary>
/// Whole models to and from PyTorch: a state dict in safetensors (names exactly as
/// <see cref="SequenceModel.StateDict"/>: encoder.weight, fields.{i}.weight, rnn.weight_ih_l0, …,
/// decoder.weight, decoder.bias, which are word_language_model's RNNModel's names for a language
/// model) plus a <see cref="TorchModelConfig"/> JSON.
/// </summary>
public static class TorchModel
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Reads a config file; errors (FormatException) name the file and the key.</summary>
    public static TorchModelConfig ReadConfig(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Config '{path}' does not exist.", path);
        try
        {
            return JsonSerializer.Deserialize<TorchModelConfig>(File.ReadAllText(path), Json)
                ?? throw new FormatException("the file holds JSON null");
        }
        catch (JsonException e) { throw new FormatException($"Config '{path}' is not a valid model config: {e.Message}", e); }
    }

    /// <summary>The config as the indented JSON <see cref="ReadConfig"/> reads.</summary>
    public static string ToJson(TorchModelConfig config) => JsonSerializer.Serialize(config, Json);

    /// <summary>
    /// Builds the model <paramref name="configPath"/> describes and loads the state dict in
    /// <paramref name="weightsPath"/> (any float dtype, converted to float32). Strict by default:
    /// every key must be there with its shape, and no other; the exception lists the missing,
    /// unexpected and mis-shaped keys. On the way, with a note for each: a "module." prefix on
    /// every key (DistributedDataParallel) or "_orig_mod." (torch.compile) is removed; with tied
    /// weights, a decoder.weight equal to encoder.weight is dropped (it is the same tensor);
    /// normalisation buffers (input_norm.*, target_norm.*) absent from the file are the identity.
    /// </summary>
    /// <exception cref="FormatException">The config is invalid.</exception>
    /// <exception cref="ArgumentException">The state dict does not fit the config (strict), or holds NaN or infinite values.</exception>
    /// <exception cref="SafeTensorsException">The weights file is not valid safetensors.</exception>
    public static TorchImportResult Import(string weightsPath, string configPath, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(weightsPath);
        SequenceModelConfig config;
        try { config = ReadConfig(configPath).ToSequenceModelConfig(); }
        catch (FormatException e) when (!e.Message.StartsWith("Config '", StringComparison.Ordinal)) { throw new FormatException($"Config '{configPath}': {e.Message}", e); }
        if (!File.Exists(weightsPath)) throw new FileNotFoundException($"Weights '{weightsPath}' do not exist.", weightsPath);
        var file = SafeTensorFile.Load(weightsPath);
        var notes = new List<string>();
        var tensors = file.Names.ToDictionary(n => n, file.GetTensor, StringComparer.Ordinal);
        foreach (var prefix in new[] { "module.", "_orig_mod." })
            if (tensors.Count > 0 && tensors.Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal)))
            {
                tensors = tensors.ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value, StringComparer.Ordinal);
                notes.Add($"removed the prefix '{prefix}' from every key");
            }

        // A hostile or mistaken config must not make us allocate far more than the file holds.
        long stored = tensors.Values.Sum(t => (long)t.Length);
        long described = config.ParameterCount();
        if (described > Math.Max(2 * stored, 1L << 20))
            throw new ArgumentException($"'{weightsPath}' holds {stored:N0} values but the config '{configPath}' describes {described:N0} parameters.");

        if (config.TieWeights && tensors.TryGetValue("decoder.weight", out var decoder) && tensors.TryGetValue("encoder.weight", out var encoder))
        {
            if (!decoder.Shape.AsSpan().SequenceEqual(encoder.Shape) || !decoder.Span.SequenceEqual(encoder.Span))
                throw new ArgumentException($"'{weightsPath}': the config ties the weights but decoder.weight differs from encoder.weight.");
            tensors.Remove("decoder.weight");
            notes.Add("decoder.weight is tied to encoder.weight");
        }
        var model = new SequenceModel(config, new Rng(0));
        foreach (var (name, buffer) in model.NamedBuffers)
            if (!tensors.ContainsKey(name))
            {
                tensors[name] = buffer.Clone();
                notes.Add($"{name} not in the file: {(name.EndsWith(".mean", StringComparison.Ordinal) ? "0" : "1")}");
            }
        StateDictReport report;
        try { report = model.LoadStateDict(tensors, strict); }
        catch (ArgumentException e)
        {
            string detail = e.Message.Split('\n')[0].Replace($" (Parameter '{e.ParamName}')", "").Replace("The state dict does not match the model: ", "");
            throw new ArgumentException($"'{weightsPath}' does not fit the model of '{configPath}': {detail}", e);
        }
        return new TorchImportResult(model, report, notes);
    }

    /// <summary>
    /// Writes <paramref name="model"/> for PyTorch: its state dict (float32, PyTorch names; a tied
    /// decoder weight is stored once, as encoder.weight, as safetensors' save_model does) to
    /// <paramref name="weightsPath"/> and its <see cref="TorchModelConfig"/> to <paramref name="configPath"/>.
    /// The normalisation buffers, which PyTorch modules usually lack, are included under their names.
    /// </summary>
    public static void Export(SequenceModel model, string weightsPath, string configPath)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = TorchModelConfig.From(model.Config);
        // "format": "pt" is what safetensors.torch writes: loaders (e.g. transformers) check it.
        SafeTensors.Save(weightsPath, model.StateDict(), new Dictionary<string, string> { ["format"] = "pt" });
        AtomicFile.WriteAllBytes(configPath, System.Text.Encoding.UTF8.GetBytes(ToJson(config) + "\n"));
    }
}
