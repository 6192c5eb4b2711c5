using System.Runtime.CompilerServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Numerics;

namespace Recurrent.Models;

/// <summary>The recurrent state carried between windows or calls: h (and c for an LSTM), [layers·directions, B, H].</summary>
public sealed class RecurrentState
{
    /// <summary>The hidden states h [layers·directions, B, H], layer-major, direction-minor (PyTorch's h_n order).</summary>
    public Tensor H { get; }
    /// <summary>The cell states c [layers·directions, B, H] of an LSTM; null for the other cells.</summary>
    public Tensor? C { get; }
    /// <summary>Sequences B this state is for.</summary>
    public int Batch => H.Dim(1);

    /// <summary>A zero state; <see cref="SequenceModel.NewState"/> makes one of the right shape for a model.</summary>
    /// <param name="layersTimesDirections">Layers × directions, L·D.</param>
    /// <param name="batch">Sequences B.</param>
    /// <param name="hidden">Hidden units H.</param>
    /// <param name="hasCell">Whether to allocate the cell state <see cref="C"/> (LSTM).</param>
    /// <exception cref="ArgumentException">A size is negative or the tensor is too large for one array.</exception>
    public RecurrentState(int layersTimesDirections, int batch, int hidden, bool hasCell)
    {
        H = new Tensor(layersTimesDirections, batch, hidden);
        C = hasCell ? new Tensor(layersTimesDirections, batch, hidden) : null;
    }

    /// <summary>Sets h (and c) to zeros: the start of new sequences.</summary>
    public void Reset()
    {
        H.Clear();
        C?.Clear();
    }
}

/// <summary>What a loss evaluation counted: the mean loss, the rows (or values) that counted, and for a classifier the rows predicted correctly.</summary>
/// <param name="Loss">The mean loss over what counted (0 when nothing counted); computed with the gradient and <see cref="SequenceModelConfig.ClassWeights"/> set, the class-weighted mean as PyTorch's cross_entropy(weight=…).</param>
/// <param name="Count">Rows (cross-entropy) or target values (regression) that counted: ignored labels and NaN targets do not.</param>
/// <param name="Correct">Classifier: rows whose largest logit is the label; 0 for regression.</param>
public readonly record struct LossResult(double Loss, long Count, long Correct);

/// <summary>What <see cref="SequenceModel.LoadStateDict"/> found: names the model lacks, names it has that were not given, and shape mismatches.</summary>
/// <param name="Missing">Names the model has that the given tensors lack, in the model's order.</param>
/// <param name="Unexpected">Given names the model does not have, in ordinal order.</param>
/// <param name="Mismatched">Names present on both sides with different shapes, each with the given and the model's shape.</param>
public sealed record StateDictReport(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected, IReadOnlyList<string> Mismatched)
{
    /// <summary>True when nothing is missing, unexpected or mis-shaped.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    /// <summary>"all keys matched", or the non-empty lists, e.g. "missing: decoder.bias; mis-shaped: …".</summary>
    /// <returns>A one-line description for messages and logs.</returns>
    public override string ToString() => IsExact ? "all keys matched" : string.Join("; ", new[]
    {
        Missing.Count > 0 ? "missing: " + string.Join(", ", Missing) : null,
        Unexpected.Count > 0 ? "unexpected: " + string.Join(", ", Unexpected) : null,
        Mismatched.Count > 0 ? "mis-shaped: " + string.Join(", ", Mismatched) : null,
    }.Where(s => s is not null));
}

