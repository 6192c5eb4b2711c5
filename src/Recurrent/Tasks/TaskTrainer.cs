using Recurrent.Diagnostics;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Training;

namespace Recurrent.Tasks;

/// <summary>The optimizer of <see cref="TaskTrainer"/>: Adam (PyTorch defaults), or plain SGD (θ ← θ − lr·g), whose step grows with the gradient.</summary>
public enum TaskOptimizer { Adam, Sgd }

/// <summary>How to train a task model (<see cref="SequenceTask.CreateModel"/>): steps of Adam or SGD on fresh batches, optional clipping by global norm.</summary>
public sealed record TaskTrainingOptions(int Steps, int BatchSize = 32, float LearningRate = 1e-3f, double? ClipNorm = null,
    TaskOptimizer Optimizer = TaskOptimizer.Adam)
{
    public void Validate()
    {
        if (Steps < 0 || Steps > 10_000_000) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Steps must be between 0 and 10000000.");
        if (BatchSize < 1 || BatchSize > 1 << 16) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Batch size must be between 1 and 65536.");
        if (!(LearningRate > 0f && float.IsFinite(LearningRate))) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be a positive finite number.");
        if (ClipNorm is double c && !(c > 0 && double.IsFinite(c))) throw new ArgumentOutOfRangeException(nameof(ClipNorm), c, "The clipping threshold must be a positive finite number (or none).");
    }
}

/// <summary>One update: the batch's loss (before the update), its accuracy (NaN for regression) and the global gradient norm before clipping.</summary>
public readonly record struct TaskTrainingStep(int Step, double Loss, double Accuracy, double GradientNorm);

/// <summary>The steps taken; <see cref="DivergedAt"/> is the step whose loss or gradient was not finite (training stopped there), or null.</summary>
public sealed record TaskTrainingResult(IReadOnlyList<TaskTrainingStep> Steps, int? DivergedAt);

/// <summary>
/// The long-range tasks' driver of the one <see cref="Trainer"/>: each step draws a fresh batch
/// and takes one <see cref="Trainer.Step"/> (forward, BPTT, clipping by global norm if asked, an
/// optimizer update). A non-finite loss or gradient norm stops training (the step is recorded,
/// no update is made).
/// </summary>
public static class TaskTrainer
{
    /// <param name="model">A model from <see cref="SequenceTask.CreateModel"/>, trained in place.</param>
    /// <param name="task">Draws the batches.</param>
    /// <param name="options">Steps, batch size, learning rate, clipping.</param>
    /// <param name="data">The random generator of the batches.</param>
    /// <param name="afterStep">Called after every step, with the gradients of that step still in place (clipped); the recorder of <see cref="HiddenGradientRecorder"/> holds its ‖dL/dh_t‖.</param>
    /// <param name="beforeStep">Called with the step number before each step's batch is drawn: the place to probe the model
    /// (e.g. <see cref="GradientProbe"/>), since that step zeroes the gradients afterwards.</param>
    public static TaskTrainingResult Train(SequenceModel model, SequenceTask task, TaskTrainingOptions options, Rng data, Action<TaskTrainingStep>? afterStep = null,
        Action<int>? beforeStep = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var trainingOptions = new TrainingOptions
        {
            Optimizer = options.Optimizer == TaskOptimizer.Sgd ? OptimizerKind.Sgd : OptimizerKind.Adam,
            LearningRate = options.LearningRate,
            ClipNorm = options.ClipNorm is double c ? (float)c : 0f,
            Threads = model.Compute.Threads,
        };
        var trainer = new Trainer(model, new NoData(), null, trainingOptions, "");
        var steps = new List<TaskTrainingStep>(options.Steps);
        for (int s = 0; s < options.Steps; s++)
        {
            beforeStep?.Invoke(s);
            var batch = task.Sample(options.BatchSize, data);
            TaskTrainingStep? recorded = null;
            try
            {
                trainer.Step(batch, afterBackward: r => recorded = Record(s, r, task));
            }
            catch (TrainingDivergedException)
            {
                var step = recorded ?? new TaskTrainingStep(s, double.NaN, double.NaN, double.NaN);
                if (recorded is null) { steps.Add(step); afterStep?.Invoke(step); }
                return new TaskTrainingResult(steps, s);
            }
            steps.Add(recorded!.Value);
            afterStep?.Invoke(recorded.Value);
        }
        return new TaskTrainingResult(steps, null);
    }

    /// <summary>Loss and accuracy (NaN for regression) of <paramref name="model"/> on <paramref name="batch"/>, without gradients.</summary>
    public static TaskLoss Evaluate(SequenceModel model, SequenceBatch batch)
    {
        var loss = model.Loss(model.Forward(batch), batch, backward: false);
        return new TaskLoss(loss.Loss, model.Config.IsClassifier ? (double)loss.Correct / loss.Count : double.NaN);
    }

    private static TaskTrainingStep Record(int s, StepResult r, SequenceTask task) =>
        new(s, r.Loss, task.Kind == TaskKind.Classification ? (double)r.Correct / r.Count : double.NaN, r.GradientNorm);

    /// <summary>The trainer's data when every batch is drawn fresh by the caller.</summary>
    private sealed class NoData : ITrainingData
    {
        public int BatchCount => 1;
        public bool CarriesState => false;
        public SequenceBatch GetBatch(int epoch, int index) => throw new InvalidOperationException("Task batches are drawn by TaskTrainer.");
    }
}

/// <summary>Loss of one batch, and for classification the fraction of readouts classified correctly (NaN for regression).</summary>
public readonly record struct TaskLoss(double Loss, double Accuracy);
