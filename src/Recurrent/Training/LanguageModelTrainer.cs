using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Optimizers;
using Recurrent.Text;

namespace Recurrent.Training;

/// <summary>One report of a running training loop.</summary>
public sealed record TrainingReport(
    int Epoch, int Epochs, int Window, int WindowsPerEpoch, long Step,
    double TrainLoss, double? ValidLoss, double TokensPerSecond, TimeSpan Elapsed, float LearningRate, bool IsEvaluation);

/// <summary>What a finished (or stopped) run reached.</summary>
public sealed record TrainingSummary(long Steps, int EpochsCompleted, double BestValidLoss, double LastTrainLoss, TimeSpan Elapsed, string BestCheckpoint, string LatestCheckpoint);

/// <summary>
/// Trains a <see cref="LanguageModel"/> with truncated BPTT, as PyTorch's word_language_model:
/// the training ids are laid out as B parallel streams, cut into windows of T steps; the hidden
/// state is carried from one window to the next with the gradient cut; validation loss is
/// measured at each epoch's end (and every <see cref="TrainingOptions.EvalEvery"/> steps);
/// <c>latest.ckpt</c> is written at each evaluation and <c>best.ckpt</c> whenever validation improves.
/// A run resumed from <c>latest.ckpt</c> continues bit-identically (same thread count).
/// </summary>
public sealed class LanguageModelTrainer
{
    public const string BestFile = "best.ckpt";
    public const string LatestFile = "latest.ckpt";
    public const string MetricsFile = "metrics.jsonl";

    private readonly LanguageModel _model;
    private readonly Vocabulary _vocabulary;
    private readonly int[] _train;
    private readonly int[] _valid;
    private readonly TrainingOptions _options;
    private readonly string _outDir;
    private readonly Rng _rng;
    private readonly Optimizer _optimizer;
    private readonly ILearningRateSchedule _schedule;
    private readonly RecurrentState _state;
    private TrainingProgressState _progress = new();

    public LanguageModel Model => _model;
    public TrainingProgressState Progress => _progress;

    public LanguageModelTrainer(LanguageModel model, Vocabulary vocabulary, int[] train, int[] valid, TrainingOptions options, string outDir)
    {
        options.Validate();
        _model = model;
        _vocabulary = vocabulary;
        _train = train;
        _valid = valid;
        _options = options;
        _outDir = outDir;
        _rng = new Rng(options.Seed ^ 0x5DEECE66DUL);
        model.Compute = new Compute(options.Threads);
        _optimizer = CreateOptimizer(model, options);
        _schedule = CreateSchedule(options, train.Length / options.Batch / Math.Max(1, options.Bptt));
        _state = model.NewState(options.Batch);
        // Fail now, not after an epoch, when the corpus cannot fill one window.
        _ = new LanguageModelBatches(train, options.Batch, options.Bptt);
        if (valid.Length < 2) throw new ArgumentException("The validation text needs at least 2 tokens.");
    }

    /// <summary>Continues the run saved in <paramref name="checkpoint"/> (its options, state and position).</summary>
    public static LanguageModelTrainer Resume(Checkpoint checkpoint, string checkpointPath, Vocabulary vocabulary, int[] train, int[] valid, string outDir, TrainingOptions? options = null)
    {
        var model = checkpoint.CreateModel(checkpointPath);
        var trainer = new LanguageModelTrainer(model, vocabulary, train, valid, options ?? checkpoint.Training, outDir);
        trainer._optimizer.LoadState(checkpoint.OptimizerState, checkpoint.Progress.OptimizerSteps);
        trainer._schedule.SetState(checkpoint.ScheduleState);
        if (checkpoint.RngState.Length != 4) throw new CheckpointException($"Checkpoint '{checkpointPath}' has no valid RNG state.");
        trainer._rng.Restore(checkpoint.RngState);
        if (checkpoint.StateH is { } h)
        {
            if (h.Length != trainer._state.H.Length) throw new CheckpointException($"Checkpoint '{checkpointPath}': carried state is {h.ShapeString}, the run needs {trainer._state.H.ShapeString} (was --batch changed?).");
            h.Span.CopyTo(trainer._state.H.Span);
        }
        if (checkpoint.StateC is { } c && trainer._state.C is { } sc)
        {
            if (c.Length != sc.Length) throw new CheckpointException($"Checkpoint '{checkpointPath}': carried cell state has the wrong size.");
            c.Span.CopyTo(sc.Span);
        }
        trainer._progress = checkpoint.Progress;
        return trainer;
    }