/// <summary>
/// One model for every sequence task: input → <see cref="RecurrentStack"/> → pooling → linear
/// decoder (see <see cref="SequenceModelConfig"/>). Token ids go through <c>encoder</c> (an
/// embedding); features are normalised as (x − input_norm.mean) / input_norm.std (statistics
/// set from the training split, identity by default). Dropout acts on the embedding, between
/// layers and on the decoder's input. For regression, predictions and training targets live in
/// normalised units; <c>target_norm.mean/std</c> turn them back (<see cref="Denormalize"/>).
///
/// State-dict names follow PyTorch: <c>encoder.weight</c>, <c>rnn.weight_ih_l0</c>, …,
/// <c>decoder.weight</c>, <c>decoder.bias</c> (a language model's match word_language_model's RNNModel),
/// plus the normalisation buffers. Time-major inside: ids [T·B] (t·B + b), features [T, B, F];
/// predictions [T·B, K] for a per-step head, [B, K] for a pooled one.
/// </summary>
public sealed class SequenceModel
{
    private readonly Dropout _inputDropout;
    private readonly Dropout _outputDropout;
    private readonly Tensor _input = new(0);      // [T, B, in]: the stack's input
    private readonly Tensor _pooled = new(0);     // [rows, D·H]: the decoder's input
    private readonly Tensor _dOutput = new(0);    // [T, B, D·H]
    private readonly Tensor _dHN = new(0);        // [L·D, B, H]
    private readonly Tensor _dPooled = new(0);
    private readonly Tensor _dField = new(0);     // one token field's share of the input gradient
    private readonly List<(string Name, Parameter Parameter)> _named = [];
    private readonly List<(string Name, Tensor Buffer)> _buffers = [];
    private int[] _argMax = [];                   // max pooling: [B·D·H] the step that won
    private SequenceBatch? _batch;
    private Tensor? _inputGradient;
    private Compute _compute = Compute.SingleThread;

    /// <summary>The shape this model was built from (validated).</summary>
    public SequenceModelConfig Config { get; }
    /// <summary>Token input: the embedding <c>encoder.weight</c> [V, E], initialised U(−0.1, 0.1); null for feature input.</summary>
    public Embedding? Encoder { get; }
    /// <summary>The embeddings of the extra token fields (empty when none).</summary>
    public IReadOnlyList<Embedding> FieldEncoders { get; }
    /// <summary>The recurrent stack; its parameters appear in the state dict as <c>rnn.weight_ih_l0</c>, <c>rnn.weight_hh_l0</c>, … .</summary>
    public RecurrentStack Rnn { get; }
    /// <summary>
    /// The head: <c>decoder.weight</c> [K, D·H] and <c>decoder.bias</c> [K], K = <see cref="SequenceModelConfig.OutputSize"/>.
    /// With <see cref="SequenceModelConfig.TieWeights"/> its weight is <see cref="Encoder"/>'s.
    /// </summary>
    public Linear Decoder { get; }
    /// <summary>Feature input: per-feature mean and standard deviation subtracted and divided (buffers, not trained).</summary>
    public Tensor? InputMean { get; }
    /// <summary>Feature input: the per-feature standard deviation [F] (<c>input_norm.std</c>), 1 until set; null for token input.</summary>
    public Tensor? InputStd { get; }
    /// <summary>Regression: per-output mean and standard deviation of the training targets (buffers).</summary>
    public Tensor? TargetMean { get; }
    /// <summary>Regression: the per-output standard deviation [K] of the training targets (<c>target_norm.std</c>), 1 until set; null for a classifier.</summary>
    public Tensor? TargetStd { get; }

    /// <param name="config">The shape (validated).</param>
    /// <param name="rng">Draws the initial weights.</param>
    /// <param name="init">How the recurrent weights start (PyTorch's default if null).</param>
    public SequenceModel(SequenceModelConfig config, Rng rng, RecurrentInit? init = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var memory = ModelMemory.Estimate(config);
        memory.EnsureFits(memory.WeightBytes + memory.GradientBytes, "--hidden, --layers, --embed or the vocabulary size");
        Config = config;
        int width = config.Directions * config.HiddenSize;
        if (config.HasTokens)
        {
            Encoder = new Embedding("encoder.", config.VocabularySize, config.EmbeddingSize, rng);
            // word_language_model's init: encoder and decoder weights U(−0.1, 0.1), decoder bias 0.
            rng.FillUniform(Encoder.Weight.Span, -0.1f, 0.1f);
        }
        FieldEncoders = (config.Fields ?? []).Select((f, i) => new Embedding($"fields.{i}.", f.VocabularySize, f.EmbeddingSize, rng)).ToArray();
        foreach (var field in FieldEncoders) rng.FillUniform(field.Weight.Span, -0.1f, 0.1f);
        Rnn = new RecurrentStack(config.StackOptions, rng, init);
        Decoder = config.TieWeights
            ? new Linear("decoder.", Encoder!.Weight, rng)
            : new Linear("decoder.", width, config.OutputSize, rng);
        if (config.HasTokens)
        {
            if (!config.TieWeights) rng.FillUniform(Decoder.Weight.Span, -0.1f, 0.1f);
            Decoder.Bias!.Span.Clear();
        }
        _inputDropout = new Dropout(config.Dropout);
        _outputDropout = new Dropout(config.Dropout);

        if (Encoder is not null) _named.Add(("encoder.weight", Encoder.Weight));
        for (int i = 0; i < FieldEncoders.Count; i++) _named.Add(($"fields.{i}.weight", FieldEncoders[i].Weight));
        foreach (var p in Rnn.Parameters()) _named.Add(("rnn." + p.Name, p));
        if (!config.TieWeights) _named.Add(("decoder.weight", Decoder.Weight));
        _named.Add(("decoder.bias", Decoder.Bias!));
        if (!config.HasTokens)
        {
            (InputMean, InputStd) = (new Tensor(config.FeatureSize), Ones(config.FeatureSize));
            _buffers.Add(("input_norm.mean", InputMean));
            _buffers.Add(("input_norm.std", InputStd));
        }
        if (!config.IsClassifier)
        {
            (TargetMean, TargetStd) = (new Tensor(config.OutputSize), Ones(config.OutputSize));
            _buffers.Add(("target_norm.mean", TargetMean));
            _buffers.Add(("target_norm.std", TargetStd));
        }
    }

