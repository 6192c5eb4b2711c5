using System.Diagnostics;
using System.Text.Json;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Optimizers;

namespace Recurrent.Training;

/// <summary>One report of a running training loop.</summary>
public sealed record TrainingReport(
    int Epoch, int Epochs, int Window, int WindowsPerEpoch, long Step,
    double TrainLoss, double? ValidLoss, double TokensPerSecond, TimeSpan Elapsed, float LearningRate, bool IsEvaluation)
{
    /// <summary>Validation accuracy at an evaluation of a classifier (null otherwise).</summary>
    public double? ValidAccuracy { get; init; }
}

/// <summary>What a finished (or stopped) run reached.</summary>
public sealed record TrainingSummary(long Steps, int EpochsCompleted, double BestValidLoss, double LastTrainLoss, TimeSpan Elapsed, string BestCheckpoint, string LatestCheckpoint)
{
    /// <summary>True when early stopping ended the run.</summary>
    public bool StoppedEarly { get; init; }
}

/// <summary>Loss (mean over what counted), count, and for a classifier the accuracy, of a model on a data set.</summary>
public sealed record Evaluation(double Loss, long Count, double? Accuracy);

/// <summary>The loss of one training step (before the update) and the global gradient norm before clipping.</summary>
public readonly record struct StepResult(double Loss, double GradientNorm, long Correct, long Count);

/// <summary>Raised when training diverges: a non-finite loss or gradient norm. Nothing is saved from the diverged step.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>
/// The one trainer of every <see cref="SequenceModel"/>: language models (truncated BPTT over
/// streams, state carried between windows), classifiers, taggers and forecasters (shuffled,
/// length-bucketed padded batches). Each step zeroes the gradients, runs forward, loss and
/// backward, clips (by value, then by global norm) and takes an optimizer step. Validation is
/// measured at each epoch's end (and every <see cref="TrainingOptions.EvalEvery"/> steps);
/// <c>latest.ckpt</c> is written at each evaluation and <c>best.ckpt</c> whenever the monitored
/// metric improves; with <see cref="TrainingOptions.StopPatience"/> the run stops after that many
/// evaluations without improvement. A run resumed from <c>latest.ckpt</c> continues
/// bit-identically (same thread count): batches are a function of (epoch, index) alone.
/// Guard rails (docs/RELIABILITY.md): <see cref="Run"/> holds the output directory exclusively
/// (<see cref="RunDirectory"/>: a lock file with the PID, stale locks taken over, a write probe at
/// start, stale temporary files removed); sizes are checked against memory before allocating
/// (<see cref="ModelMemory"/>); a non-finite loss or gradient norm, a loss that explodes past
/// <see cref="ExplosionFactor"/> times the run's first, or non-finite weights stop the run with
/// <see cref="TrainingDivergedException"/> before anything is saved; best.ckpt is written before
/// latest.ckpt, so a crash between the two never leaves latest.ckpt promising a better best.ckpt
/// than the one on disk.
/// </summary>
public sealed class Trainer
{
    /// <summary>The checkpoint of the best evaluation so far by the monitored metric, in the output directory: <c>best.ckpt</c>.</summary>
    public const string BestFile = "best.ckpt";
    /// <summary>The checkpoint of the latest evaluation, the one to resume from, in the output directory: <c>latest.ckpt</c>.</summary>
    public const string LatestFile = "latest.ckpt";
    /// <summary>The metrics log in the output directory, <c>metrics.jsonl</c>: one JSON object per evaluation (step, epoch, window, tokens, train_loss, valid_loss, valid_ppl, valid_accuracy, lr, tokens_per_second, elapsed_seconds; non-finite values as null).</summary>
    public const string MetricsFile = "metrics.jsonl";

    /// <summary>A training loss above this many times max(1, the first loss of this run) counts as divergence.</summary>
    public const double ExplosionFactor = 1000;

    private readonly SequenceModel _model;
    private readonly ITrainingData _train;
    private readonly ITrainingData? _valid;
    private readonly TrainingOptions _options;
    private readonly string _outDir;
    private readonly IReadOnlyDictionary<string, string> _metadata;
    private readonly Rng _rng;
    private readonly Optimizer _optimizer;
    private readonly ILearningRateSchedule _schedule;
    private RecurrentState? _state;
    private TrainingProgressState _progress = new();
    private double _firstLoss = double.NaN;

