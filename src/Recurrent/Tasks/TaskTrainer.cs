using Recurrent.Diagnostics;
using Recurrent.Numerics;
using Recurrent.Optimizers;

namespace Recurrent.Tasks;

/// <summary>The optimizer of <see cref="TaskTrainer"/>: Adam (PyTorch defaults), or plain SGD (θ ← θ − lr·g), whose step grows with the gradient.</summary>
public enum TaskOptimizer { Adam, Sgd }

/// <summary>How to train a <see cref="TaskModel"/>: steps of Adam or SGD on fresh batches, optional clipping by global norm.</summary>
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
/// The training loop of the long-range tasks: each step draws a fresh batch, zeroes the
/// gradients, runs forward + BPTT, clips by global norm if asked, and takes an optimizer step.
/// A non-finite loss or gradient norm stops training (the step is recorded, no update is made).
/// </summary>
public static class TaskTrainer
{
    /// <param name="model">Trained in place.</param>
    /// <param name="options">Steps, batch size, learning rate, clipping.</param>
    /// <param name="data">Draws the batches.</param>
    /// <param name="afterStep">Called after every step, with the gradients of that step still in place (clipped); the recorder of <see cref="HiddenGradientRecorder"/> holds its ‖dL/dh_t‖.</param>
    /// <param name="beforeStep">Called with the step number before each step's batch is drawn: the place to probe the model
    /// (e.g. <see cref="GradientProbe"/>), since that step zeroes the gradients afterwards.</param>
    public static TaskTrainingResult Train(TaskModel model, TaskTrainingOptions options, Rng data, Action<TaskTrainingStep>? afterStep = null,
        Action<int>? beforeStep = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        Optimizer optimizer = options.Optimizer == TaskOptimizer.Sgd
            ? new Sgd(model.Parameters, options.LearningRate)
            : new Adam(model.Parameters, options.LearningRate);
        var steps = new List<TaskTrainingStep>(options.Steps);
        for (int s = 0; s < options.Steps; s++)
        {
            beforeStep?.Invoke(s);
            var batch = model.Task.Sample(options.BatchSize, data);
            model.ZeroGrad();
            var loss = model.ForwardBackward(batch);
            double norm = options.ClipNorm is double c
                ? GradientNorms.ClipByGlobalNorm(model.Parameters, c)
                : GradientNorms.Global(model.Parameters);
            var step = new TaskTrainingStep(s, loss.Loss, loss.Accuracy, norm);
            steps.Add(step);
            afterStep?.Invoke(step);
            if (!double.IsFinite(loss.Loss) || !double.IsFinite(norm)) return new TaskTrainingResult(steps, s);
            optimizer.Step();
        }
        return new TaskTrainingResult(steps, null);
    }
}