    /// <summary>Every trainable parameter once (a tied weight appears under encoder.weight), with its state_dict name.</summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedParameters => _named;

    /// <summary>Stored tensors that are not trained: the normalisation statistics.</summary>
    public IReadOnlyList<(string Name, Tensor Buffer)> NamedBuffers => _buffers;

    /// <summary>The trainable parameters in <see cref="NamedParameters"/> order (a tied weight once), as a new list: what an optimizer takes.</summary>
    public IReadOnlyList<Parameter> Parameters => _named.Select(n => n.Parameter).ToList();

    /// <summary>Number of trainable values, a tied matrix counted once (the same as <see cref="SequenceModelConfig.ParameterCount"/>).</summary>
    public long ParameterCount => _named.Sum(n => (long)n.Parameter.Value.Length);

    /// <summary>Thread count and SIMD level of the recurrent stack and the decoder; setting it sets theirs. <see cref="Numerics.Compute.SingleThread"/> by default.</summary>
    public Compute Compute
    {
        get => _compute;
        set { _compute = value; Rnn.Compute = value; Decoder.Compute = value; }
    }

    /// <summary>A zero state for <paramref name="batch"/> sequences.</summary>
    public RecurrentState NewState(int batch) => new(Config.Layers * Config.Directions, batch, Config.HiddenSize, Rnn.HasCellState);