    /// <summary>Test hook: runs between the writes of an evaluation (after "metrics", "best", "latest"), to inject faults.</summary>
    internal Action<string>? AfterWrite { get; set; }

    /// <summary>The model being trained, in place.</summary>
    public SequenceModel Model => _model;
    /// <summary>Where the run stands now (epoch, batch, step, best loss, …); a new value after every step.</summary>
    public TrainingProgressState Progress => _progress;
    /// <summary>The options this trainer runs with (validated when it was created).</summary>
    public TrainingOptions Options => _options;

    /// <summary>A trainer for a new run (see <see cref="Resume"/> to continue a saved one): creates the optimizer and schedule and checks that training fits in memory.</summary>
    /// <param name="model">Trained in place.</param>
    /// <param name="train">The training batches.</param>
    /// <param name="valid">The validation batches (null: no validation; checkpoints are still written at each epoch's end).</param>
    /// <param name="options">Optimizer, schedule, clipping, epochs, evaluation, stopping.</param>
    /// <param name="outDir">Where best.ckpt, latest.ckpt and metrics.jsonl go.</param>
    /// <param name="metadata">Saved into every checkpoint as it is (e.g. "vocabulary", "labels": what prediction needs besides the weights).</param>
    public Trainer(SequenceModel model, ITrainingData train, ITrainingData? valid, TrainingOptions options, string outDir, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        options.Validate();
        if (train.BatchCount < 1) throw new ArgumentException("The training data holds no batch.", nameof(train));
        _model = model;
        _train = train;
        _valid = valid;
        _options = options;
        _outDir = outDir;
        _metadata = metadata ?? new Dictionary<string, string>();
        _rng = new Rng(options.Seed ^ 0x5DEECE66DUL);
        model.Compute = new Compute(options.Threads, model.Compute.Simd);
        var (batch, steps) = train.LargestBatch;
        var memory = ModelMemory.Estimate(model.Config, batch, steps, OptimizerMoments(options));
        memory.EnsureFits(memory.OptimizerBytes + memory.ActivationBytes,
            memory.ActivationBytes > memory.OptimizerBytes ? "--batch or --bptt (the steps per batch)" : "--hidden, --layers, --embed or the vocabulary size");
        _optimizer = CreateOptimizer(model, options);
        _schedule = CreateSchedule(options, train.BatchCount);
    }

    /// <summary>
    /// A language-model run: <paramref name="train"/> ids as <see cref="TrainingOptions.Batch"/> streams cut into
    /// windows of <see cref="TrainingOptions.Bptt"/>, validation on <paramref name="valid"/> with
    /// <see cref="TrainingOptions.EvalBatch"/> streams, the vocabulary saved in every checkpoint
    /// (with <paramref name="metadata"/>, e.g. where the data came from, saved beside it).
    /// </summary>
    public static Trainer ForLanguageModel(SequenceModel model, Text.Vocabulary vocabulary, int[] train, int[] valid, TrainingOptions options, string outDir,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var saved = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { ["vocabulary"] = vocabulary.ToJson() };
        return new(model, new TokenStream(train, options.Batch, options.Bptt), TokenStream.ForEvaluation(valid, options.EvalBatch, options.Bptt), options, outDir, saved);
    }

