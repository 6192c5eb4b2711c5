using Recurrent.Diagnostics;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Training;

namespace Recurrent.Tasks;

/// <summary>The optimizer of <see cref="TaskTrainer"/>: Adam (PyTorch defaults), or plain SGD (θ ← θ − lr·g), whose step grows with the gradient.</summary>
public enum TaskOptimizer
{
    /// <summary>Adam with PyTorch's defaults apart from the learning rate (β₁ = 0.9, β₂ = 0.999, ε = 1e-8, no weight decay).</summary>
    Adam,
    /// <summary>Plain SGD without momentum: θ ← θ − lr·g.</summary>
    Sgd,
}

/// <summary>How to train a task model (<see cref="SequenceTask.CreateModel"/>): steps of Adam or SGD on fresh batches, optional clipping by global norm.</summary>
/// <param name="Steps">Number of updates, 0..10,000,000; each draws a fresh batch.</param>
/// <param name="BatchSize">Sequences per batch, 1..65,536 (default 32).</param>
/// <param name="LearningRate">The optimizer's learning rate, positive and finite (default 1e-3).</param>
/// <param name="ClipNorm">Clip the gradients so that their global L2 norm is at most this (positive, finite); null (the default) for no clipping.</param>
/// <param name="Optimizer">Adam (the default) or plain SGD.</param>
public sealed record TaskTrainingOptions(int Steps, int BatchSize = 32, float LearningRate = 1e-3f, double? ClipNorm = null,
    TaskOptimizer Optimizer = TaskOptimizer.Adam)
{
    /// <summary>Checks the ranges given for the parameters above.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="Steps"/>, <see cref="BatchSize"/>, <see cref="LearningRate"/> or <see cref="ClipNorm"/> is out of range; the message names the first.</exception>
    public void Validate()
    {
        if (Steps < 0 || Steps > 10_000_000) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Steps must be between 0 and 10000000.");
        if (BatchSize < 1 || BatchSize > 1 << 16) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Batch size must be between 1 and 65536.");
        if (!(LearningRate > 0f && float.IsFinite(LearningRate))) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "Learning rate must be a positive finite number.");
        if (ClipNorm is double c && !(c > 0 && double.IsFinite(c))) throw new ArgumentOutOfRangeException(nameof(ClipNorm), c, "The clipping threshold must be a positive finite number (or none).");
    }
}

/// <summary>One update: the batch's loss (before the update), its accuracy (NaN for regression) and the global gradient norm before clipping.</summary>
/// <param name="Step">The step's 0-based number.</param>
/// <param name="Loss">The batch's mean loss at the readouts, before the update.</param>
/// <param name="Accuracy">Classification: the fraction of readouts classified correctly, 0..1; NaN for regression.</param>
/// <param name="GradientNorm">The global L2 norm of all parameter gradients, before clipping.</param>
public readonly record struct TaskTrainingStep(int Step, double Loss, double Accuracy, double GradientNorm);

/// <summary>The steps taken; <see cref="DivergedAt"/> is the step whose loss or gradient was not finite (training stopped there), or null.</summary>
/// <param name="Steps">The recorded steps, in order, one per completed update (when training diverged, see <see cref="DivergedAt"/>).</param>
/// <param name="DivergedAt">The 0-based number of the step at which training stopped because the loss or gradient norm was not finite; null when every step completed.</param>
public sealed record TaskTrainingResult(IReadOnlyList<TaskTrainingStep> Steps, int? DivergedAt);

/// <summary>
/// The long-range tasks' driver of the one <see cref="Trainer"/>: each step draws a fresh batch
/// and takes one <see cref="Trainer.Step"/> (forward, BPTT, clipping by global norm if asked, an
/// optimizer update). A non-finite loss or gradient norm stops training (the step is recorded,
/// no update is made).
/// </summary>
public static class TaskTrainer
{
    /// <summary>Trains <paramref name="model"/> on <paramref name="task"/> for <see cref="TaskTrainingOptions.Steps"/> updates, each on a freshly drawn batch; stops early at the first non-finite loss or gradient norm.</summary>
    /// <param name="model">A model from <see cref="SequenceTask.CreateModel"/>, trained in place.</param>
    /// <param name="task">Draws the batches.</param>
    /// <param name="options">Steps, batch size, learning rate, clipping.</param>
    /// <param name="data">The random generator of the batches.</param>
    /// <param name="afterStep">Called after every step, with the gradients of that step still in place (clipped); the recorder of <see cref="HiddenGradientRecorder"/> holds its ‖dL/dh_t‖.</param>
    /// <param name="beforeStep">Called with the step number before each step's batch is drawn: the place to probe the model
    /// (e.g. <see cref="GradientProbe"/>), since that step zeroes the gradients afterwards.</param>
    /// <returns>The recorded steps and, when training diverged, the step at which it stopped.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/>, <paramref name="task"/>, <paramref name="options"/> or <paramref name="data"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="options"/> is out of range (see <see cref="TaskTrainingOptions.Validate"/>).</exception>
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
                // The diverged step is recorded either way: with its loss and gradient norm when
                // backward ran (the norm was not finite), else as NaN (the loss was not finite).
                var step = recorded ?? new TaskTrainingStep(s, double.NaN, double.NaN, double.NaN);
                steps.Add(step);
                afterStep?.Invoke(step);
                return new TaskTrainingResult(steps, s);
            }
            steps.Add(recorded!.Value);
            afterStep?.Invoke(recorded.Value);
        }
        return new TaskTrainingResult(steps, null);
    }

    /// <summary>Loss and accuracy (NaN for regression) of <paramref name="model"/> on <paramref name="batch"/>, without gradients.</summary>
    /// <param name="model">The model to score; no gradients are computed and no weights change.</param>
    /// <param name="batch">A batch, e.g. from <see cref="SequenceTask.Sample"/>.</param>
    /// <returns>The mean loss over the scored steps and, for a classifier, the fraction of them classified correctly.</returns>
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
/// <param name="Loss">The batch's mean loss.</param>
/// <param name="Accuracy">Classification: the fraction of scored steps classified correctly, 0..1; NaN for regression.</param>
public readonly record struct TaskLoss(double Loss, double Accuracy);