    /// <summary>
    /// Predictions for <paramref name="batch"/>: [T·B, K] (per step) or [B, K] (pooled), a workspace
    /// valid until the next call. With <paramref name="state"/>, the stack starts from it and it is
    /// replaced by the final state (the carry of truncated BPTT; no gradient flows into it).
    /// <paramref name="keepForBackward"/> false is the inference forward: the same predictions, but
    /// the stack keeps one step's activations instead of all T (memory grows with batch × hidden, not
    /// with sequence length) and <see cref="Backward"/> cannot follow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Forward(SequenceBatch batch, RecurrentState? state = null, bool training = false, Rng? rng = null, bool keepForBackward = true)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int T = batch.Steps, B = batch.Size, H = Config.HiddenSize, D = Config.Directions;
        if (state is not null && state.Batch != B) throw new ArgumentException($"The state is for batch {state.Batch}; the input has batch {B}.", nameof(state));
        if (Config.HasTokens)
        {
            if (batch.Ids is null) throw new ArgumentException("This model reads token ids; the batch holds features.", nameof(batch));
            var embedded = Encoder!.Forward(batch.Ids, T * B);
            _input.Resize(T, B, Config.InputSize);
            if (FieldEncoders.Count == 0) _inputDropout.Forward(embedded.Span, _input.Span, training, rng);
            else
            {
                if (batch.FieldIds is not { } fieldIds || fieldIds.Count != FieldEncoders.Count)
                    throw new ArgumentException($"This model reads {FieldEncoders.Count} token field(s) besides the ids; the batch has {batch.FieldIds?.Count ?? 0}.", nameof(batch));
                int offset = Config.EmbeddingSize;
                Interleave(embedded.Span, Config.EmbeddingSize, 0);
                for (int f = 0; f < FieldEncoders.Count; f++)
                {
                    var field = FieldEncoders[f];
                    if (fieldIds[f].Length < T * B) throw new ArgumentException($"Field {f} holds {fieldIds[f].Length} ids; expected T·B = {T * B}.", nameof(batch));
                    Interleave(field.Forward(fieldIds[f], T * B).Span, field.EmbeddingSize, offset);
                    offset += field.EmbeddingSize;
                }
                _inputDropout.Forward(_input.Span, _input.Span, training, rng);
            }
        }
        else
        {
            if (batch.Features is null) throw new ArgumentException("This model reads features; the batch holds token ids.", nameof(batch));
            if (batch.Features.Dim(2) != Config.FeatureSize) throw new ArgumentException($"The batch has {batch.Features.Dim(2)} features per step; the model reads {Config.FeatureSize}.", nameof(batch));
            _input.Resize(T, B, Config.FeatureSize);
            Normalize(batch.Features.Span, _input.Span);
        }
        var result = Rnn.Forward(_input, batch.Lengths, state?.H, state?.C, training, rng, keepForBackward);
        if (state is not null)
        {
            result.HN.Span.CopyTo(state.H.Span);
            result.CN?.Span.CopyTo(state.C!.Span);
        }
        _batch = batch;
        int width = D * H, rows = Config.Pooling == Pooling.None ? T * B : B;
        _pooled.Resize(rows, width);
        var pooled = _pooled.Span;
        var y = result.Output.Span;
        switch (Config.Pooling)
        {
            case Pooling.None:
                y.CopyTo(pooled);
                break;
            case Pooling.Last:
                // The last layer's final states: forward direction at each sequence's last step, reverse at step 0.
                for (int d = 0; d < D; d++)
                {
                    var hn = result.HN.Span.Slice(((Config.Layers - 1) * D + d) * B * H, B * H);
                    for (int b = 0; b < B; b++) hn.Slice(b * H, H).CopyTo(pooled.Slice(b * width + d * H, H));
                }
                break;
            case Pooling.Mean:
                pooled.Clear();
                for (int b = 0; b < B; b++)
                {
                    int n = batch.Length(b);
                    var row = pooled.Slice(b * width, width);
                    for (int t = 0; t < n; t++) TensorPrimitives.Add(row, y.Slice((t * B + b) * width, width), row);
                    TensorPrimitives.Multiply(row, 1f / n, row);
                }
                break;
            case Pooling.Max:
                if (_argMax.Length < B * width) _argMax = new int[B * width];
                for (int b = 0; b < B; b++)
                {
                    int n = batch.Length(b);
                    var row = pooled.Slice(b * width, width);
                    var arg = _argMax.AsSpan(b * width, width);
                    y.Slice(b * width, width).CopyTo(row);
                    arg.Clear();
                    for (int t = 1; t < n; t++)
                    {
                        var yt = y.Slice((t * B + b) * width, width);
                        for (int j = 0; j < width; j++)
                            if (yt[j] > row[j]) { row[j] = yt[j]; arg[j] = t; }
                    }
                }
                break;
        }
        _outputDropout.Forward(pooled, pooled, training, rng);
        return Decoder.Forward(_pooled, rows);
    }

    /// <summary>Token input, all sequences T long: <see cref="Forward(SequenceBatch, RecurrentState?, bool, Rng?, bool)"/> on ids [T·B] (index t·B + b).</summary>
    public Tensor Forward(int[] ids, int T, int B, RecurrentState? state = null, bool training = false, Rng? rng = null, bool keepForBackward = true) =>
        Forward(new SequenceBatch(T, B, ids, null, null), state, training, rng, keepForBackward);

    /// <summary>Backpropagates d(loss)/d(predictions) from the last Forward; accumulates every parameter gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(ReadOnlySpan<float> dPredictions)
    {
        var batch = _batch ?? throw new InvalidOperationException("Backward called before Forward.");
        if (!Rnn.KeepsForBackward) throw RecurrentLayer.NoActivationsForBackward();
        int T = batch.Steps, B = batch.Size, H = Config.HiddenSize, D = Config.Directions, L = Config.Layers, width = D * H;
        var dPooledIn = Decoder.Backward(dPredictions);
        _dPooled.Resize(dPooledIn.Dim(0), width);
        var dPooled = _dPooled.Span;
        _outputDropout.Backward(dPooledIn.Span, dPooled);
        _dOutput.Resize(T, B, width);
        var dY = _dOutput.Span;
        Tensor? dHN = null;
        switch (Config.Pooling)
        {
            case Pooling.None:
                dPooled.CopyTo(dY);
                break;
            case Pooling.Last:
                dY.Clear();
                _dHN.Resize(L * D, B, H);
                _dHN.Clear();
                for (int d = 0; d < D; d++)
                {
                    var dh = _dHN.Span.Slice(((L - 1) * D + d) * B * H, B * H);
                    for (int b = 0; b < B; b++) dPooled.Slice(b * width + d * H, H).CopyTo(dh.Slice(b * H, H));
                }
                dHN = _dHN;
                break;
            case Pooling.Mean:
                dY.Clear();
                for (int b = 0; b < B; b++)
                {
                    int n = batch.Length(b);
                    for (int t = 0; t < n; t++) TensorPrimitives.Multiply(dPooled.Slice(b * width, width), 1f / n, dY.Slice((t * B + b) * width, width));
                }
                break;
            case Pooling.Max:
                dY.Clear();
                for (int b = 0; b < B; b++)
                    for (int j = 0; j < width; j++)
                        dY[(_argMax[b * width + j] * B + b) * width + j] = dPooled[b * width + j];
                break;
        }
        var grads = Rnn.Backward(_dOutput, dHN);
        if (Encoder is not null)
        {
            var dInput = grads.Input.Span;
            _inputDropout.Backward(dInput, dInput);
            _inputGradient = grads.Input;
            if (FieldEncoders.Count == 0) Encoder.Backward(dInput);
            else
            {
                int rows = T * B, inputWidth = Config.InputSize, offset = 0;
                foreach (var embedding in FieldEncoders.Prepend(Encoder))
                {
                    int E = embedding.EmbeddingSize;
                    _dField.Resize(rows, E);
                    for (int r = 0; r < rows; r++) dInput.Slice(r * inputWidth + offset, E).CopyTo(_dField.Span.Slice(r * E, E));
                    embedding.Backward(_dField.Span);
                    offset += E;
                }
            }
        }
        else
        {
            _inputGradient = grads.Input;
            // d/dx of (x − mean)/std: divide by std per feature.
            var g = grads.Input.Span;
            var std = InputStd!.Span;
            int F = Config.FeatureSize;
            for (int r = 0; r < g.Length / F; r++) TensorPrimitives.Divide(g.Slice(r * F, F), std, g.Slice(r * F, F));
        }
    }

    /// <summary>
    /// dL/d(input) [T, B, in] of the last Backward (a workspace of the stack): for a feature model
    /// w.r.t. the raw features; for a token model w.r.t. the embedded input x_t (the embedding, then
    /// any field embeddings, as the stack reads it).
    /// </summary>
    public Tensor InputGradient => _inputGradient ?? throw new InvalidOperationException("There is no input gradient before Backward.");

    /// <summary>
    /// The loss of <paramref name="predictions"/> (from <see cref="Forward(SequenceBatch, RecurrentState?, bool, Rng?, bool)"/>) against the batch's
    /// labels or targets; when <paramref name="backward"/> is true the predictions are replaced in
    /// place by d(loss)/d(predictions), ready for <see cref="Backward"/>.
    /// </summary>
    public LossResult Loss(Tensor predictions, SequenceBatch batch, bool backward)
    {
        int K = Config.OutputSize;
        var p = predictions.Span;
        if (Config.IsClassifier)
        {
            var labels = batch.Labels ?? throw new ArgumentException("The batch has no labels to score a classifier against.", nameof(batch));
            if (labels.Length * K != p.Length) throw new ArgumentException($"The batch has {labels.Length} labels for {p.Length / K} predictions.", nameof(batch));
            long correct = CountCorrect(p, labels, K);
            if (!backward)
            {
                var (sum, count) = SoftmaxCrossEntropy.Evaluate(p, labels, K);
                return new(count == 0 ? 0 : sum / count, count, correct);
            }
            var (loss, n) = SoftmaxCrossEntropy.ForwardBackward(p, labels, K, Config.ClassWeights);
            return new(loss, n, correct);
        }
        var targets = batch.Targets ?? throw new ArgumentException("The batch has no targets to score a regression model against.", nameof(batch));
        if (targets.Length != p.Length) throw new ArgumentException($"The batch has {targets.Length} target values for {p.Length} predictions.", nameof(batch));
        if (!backward)
        {
            var (sum, count) = RegressionLoss.Evaluate(Config.RegressionLoss, p, targets, Config.HuberDelta);
            return new(count == 0 ? 0 : sum / count, count, 0);
        }
        var (mean, counted) = RegressionLoss.ForwardBackward(Config.RegressionLoss, p, targets, p, Config.HuberDelta);
        return new(mean, counted, 0);
    }

    /// <summary>Turns normalised regression predictions or targets [rows, K] back into data units, in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Denormalize(Span<float> values)
    {
        if (TargetMean is null) return;
        int K = Config.OutputSize;
        for (int r = 0; r < values.Length / K; r++)
        {
            var row = values.Slice(r * K, K);
            TensorPrimitives.Multiply(row, TargetStd!.Span, row);
            TensorPrimitives.Add(row, TargetMean.Span, row);
        }
    }

    /// <summary>Sets the gradient of every trainable parameter to zero (gradients accumulate across <see cref="Backward"/> calls).</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in _named) p.Grad.Clear();
    }

    /// <summary>Every stored tensor by its PyTorch state_dict name: the parameters, then the buffers (live views, not copies).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, p) in _named) dict[name] = p.Value;
        foreach (var (name, b) in _buffers) dict[name] = b;
        return dict;
    }

    /// <summary>
    /// Copies tensors by name into the model. Strict (the default): throws, naming every missing,
    /// unexpected and mis-shaped key, unless all match exactly, and then copies nothing on failure.
    /// Not strict: copies what matches and returns the report. Non-finite values are refused.
    /// </summary>
    public StateDictReport LoadStateDict(IReadOnlyDictionary<string, Tensor> tensors, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var own = StateDict();
        var missing = own.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        var unexpected = tensors.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var mismatched = own.Where(kv => tensors.TryGetValue(kv.Key, out var t) && !t.Shape.AsSpan().SequenceEqual(kv.Value.Shape))
            .Select(kv => $"{kv.Key} {tensors[kv.Key].ShapeString} (model {kv.Value.ShapeString})").ToList();
        var report = new StateDictReport(missing, unexpected, mismatched);
        if (strict && !report.IsExact) throw new ArgumentException("The state dict does not match the model: " + report + ".", nameof(tensors));
        foreach (var (name, target) in own)
        {
            if (!tensors.TryGetValue(name, out var t) || !t.Shape.AsSpan().SequenceEqual(target.Shape)) continue;
            foreach (float v in t.Span)
                if (!float.IsFinite(v)) throw new ArgumentException($"Tensor '{name}' holds NaN or infinite values.", nameof(tensors));
        }
        foreach (var (name, target) in own)
            if (tensors.TryGetValue(name, out var t) && t.Shape.AsSpan().SequenceEqual(target.Shape)) t.Span.CopyTo(target.Span);
        return report;
    }

    /// <summary>Writes rows of <paramref name="width"/> values into the stack input's columns from <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Interleave(ReadOnlySpan<float> rows, int width, int offset)
    {
        int stride = Config.InputSize;
        var input = _input.Span;
        for (int r = 0; r < rows.Length / width; r++) rows.Slice(r * width, width).CopyTo(input.Slice(r * stride + offset, width));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Normalize(ReadOnlySpan<float> x, Span<float> y)
    {
        int F = Config.FeatureSize;
        for (int r = 0; r < x.Length / F; r++)
        {
            var row = y.Slice(r * F, F);
            TensorPrimitives.Subtract(x.Slice(r * F, F), InputMean!.Span, row);
            TensorPrimitives.Divide(row, InputStd!.Span, row);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static long CountCorrect(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int K)
    {
        long correct = 0;
        for (int n = 0; n < labels.Length; n++)
            if (labels[n] != SoftmaxCrossEntropy.Ignore && TensorPrimitives.IndexOfMax(logits.Slice(n * K, K)) == labels[n]) correct++;
        return correct;
    }

    private static Tensor Ones(int n)
    {
        var t = new Tensor(n);
        t.Span.Fill(1f);
        return t;
    }
}