    /// <summary>Continues the run saved in <paramref name="checkpoint"/> (its weights, optimizer, schedule, RNG, carried state and position).</summary>
    /// <remarks>
    /// <paramref name="options"/> (default: the saved ones) may change only what
    /// <see cref="TrainingOptions.IsResumable"/> allows — the epochs, the time limit, the
    /// evaluation cadence and batch, early stopping, the threads; anything else must equal the
    /// saved value. The data must be the data the run was trained on (its fingerprint is saved).
    /// </remarks>
    public static Trainer Resume(Checkpoint checkpoint, string checkpointPath, ITrainingData train, ITrainingData? valid, string outDir, TrainingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        ArgumentNullException.ThrowIfNull(train);
        options ??= checkpoint.Training;
        TrainingOptions.CheckUnchanged(checkpoint.Training, options);
        if (checkpoint.Progress.BatchesPerEpoch > 0 && checkpoint.Progress.BatchesPerEpoch != train.BatchCount)
            throw new CheckpointException($"Checkpoint '{checkpointPath}' was trained on {checkpoint.Progress.BatchesPerEpoch} batches per epoch, but the data now gives {train.BatchCount}: resume needs the same data (--data, --split, --valid) and --batch; train on other data in a new run (another --out).");
        if (checkpoint.Progress.DataFingerprint is { } saved && train.Fingerprint is { } now && saved != now)
            throw new CheckpointException($"Checkpoint '{checkpointPath}' was trained on other data than it is given now: resume needs the same data (--data, --split, --valid); train on other data in a new run (another --out).");
        TrainingOptions.CheckEpochs(checkpoint.Training, options, checkpoint.Progress);
        var model = checkpoint.CreateModel(checkpointPath);
        var trainer = new Trainer(model, train, valid, options, outDir, checkpoint.Metadata);
        try
        {
            trainer._optimizer.LoadState(checkpoint.OptimizerState, checkpoint.Progress.OptimizerSteps);
            trainer._schedule.SetState(checkpoint.ScheduleState);
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"Checkpoint '{checkpointPath}' has an invalid optimizer or schedule state: {e.Message.Split('\n')[0]}", e);
        }
        if (checkpoint.RngState.Length != 4) throw new CheckpointException($"Checkpoint '{checkpointPath}' has no valid RNG state.");
        trainer._rng.Restore(checkpoint.RngState);
        if (checkpoint.Progress.Window > train.BatchCount)
            throw new CheckpointException($"Checkpoint '{checkpointPath}' stopped at batch {checkpoint.Progress.Window} of an epoch, but the data now has {train.BatchCount} batches per epoch (was the data or --batch changed?).");
        if (checkpoint.StateH is { } h && train.CarriesState)
        {
            var state = trainer.StateFor(train.GetBatch(0, 0).Size);
            if (h.Length != state.H.Length) throw new CheckpointException($"Checkpoint '{checkpointPath}': carried state is {h.ShapeString}, the run needs {state.H.ShapeString} (was --batch changed?).");
            h.Span.CopyTo(state.H.Span);
            if (checkpoint.StateC is { } c && state.C is { } sc)
            {
                if (c.Length != sc.Length) throw new CheckpointException($"Checkpoint '{checkpointPath}': carried cell state has the wrong size.");
                c.Span.CopyTo(sc.Span);
            }
        }
        trainer._progress = checkpoint.Progress;
        return trainer;
    }

    /// <summary>
    /// One update on <paramref name="batch"/>: zero the gradients, forward, loss, backward, clip,
    /// optimizer step. A non-finite loss or gradient norm throws <see cref="TrainingDivergedException"/>
    /// before the weights change. <paramref name="afterBackward"/> sees the (clipped) gradients before the update.
    /// </summary>
    public StepResult Step(SequenceBatch batch, RecurrentState? state = null, Action<StepResult>? afterBackward = null)
    {
        _optimizer.LearningRate = _schedule.LearningRate(_progress.OptimizerSteps);
        _model.ZeroGrad();
        var predictions = _model.Forward(batch, state, training: true, _rng);
        var loss = _model.Loss(predictions, batch, backward: true);
        if (!double.IsFinite(loss.Loss))
            throw new TrainingDivergedException($"Training diverged at step {_progress.Step + 1}: the loss is {loss.Loss}. Lower --lr or set --clip.");
        _model.Backward(predictions.Span);
        if (_options.ClipValue > 0) GradientClipping.ClipByValue(_model.Parameters, _options.ClipValue);
        double norm = _options.ClipNorm > 0 ? GradientClipping.ClipByGlobalNorm(_model.Parameters, _options.ClipNorm) : GradientClipping.GlobalNorm(_model.Parameters);
        var result = new StepResult(loss.Loss, norm, loss.Correct, loss.Count);
        afterBackward?.Invoke(result);
        if (!double.IsFinite(norm))
            throw new TrainingDivergedException($"Training diverged at step {_progress.Step + 1}: the gradient norm is {norm}. Lower --lr or set --clip.");
        _optimizer.Step();
        _progress = _progress with { Step = _progress.Step + 1, OptimizerSteps = _progress.OptimizerSteps + 1 };
        return result;
    }

    /// <summary>
    /// Trains until <see cref="TrainingOptions.Epochs"/>, the time limit (<see cref="TrainingOptions.MaxMinutes"/>,
    /// counted from this call, so a resumed run gets its own budget), early stopping or
    /// <paramref name="cancel"/>; each of the last three ends with an evaluation and latest.ckpt
    /// saved after the step in progress. Holds the output directory for its duration.
    /// </summary>
    /// <exception cref="IOException">The output directory cannot be created or written, or another process holds it.</exception>
    /// <exception cref="TrainingDivergedException">The loss, gradients or weights diverged; nothing from the diverged steps is saved.</exception>
    public TrainingSummary Run(Action<TrainingReport>? report = null, CancellationToken cancel = default)
    {
        using var directory = RunDirectory.Acquire(_outDir);
        TrimMetrics();
        int batches = _train.BatchCount;
        _progress = _progress with { BatchesPerEpoch = batches, DataFingerprint = _train.Fingerprint };
        var clock = Stopwatch.StartNew();
        double startElapsed = _progress.ElapsedSeconds;
        double Elapsed() => startElapsed + clock.Elapsed.TotalSeconds;
        double runningLoss = 0, lastLoss = double.NaN;
        int runningCount = 0;
        long tokensAtStart = _progress.Tokens;
        bool stopped = false, stoppedEarly = false;

        while (_progress.Epoch < _options.Epochs && !stopped)
        {
            if (_progress.Window == 0) _state?.Reset();
            for (int w = _progress.Window; w < batches; w++)
            {
                var batch = _train.GetBatch(_progress.Epoch, w);
                var state = _train.CarriesState ? StateFor(batch.Size) : null;
                float lr = _schedule.LearningRate(_progress.OptimizerSteps);
                var step = Step(batch, state);
                CheckExplosion(step.Loss, "training loss");
                _progress = _progress with { Window = w + 1, Tokens = _progress.Tokens + batch.TokenCount };
                runningLoss += step.Loss; runningCount++; lastLoss = step.Loss;
                double tps = (_progress.Tokens - tokensAtStart) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                report?.Invoke(new TrainingReport(_progress.Epoch + 1, _options.Epochs, w + 1, batches, _progress.Step, step.Loss, null, tps, TimeSpan.FromSeconds(Elapsed()), lr, false));

                bool timeUp = _options.MaxMinutes > 0 && clock.Elapsed.TotalSeconds >= _options.MaxMinutes * 60;
                bool endOfEpoch = w + 1 == batches;
                if (endOfEpoch) _progress = _progress with { Epoch = _progress.Epoch + 1, Window = 0 };
                bool evalNow = endOfEpoch || timeUp || cancel.IsCancellationRequested || (_options.EvalEvery > 0 && _progress.Step % _options.EvalEvery == 0);
                if (evalNow)
                {
                    double train = runningCount > 0 ? runningLoss / runningCount : double.NaN;
                    runningLoss = 0; runningCount = 0;
                    stoppedEarly = EvaluateAndSave(train, Elapsed(), tps, lr, batches, report);
                }
                if (timeUp || cancel.IsCancellationRequested || stoppedEarly) { stopped = true; break; }
                if (endOfEpoch) break;
            }
        }
        return new TrainingSummary(_progress.Step, _progress.Epoch, _progress.BestValidLoss, lastLoss, TimeSpan.FromSeconds(Elapsed()),
            Path.Combine(_outDir, BestFile), Path.Combine(_outDir, LatestFile)) { StoppedEarly = stoppedEarly };
    }

    /// <summary>Evaluates, saves latest (and best when the monitored metric improved), appends metrics; returns true when early stopping says stop.</summary>
    private bool EvaluateAndSave(double trainLoss, double elapsed, double tokensPerSecond, float lr, int batches, Action<TrainingReport>? report)
    {
        var valid = _valid is null ? null : Evaluate(_model, _valid);
        double validLoss = valid?.Loss ?? trainLoss;
        if (valid is not null) CheckExplosion(validLoss, "validation loss");
        CheckWeights();
        _schedule.ReportValidation(validLoss);
        // Lower is better: the loss, or minus the accuracy.
        double score = _options.Monitor == MonitorMetric.Accuracy && valid?.Accuracy is double a ? -a : validLoss;
        bool best = score < _progress.BestScore;
        _progress = _progress with
        {
            ElapsedSeconds = elapsed,
            BestScore = best ? score : _progress.BestScore,
            BestValidLoss = best ? validLoss : _progress.BestValidLoss,
            EvaluationsWithoutImprovement = best ? 0 : _progress.EvaluationsWithoutImprovement + 1,
        };
        // Metrics, then best, then latest: a crash between any two leaves latest.ckpt at or behind
        // what is on disk, and resuming from it trims the metrics and redoes the rest identically.
        AppendMetrics(trainLoss, valid, elapsed, tokensPerSecond, lr);
        AfterWrite?.Invoke("metrics");
        var checkpoint = MakeCheckpoint();
        if (best) { checkpoint.Save(Path.Combine(_outDir, BestFile)); AfterWrite?.Invoke("best"); }
        checkpoint.Save(Path.Combine(_outDir, LatestFile));
        AfterWrite?.Invoke("latest");
        report?.Invoke(new TrainingReport(_progress.Epoch + (_progress.Window > 0 ? 1 : 0), _options.Epochs, _progress.Window, batches, _progress.Step,
            trainLoss, valid?.Loss, tokensPerSecond, TimeSpan.FromSeconds(elapsed), lr, true) { ValidAccuracy = valid?.Accuracy });
        return _options.StopPatience > 0 && _progress.EvaluationsWithoutImprovement >= _options.StopPatience;
    }

    /// <summary>
    /// Mean loss over everything that counts (tokens, sequences, tagged steps or target values)
    /// and, for a classifier, the accuracy. Streams that carry state are evaluated with the state
    /// carried from batch to batch.
    /// </summary>
    public static Evaluation Evaluate(SequenceModel model, ITrainingData data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var (rows, steps) = data.LargestBatch;
        var memory = ModelMemory.Estimate(model.Config, rows, steps, training: false);
        memory.EnsureFits(memory.ActivationBytes, "--batch or --bptt (the steps per batch)");
        RecurrentState? state = null;
        double sum = 0;
        long count = 0, correct = 0;
        for (int i = 0; i < data.BatchCount; i++)
        {
            var batch = data.GetBatch(0, i);
            if (data.CarriesState) state ??= model.NewState(batch.Size);
            var loss = model.Loss(model.Forward(batch, state, keepForBackward: false), batch, backward: false);
            sum += loss.Loss * loss.Count;
            count += loss.Count;
            correct += loss.Correct;
        }
        double mean = count == 0 ? double.NaN : sum / count;
        return new Evaluation(mean, count, model.Config.IsClassifier && count > 0 ? (double)correct / count : null);
    }

    /// <summary>A snapshot of the whole run as it stands now: model config, metadata, options, progress, weights, optimizer and schedule state, RNG state and the carried hidden state (what <see cref="Run"/> saves as best.ckpt and latest.ckpt). The weights and the carried state are live views, not copies: save the checkpoint before the next step.</summary>
    /// <returns>The checkpoint, ready for <see cref="Checkpoint.Save"/>.</returns>
    public Checkpoint MakeCheckpoint() => new()
    {
        Model = _model.Config,
        Metadata = _metadata,
        Training = _options,
        Progress = _progress,
        Weights = _model.StateDict(),
        OptimizerState = _optimizer.StateTensors(),
        ScheduleState = _schedule.GetState(),
        RngState = _rng.GetState(),
        StateH = _state?.H,
        StateC = _state?.C,
    };

    /// <summary>Throws when a finite loss has exploded: above <see cref="ExplosionFactor"/> × max(1, the first training loss of this run).</summary>
    private void CheckExplosion(double loss, string what)
    {
        if (double.IsNaN(_firstLoss)) _firstLoss = loss;
        double limit = ExplosionFactor * Math.Max(1, _firstLoss);
        if (!double.IsFinite(loss) || loss > limit)
            throw new TrainingDivergedException(FormattableString.Invariant(
                $"Training diverged at step {_progress.Step}: the {what} is {loss:G4}, over {ExplosionFactor:G}× the first loss ({_firstLoss:G4}); nothing from it was saved. Lower --lr (now {_options.LearningRate:G3}) or set --clip (now {(_options.ClipNorm > 0 ? _options.ClipNorm.ToString("G3", System.Globalization.CultureInfo.InvariantCulture) : "off")})."));
    }

    /// <summary>Throws when a weight is not finite (e.g. an update overflowed), so such a model is never saved.</summary>
    private void CheckWeights()
    {
        foreach (var (name, p) in _model.NamedParameters)
            if (p.Value.Length > 0 && !float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(p.Span)))
                throw new TrainingDivergedException($"Training diverged by step {_progress.Step}: {name} holds non-finite values; nothing from it was saved. Lower --lr (now {_options.LearningRate.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)}) or set --clip.");
    }

    private static int OptimizerMoments(TrainingOptions o) => o.Optimizer switch
    {
        OptimizerKind.Adam or OptimizerKind.AdamW => 2,
        OptimizerKind.Sgd => o.Momentum > 0 ? 1 : 0,
        _ => o.Momentum > 0 ? 2 : 1,
    };

    private RecurrentState StateFor(int batch)
    {
        if (_state is null || _state.Batch != batch) _state = _model.NewState(batch);
        return _state;
    }

    private void AppendMetrics(double train, Evaluation? valid, double elapsed, double tps, float lr)
    {
        var line = JsonSerializer.Serialize(new
        {
            step = _progress.Step,
            epoch = _progress.Epoch,
            window = _progress.Window,
            tokens = _progress.Tokens,
            train_loss = Finite(train),
            valid_loss = Finite(valid?.Loss),
            valid_ppl = _model.Config.IsLanguageModel ? Finite(Math.Exp(valid?.Loss ?? double.NaN)) : null,
            valid_accuracy = valid?.Accuracy,
            lr,
            tokens_per_second = tps,
            elapsed_seconds = elapsed,
        });
        File.AppendAllText(Path.Combine(_outDir, MetricsFile), line + "\n");
    }

    /// <summary>JSON has no NaN or infinity: such values are written as null.</summary>
    private static double? Finite(double? value) => value is double v && double.IsFinite(v) ? v : null;

    /// <summary>On resume, drops metric lines written after the checkpoint's step (a crash between the two writes).</summary>
    private void TrimMetrics()
    {
        var path = Path.Combine(_outDir, MetricsFile);
        if (!File.Exists(path)) return;
        if (_progress.Step == 0) { File.Delete(path); return; }
        var kept = File.ReadAllLines(path).Where(line =>
        {
            try { return JsonDocument.Parse(line).RootElement.GetProperty("step").GetInt64() <= _progress.Step; }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException) { return false; }
        }).ToList();
        Serialization.AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(string.Concat(kept.Select(l => l + "\n"))));
    }

    private static Optimizer CreateOptimizer(SequenceModel model, TrainingOptions o) => o.Optimizer switch
    {
        OptimizerKind.Sgd => new Sgd(model.Parameters, o.LearningRate, o.Momentum, o.Nesterov, o.WeightDecay),
        OptimizerKind.Adam => new Adam(model.Parameters, o.LearningRate, weightDecay: o.WeightDecay),
        OptimizerKind.AdamW => new AdamW(model.Parameters, o.LearningRate, weightDecay: o.WeightDecay > 0 ? o.WeightDecay : 1e-2f),
        OptimizerKind.RmsProp => new RmsProp(model.Parameters, o.LearningRate, momentum: o.Momentum, weightDecay: o.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Optimizer, "Unknown optimizer."),
    };

    private static ILearningRateSchedule CreateSchedule(TrainingOptions o, int batchesPerEpoch) => o.Schedule switch
    {
        ScheduleKind.Constant => new ConstantSchedule(o.LearningRate),
        ScheduleKind.Step => new StepDecaySchedule(o.LearningRate, o.DecaySteps, o.DecayFactor),
        ScheduleKind.Plateau => new PlateauSchedule(o.LearningRate, o.DecayFactor, o.Patience),
        ScheduleKind.Cosine => new CosineSchedule(o.LearningRate, o.WarmupSteps, Math.Max(1L, (long)batchesPerEpoch * o.Epochs)),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Optimizer, "Unknown schedule."),
    };
}