    public TrainingSummary Run(Action<TrainingReport>? report = null, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(_outDir);
        TrimMetrics();
        var batches = new LanguageModelBatches(_train, _options.Batch, _options.Bptt);
        int windows = batches.WindowCount;
        var inputs = new int[_options.Bptt * _options.Batch];
        var targets = new int[_options.Bptt * _options.Batch];
        var clock = Stopwatch.StartNew();
        double startElapsed = _progress.ElapsedSeconds;
        double Elapsed() => startElapsed + clock.Elapsed.TotalSeconds;
        double runningLoss = 0, lastLoss = double.NaN;
        int runningCount = 0;
        long tokensAtStart = _progress.Tokens;
        int V = _model.Config.VocabularySize;
        bool stopped = false;

        while (_progress.Epoch < _options.Epochs && !stopped)
        {
            if (_progress.Window == 0) _state.Reset();
            for (int w = _progress.Window; w < windows; w++)
            {
                int T = batches.GetWindow(w, inputs, targets);
                float lr = _schedule.LearningRate(_progress.OptimizerSteps);
                _optimizer.LearningRate = lr;
                _model.ZeroGrad();
                var logits = _model.Forward(inputs, T, _options.Batch, _state, training: true, _rng);
                var (loss, _) = SoftmaxCrossEntropy.ForwardBackward(logits.Span, targets.AsSpan(0, T * _options.Batch), V);
                if (!double.IsFinite(loss))
                    throw new InvalidOperationException($"Training diverged at step {_progress.Step + 1} (loss {loss}); try a lower --lr or a --clip value.");
                _model.Backward(logits.Span);
                if (_options.ClipValue > 0) GradientClipping.ClipByValue(_model.Parameters, _options.ClipValue);
                if (_options.ClipNorm > 0) GradientClipping.ClipByGlobalNorm(_model.Parameters, _options.ClipNorm);
                _optimizer.Step();
                _progress = _progress with
                {
                    Window = w + 1,
                    Step = _progress.Step + 1,
                    OptimizerSteps = _progress.OptimizerSteps + 1,
                    Tokens = _progress.Tokens + (long)T * _options.Batch,
                };
                runningLoss += loss; runningCount++; lastLoss = loss;
                double tps = (_progress.Tokens - tokensAtStart) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                report?.Invoke(new TrainingReport(_progress.Epoch + 1, _options.Epochs, w + 1, windows, _progress.Step, loss, null, tps, TimeSpan.FromSeconds(Elapsed()), lr, false));

                bool timeUp = _options.MaxMinutes > 0 && Elapsed() >= _options.MaxMinutes * 60;
                bool endOfEpoch = w + 1 == windows;
                if (endOfEpoch) _progress = _progress with { Epoch = _progress.Epoch + 1, Window = 0 };
                bool evalNow = endOfEpoch || timeUp || cancel.IsCancellationRequested || (_options.EvalEvery > 0 && _progress.Step % _options.EvalEvery == 0);
                if (evalNow)
                {
                    double train = runningCount > 0 ? runningLoss / runningCount : double.NaN;
                    runningLoss = 0; runningCount = 0;
                    EvaluateAndSave(train, Elapsed(), tps, lr, windows, report);
                }
                if (timeUp || cancel.IsCancellationRequested) { stopped = true; break; }
                if (endOfEpoch) break;
            }
        }
        return new TrainingSummary(_progress.Step, _progress.Epoch, _progress.BestValidLoss, lastLoss, TimeSpan.FromSeconds(Elapsed()),
            Path.Combine(_outDir, BestFile), Path.Combine(_outDir, LatestFile));
    }

    private void EvaluateAndSave(double trainLoss, double elapsed, double tokensPerSecond, float lr, int windows, Action<TrainingReport>? report)
    {
        double valid = Evaluate(_model, _valid, _options.EvalBatch, _options.Bptt);
        _schedule.ReportValidation(valid);
        bool best = valid < _progress.BestValidLoss;
        _progress = _progress with { ElapsedSeconds = elapsed, BestValidLoss = best ? valid : _progress.BestValidLoss };
        var checkpoint = MakeCheckpoint();
        checkpoint.Save(Path.Combine(_outDir, LatestFile));
        if (best) checkpoint.Save(Path.Combine(_outDir, BestFile));
        AppendMetrics(trainLoss, valid, elapsed, tokensPerSecond, lr);
        report?.Invoke(new TrainingReport(_progress.Epoch + (_progress.Window > 0 ? 1 : 0), _options.Epochs, _progress.Window, windows, _progress.Step,
            trainLoss, valid, tokensPerSecond, TimeSpan.FromSeconds(elapsed), lr, true));
    }

