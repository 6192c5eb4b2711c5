using System.Collections.Concurrent;
using System.Globalization;
using Recurrent.Cli.Commands;
using Recurrent.Diagnostics;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;

namespace Recurrent.Cli.Serve;

/// <summary>
/// The one model a server answers with, shared read-only by every request: the weights, the
/// vocabulary, the card, a pool of inspectors (each with its own copy of the weights and
/// workspaces, lent to one request at a time) and the reference text's states for "find units
/// like this" (computed once in the background when the server starts). Requests never write to
/// the model: next-token and generation requests make their own <see cref="LanguageModelStepper"/>.
/// </summary>
public sealed class ServedModel
{
    private readonly SemaphoreSlim _inspectorSlots;
    private readonly ConcurrentBag<ModelInspector> _inspectors = [];
    private readonly Lazy<Task<ReferenceStates>>? _reference;

    public SequenceModel Model { get; }
    public Vocabulary Vocabulary { get; }
    public ModelCard Card { get; }
    public ServeLimits Limits { get; }
    /// <summary>Where the reference text came from (a file name, or "validation part of …"), or null without one.</summary>
    public string? ReferenceSource { get; }
    public TokenizedText? ReferenceText { get; }
    /// <summary>Generations streaming now (at most <see cref="ServeLimits.MaxConcurrentGenerations"/>).</summary>
    public SemaphoreSlim GenerationSlots { get; }

    public ServedModel(SequenceModel model, Vocabulary vocabulary, ModelCard card, ServeLimits limits, string? reference = null, string? referenceSource = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.Config.IsLanguageModel) throw new ArgumentException("recurrent serve shows language models (trained with 'recurrent train'); this checkpoint holds another kind of model.");
        model.Compute = Compute.SingleThread;   // requests run side by side, each on one thread
        Model = model;
        Vocabulary = vocabulary;
        Limits = limits;
        _inspectorSlots = new SemaphoreSlim(limits.Inspectors, limits.Inspectors);
        GenerationSlots = new SemaphoreSlim(limits.MaxConcurrentGenerations, limits.MaxConcurrentGenerations);
        if (reference is not null)
        {
            var ids = ReferenceIds(vocabulary, reference, limits.ReferenceTokens, referenceSource ?? "the reference text");
            if (ids.Length >= 2)
            {
                ReferenceText = new TokenizedText(ids, ids.Select(vocabulary.Render).ToArray(), new int[ids.Length]);
                ReferenceSource = referenceSource ?? "reference";
                _reference = new Lazy<Task<ReferenceStates>>(() => Task.Run(() => ReferenceStates.Compute(new ModelInspector(Model), ReferenceText.Ids)));
            }
        }
        Card = card with { Reference = ReferenceSource, ReferenceTokens = ReferenceText?.Count ?? 0, Limits = limits };
    }

    /// <summary>Opens a checkpoint or run directory (see <see cref="ModelFiles"/>) and the reference text: <paramref name="referencePath"/>, else the validation part of the training data the checkpoint names, if that file is still there.</summary>
    public static ServedModel Load(string modelPath, string? referencePath, ServeLimits limits)
    {
        string checkpointPath = ModelFiles.Resolve(modelPath);
        var (checkpoint, model, vocabulary) = ModelFiles.Load(checkpointPath, threads: 1);
        if (!model.Config.IsLanguageModel)
            throw new ArgumentException($"'{modelPath}' holds a {(model.Config.HasTokens ? "classifier or tagger" : "feature model")}; recurrent serve shows language models (trained with 'recurrent train').");
        string name = Directory.Exists(modelPath) ? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelPath))) : Path.GetFileNameWithoutExtension(checkpointPath);
        var card = ModelCard.Create(name, model, vocabulary, checkpoint, checkpointPath);
        string? text = null, source = null;
        if (referencePath is not null)
        {
            text = TextCorpus.ReadFile(referencePath);
            source = Path.GetFileName(referencePath);
        }
        else if (checkpoint.Metadata.TryGetValue("valid", out var valid) && File.Exists(valid))
        {
            text = TextCorpus.ReadFile(valid);
            source = Path.GetFileName(valid) + " (validation text)";
        }
        else if (checkpoint.Metadata.TryGetValue("data", out var data) && File.Exists(data))
        {
            var all = TextCorpus.ReadFile(data);
            double split = checkpoint.Metadata.TryGetValue("split", out var s) && double.TryParse(s, CultureInfo.InvariantCulture, out var f) && f is > 0 and < 1 ? f : 0.9;
            int cut = (int)(all.Length * split);
            if (cut > 0 && cut < all.Length && char.IsLowSurrogate(all[cut])) cut--;
            text = all[cut..];
            source = $"{Path.GetFileName(data)} (validation part, last {1 - split:P0})";
        }
        return new ServedModel(model, vocabulary, card, limits, text, source);
    }

    /// <summary>The first <paramref name="max"/> tokens of the reference; characters outside the vocabulary are an error naming the file.</summary>
    private static int[] ReferenceIds(Vocabulary vocabulary, string text, int max, string source)
    {
        // Read only about as much text as the token budget needs (words are longer than one character).
        int chars = vocabulary.Level == TokenLevel.Char ? max : max * 16;
        if (text.Length > chars)
        {
            int cut = chars;
            if (char.IsLowSurrogate(text[cut])) cut--;
            text = text[..cut];
        }
        try { return vocabulary.Encode(text).Take(max).ToArray(); }
        catch (ArgumentException e) { throw new ArgumentException($"Reference text '{source}': {e.Message}"); }
    }

    /// <summary>Lends an inspector to one request; waits while all are busy.</summary>
    public async Task<InspectorLease> RentInspectorAsync(CancellationToken cancel)
    {
        await _inspectorSlots.WaitAsync(cancel);
        if (!_inspectors.TryTake(out var inspector))
        {
            try { inspector = new ModelInspector(Model); }
            catch { _inspectorSlots.Release(); throw; }
        }
        return new InspectorLease(this, inspector);
    }

    /// <summary>The reference text's states (computed once, in the background; null without a reference).</summary>
    public Task<ReferenceStates>? ReferenceStatesAsync() => _reference?.Value;

    /// <summary>Starts computing the reference states now rather than at the first request.</summary>
    public void WarmUp() => _ = _reference?.Value;

    public sealed class InspectorLease(ServedModel owner, ModelInspector inspector) : IDisposable
    {
        private bool _returned;
        public ModelInspector Inspector { get; } = inspector;

        public void Dispose()
        {
            if (_returned) return;
            _returned = true;
            owner._inspectors.Add(Inspector);
            owner._inspectorSlots.Release();
        }
    }
}

/// <summary>The hidden (and cell) states of every layer over the reference text, and each one's per-unit baseline.</summary>
public sealed class ReferenceStates
{
    private readonly ConcurrentDictionary<(int Layer, bool Cell), UnitBaseline> _baselines = new();

    public IReadOnlyList<LayerTrace> Layers { get; }

    private ReferenceStates(IReadOnlyList<LayerTrace> layers) => Layers = layers;

    public static ReferenceStates Compute(ModelInspector inspector, int[] ids) => new(inspector.TraceStates(ids));

    public float[] States(int layer, bool cell) => cell ? Layers[layer].Cell! : Layers[layer].Hidden;

    public UnitBaseline Baseline(int layer, bool cell) =>
        _baselines.GetOrAdd((layer, cell), key => UnitBaseline.Of(States(key.Layer, key.Cell), Layers[key.Layer].Units));
}
