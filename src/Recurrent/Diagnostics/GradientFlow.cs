using System.Diagnostics;
using Recurrent.Numerics;
using Recurrent.Tasks;

namespace Recurrent.Diagnostics;

/// <summary>
/// How to watch gradient flow while a cell learns a task: the training (steps, batch,
/// learning rate, clipping), the model (hidden size, a gain on the recurrent weights) and the
/// probing (every <see cref="RecordEvery"/> steps on one fixed batch of
/// <see cref="ProbeBatchSize"/> sequences; the final loss on <see cref="EvaluationBatchSize"/>
/// held-out sequences).
/// </summary>
public sealed record GradientFlowOptions(
    int Steps,
    int BatchSize = 32,
    float LearningRate = 1e-3f,
    double? ClipNorm = null,
    int HiddenSize = 32,
    float RecurrentGain = 1f,
    int RecordEvery = 10,
    int ProbeBatchSize = 64,
    int EvaluationBatchSize = 512,
    ulong Seed = 1,
    int Threads = 1,
    TaskOptimizer Optimizer = TaskOptimizer.Adam)
{
    /// <summary>Time steps whose step-Jacobian spectra are taken at the first and last probe (empty: none).</summary>
    public IReadOnlyList<int> JacobianTimes { get; init; } = [];

    public void Validate()
    {
        new TaskTrainingOptions(Steps, BatchSize, LearningRate, ClipNorm, Optimizer).Validate();
        if (HiddenSize < 1 || HiddenSize > 4096) throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize, "Hidden size must be between 1 and 4096.");
        if (!(RecurrentGain > 0f && float.IsFinite(RecurrentGain))) throw new ArgumentOutOfRangeException(nameof(RecurrentGain), RecurrentGain, "The recurrent gain must be a positive finite number.");
        if (RecordEvery < 1) throw new ArgumentOutOfRangeException(nameof(RecordEvery), RecordEvery, "Record interval must be at least 1 step.");
        if (ProbeBatchSize < 1 || ProbeBatchSize > 1 << 16) throw new ArgumentOutOfRangeException(nameof(ProbeBatchSize), ProbeBatchSize, "Probe batch size must be between 1 and 65536.");
        if (EvaluationBatchSize < 1 || EvaluationBatchSize > 1 << 16) throw new ArgumentOutOfRangeException(nameof(EvaluationBatchSize), EvaluationBatchSize, "Evaluation batch size must be between 1 and 65536.");
        if (Threads < 1 || Threads > 256) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Threads must be between 1 and 256.");
    }
}

/// <summary>One probe: the gradient report of the fixed probe batch with the weights as they were before update <see cref="Step"/>.</summary>
public sealed record GradientSnapshot(int Step, GradientReport Report)
{
    /// <summary>‖dL/dh_t‖ of the first layer's forward direction, t = 0 … T − 1.</summary>
    public double[] Norms => Report.Hidden[0].Norms;

    /// <summary>‖dL/dh_1‖ / ‖dL/dh_T‖: the fraction of the gradient at the last step that reaches the first.</summary>
    public double DecayRatio => Norms[0] / Norms[^1];
}

/// <summary>
/// One cell trained on one task while its gradient flow is probed: every training step, the
/// probes (the first before any update, the last after the final update), and the final loss
/// on held-out sequences (NaN when training diverged).
/// </summary>
public sealed record GradientFlowRun(
    CellRecipe Recipe,
    GradientFlowOptions Options,
    TaskTrainingResult Training,
    IReadOnlyList<GradientSnapshot> Snapshots,
    double FinalLoss,
    double FinalAccuracy,
    TimeSpan Elapsed)
{
    public GradientSnapshot Initial => Snapshots[0];
    public GradientSnapshot Trained => Snapshots[^1];
}

/// <summary>
/// Trains a cell on a task with <see cref="TaskTrainer"/> and records ‖dL/dh_t‖ from the real
/// BPTT backward on a fixed probe batch at intervals. Seeded: one seed fixes the initial
/// weights, the training batches, the probe batch and the evaluation batch, and the same seed
/// gives every cell (and a clipped and an unclipped run) the same data.
/// </summary>
public static class GradientFlow
{
    public static GradientFlowRun Train(SequenceTask task, CellRecipe recipe, GradientFlowOptions options, Action<TaskTrainingStep>? afterStep = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(recipe);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var root = new Rng(options.Seed);
        var weights = root.Split();
        var data = root.Split();
        var probe = task.Sample(options.ProbeBatchSize, root.Split());
        var evaluation = task.Sample(options.EvaluationBatchSize, root.Split());

        var clock = Stopwatch.StartNew();
        var model = task.CreateModel(recipe, options.HiddenSize, weights, options.RecurrentGain);
        model.Compute = new Compute(options.Threads);
        var snapshots = new List<GradientSnapshot>();
        void Probe(int step, bool spectra) =>
            snapshots.Add(new GradientSnapshot(step, GradientProbe.Measure(model, probe, options.ClipNorm, spectra ? options.JacobianTimes : null)));

        var training = TaskTrainer.Train(model, task, new TaskTrainingOptions(options.Steps, options.BatchSize, options.LearningRate, options.ClipNorm, options.Optimizer), data,
            afterStep, beforeStep: s => { if (s % options.RecordEvery == 0) Probe(s, s == 0); });
        int updates = training.DivergedAt ?? options.Steps;
        if (options.Steps == 0 || snapshots[^1].Step != updates) Probe(updates, true);
        else snapshots[^1] = new GradientSnapshot(updates, GradientProbe.Measure(model, probe, options.ClipNorm, options.JacobianTimes));
        model.ZeroGrad();

        var final = training.DivergedAt is null ? TaskTrainer.Evaluate(model, evaluation) : new TaskLoss(double.NaN, double.NaN);
        if (!double.IsFinite(final.Loss)) final = new TaskLoss(double.NaN, double.NaN);
        return new GradientFlowRun(recipe, options, training, snapshots, final.Loss, final.Accuracy, clock.Elapsed);
    }
}