    /// <summary>Mean cross-entropy (nats per token) of <paramref name="ids"/> under the model, state carried across windows.</summary>
    public static double Evaluate(LanguageModel model, int[] ids, int batch, int bptt)
    {
        while (batch > 1 && ids.Length / batch < 2) batch--;
        var batches = new LanguageModelBatches(ids, batch, bptt);
        var state = model.NewState(batch);
        var inputs = new int[bptt * batch];
        var targets = new int[bptt * batch];
        double sum = 0;
        long count = 0;
        for (int w = 0; w < batches.WindowCount; w++)
        {
            int T = batches.GetWindow(w, inputs, targets);
            var logits = model.Forward(inputs, T, batch, state, keepForBackward: false);
            var (s, c) = SoftmaxCrossEntropy.Evaluate(logits.Span, targets.AsSpan(0, T * batch), model.Config.VocabularySize);
            sum += s; count += c;
        }
        return count == 0 ? double.NaN : sum / count;
    }

    public Checkpoint MakeCheckpoint() => new()
    {
        Model = _model.Config,
        VocabularyJson = _vocabulary.ToJson(),
        Training = _options,
        Progress = _progress,
        Weights = _model.NamedParameters.ToDictionary(n => n.Name, n => n.Parameter.Value),
        OptimizerState = _optimizer.StateTensors(),
        ScheduleState = _schedule.GetState(),
        RngState = _rng.GetState(),
        StateH = _state.H,
        StateC = _state.C,
    };

    private void AppendMetrics(double train, double valid, double elapsed, double tps, float lr)
    {
        var line = JsonSerializer.Serialize(new
        {
            step = _progress.Step,
            epoch = _progress.Epoch,
            window = _progress.Window,
            tokens = _progress.Tokens,
            train_loss = double.IsFinite(train) ? train : (double?)null,
            valid_loss = valid,
            valid_ppl = Math.Exp(valid),
            lr,
            tokens_per_second = tps,
            elapsed_seconds = elapsed,
        });
        File.AppendAllText(Path.Combine(_outDir, MetricsFile), line + "\n");
    }

    /// <summary>On resume, drops metric lines written after the checkpoint's step (a crash between the two writes).</summary>
    private void TrimMetrics()
    {
        var path = Path.Combine(_outDir, MetricsFile);
        if (!File.Exists(path)) return;
        if (_progress.Step == 0) { File.Delete(path); return; }
        var kept = File.ReadAllLines(path).Where(line =>
        {
            try { return JsonDocument.Parse(line).RootElement.GetProperty("step").GetInt64() <= _progress.Step; }
            catch (JsonException) { return false; }
        }).ToList();
        File.WriteAllLines(path, kept);
    }

    private static Optimizer CreateOptimizer(LanguageModel model, TrainingOptions o) => o.Optimizer switch
    {
        OptimizerKind.Sgd => new Sgd(model.Parameters, o.LearningRate, o.Momentum, o.Nesterov, o.WeightDecay),
        OptimizerKind.Adam => new Adam(model.Parameters, o.LearningRate, weightDecay: o.WeightDecay),
        OptimizerKind.AdamW => new AdamW(model.Parameters, o.LearningRate, weightDecay: o.WeightDecay > 0 ? o.WeightDecay : 1e-2f),
        OptimizerKind.RmsProp => new RmsProp(model.Parameters, o.LearningRate, momentum: o.Momentum, weightDecay: o.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Optimizer, "Unknown optimizer."),
    };

    private static ILearningRateSchedule CreateSchedule(TrainingOptions o, int windowsPerEpoch) => o.Schedule switch
    {
        ScheduleKind.Constant => new ConstantSchedule(o.LearningRate),
        ScheduleKind.Step => new StepDecaySchedule(o.LearningRate, o.DecaySteps, o.DecayFactor),
        ScheduleKind.Plateau => new PlateauSchedule(o.LearningRate, o.DecayFactor, o.Patience),
        ScheduleKind.Cosine => new CosineSchedule(o.LearningRate, o.WarmupSteps, Math.Max(1L, (long)windowsPerEpoch * o.Epochs)),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Schedule, "Unknown schedule."),
    };
}
