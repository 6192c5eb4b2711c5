using Recurrent.Diagnostics;
using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>How to train a <see cref="TaskModel"/>: steps of Adam on fresh batches, optional clipping by global norm.</summary>
public sealed record TrainingOptions(int Steps, int BatchSize = 32, float LearningRate = 1e-3f, double? ClipNorm = null)
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
public readonly record struct TrainingStep(int Step, double Loss, double Accuracy, double GradientNorm);

/// <summary>The steps taken; <see cref="DivergedAt"/> is the step whose loss or gradient was not finite (training stopped there), or null.</summary>
public sealed record TrainingResult(IReadOnlyList<TrainingStep> Steps, int? DivergedAt);

/// <summary>
/// The training loop of the long-range tasks: each step draws a fresh batch, zeroes the
/// gradients, runs forward + BPTT, clips by global norm if asked, and takes an Adam step.
/// A non-finite loss or gradient norm stops training (the step is recorded, no update is made).
/// </summary>
public static class TaskTrainer
{
    /// <param name="model">Trained in place.</param>
    /// <param name="options">Steps, batch size, learning rate, clipping.</param>
    /// <param name="data">Draws the batches.</param>
    /// <param name="afterStep">Called after every step, with the gradients of that step still in place (clipped); the recorder of <see cref="HiddenGradientRecorder"/> holds its ‖dL/dh_t‖.</param>
    public static TrainingResult Train(TaskModel model, TrainingOptions options, Rng data, Action<TrainingStep>? afterStep = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        options.Validate();
        var adam = new TaskAdam(model.Parameters, options.LearningRate);
        var steps = new List<TrainingStep>(options.Steps);
        for (int s = 0; s < options.Steps; s++)
        {
            var batch = model.Task.Sample(options.BatchSize, data);
            model.ZeroGrad();
            var loss = model.ForwardBackward(batch);
            double norm = options.ClipNorm is double c
                ? GradientNorms.ClipByGlobalNorm(model.Parameters, c)
                : GradientNorms.Global(model.Parameters);
            var step = new TrainingStep(s, loss.Loss, loss.Accuracy, norm);
            steps.Add(step);
            afterStep?.Invoke(step);
            if (!double.IsFinite(loss.Loss) || !double.IsFinite(norm)) return new TrainingResult(steps, s);
            adam.Step();
        }
        return new TrainingResult(steps, null);
    }
}

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with PyTorch's defaults β = (0.9, 0.999), ε = 1e-8 and bias
/// correction: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·m̂/(√v̂ + ε).
/// A minimal stand-in used only by <see cref="TaskTrainer"/> until Recurrent.Optimizers lands.
/// </summary>
internal sealed class TaskAdam
{
    private const double Beta1 = 0.9, Beta2 = 0.999, Epsilon = 1e-8;
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly float[][] _m, _v;
    private readonly double _lr;
    private int _t;

    public TaskAdam(IReadOnlyList<Parameter> parameters, float learningRate)
    {
        _parameters = parameters;
        _lr = learningRate;
        _m = [.. parameters.Select(p => new float[p.Value.Length])];
        _v = [.. parameters.Select(p => new float[p.Value.Length])];
    }

    public void Step()
    {
        _t++;
        double c1 = 1 - Math.Pow(Beta1, _t), c2 = 1 - Math.Pow(Beta2, _t);
        float stepSize = (float)(_lr / c1), sqrtC2 = (float)Math.Sqrt(c2);
        for (int k = 0; k < _parameters.Count; k++)
        {
            var w = _parameters[k].Span;
            var g = _parameters[k].GradSpan;
            var m = _m[k];
            var v = _v[k];
            for (int i = 0; i < w.Length; i++)
            {
                float gi = g[i];
                m[i] = (float)Beta1 * m[i] + (float)(1 - Beta1) * gi;
                v[i] = (float)Beta2 * v[i] + (float)(1 - Beta2) * gi * gi;
                w[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) / sqrtC2 + (float)Epsilon);
            }
        }
    }
}
