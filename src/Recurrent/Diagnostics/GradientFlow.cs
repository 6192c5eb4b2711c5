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
/// <param name="Steps">Training updates, 0..10,000,000; each draws a fresh batch.</param>
/// <param name="BatchSize">Sequences per training batch, 1..65,536 (default 32).</param>
/// <param name="LearningRate">The optimizer's learning rate, positive and finite (default 1e-3).</param>
/// <param name="ClipNorm">Clip the gradients so that their global L2 norm is at most this (positive, finite), in training and in each probe; null (the default) for no clipping.</param>
/// <param name="HiddenSize">H, the hidden units of the cell, 1..4096 (default 32).</param>
/// <param name="RecurrentGain">Multiplies every weight_hh after initialisation, positive and finite (default 1: as the recipe says; larger values make gradients explode).</param>
/// <param name="RecordEvery">Probe before every step whose number is a multiple of this (step 0 included), and once more after the last update; at least 1 (default 10).</param>
/// <param name="ProbeBatchSize">Sequences in the fixed probe batch, 1..65,536 (default 64).</param>
/// <param name="EvaluationBatchSize">Held-out sequences the final loss and accuracy are measured on, 1..65,536 (default 512).</param>
/// <param name="Seed">Fixes the initial weights, the training batches, the probe batch and the evaluation batch (default 1).</param>
/// <param name="Threads">Threads of the model's compute, 1..256 (default 1).</param>
/// <param name="Optimizer">Adam (the default) or plain SGD.</param>
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

    /// <summary>Checks every range given for the parameters above (the training ones as <see cref="TaskTrainingOptions.Validate"/> does).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is out of range; the message names the first.</exception>
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
/// <param name="Step">The number of updates made before the probe (0: the initial weights).</param>
/// <param name="Report">What the probe measured on the probe batch: loss, ‖dL/dh_t‖ per layer and direction, gradient norms, and any step-Jacobian spectra.</param>
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
/// <param name="Recipe">The cell and initialisation that was trained.</param>
/// <param name="Options">The options of the run.</param>
/// <param name="Training">Every training step (loss, accuracy, gradient norm) and the step where training diverged, if it did.</param>
/// <param name="Snapshots">The probes in step order: the first at step 0 (the initial weights), the last after the final update (or at the step where training diverged).</param>
/// <param name="FinalLoss">The mean loss on the held-out evaluation batch after training; NaN when training diverged or the loss is not finite.</param>
/// <param name="FinalAccuracy">The fraction of readouts classified correctly on the evaluation batch, 0..1; NaN for a regression task or when training diverged.</param>
/// <param name="Elapsed">The wall-clock time of building the model, training, probing and evaluating.</param>
public sealed record GradientFlowRun(
    CellRecipe Recipe,
    GradientFlowOptions Options,
    TaskTrainingResult Training,
    IReadOnlyList<GradientSnapshot> Snapshots,
    double FinalLoss,
    double FinalAccuracy,
    TimeSpan Elapsed)
{
    /// <summary>The first probe: the initial weights, before any update.</summary>
    public GradientSnapshot Initial => Snapshots[0];
    /// <summary>The last probe: the weights after the final update (or where training diverged).</summary>
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
    /// <summary>Trains a fresh model of <paramref name="recipe"/> on <paramref name="task"/> as <paramref name="options"/> say, probing the gradient flow on a fixed batch every <see cref="GradientFlowOptions.RecordEvery"/> steps and after the last update, then measures the final loss on held-out sequences.</summary>
    /// <param name="task">The task that draws the training, probe and evaluation batches and builds the model.</param>
    /// <param name="recipe">The cell and its initialisation.</param>
    /// <param name="options">Training, model and probing settings.</param>
    /// <param name="afterStep">Called after every training step (see <see cref="TaskTrainer.Train"/>); null: none.</param>
    /// <returns>The run: training steps, probes, final loss and accuracy, elapsed time.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="task"/>, <paramref name="recipe"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="options"/> is out of range (see <see cref="GradientFlowOptions.Validate"/>).</exception>
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
