using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>What a task's targets are: real numbers scored by mean squared error, or classes scored by cross-entropy.</summary>
public enum TaskKind
{
    /// <summary>Real-valued targets, <see cref="SequenceTask.OutputSize"/> per readout step, scored by mean squared error.</summary>
    Regression,
    /// <summary>Class-id targets in 0..<see cref="SequenceTask.OutputSize"/> − 1, one per readout step, scored by softmax cross-entropy.</summary>
    Classification,
}

/// <summary>
/// A generated long-range benchmark: every batch is drawn from a seeded <see cref="Rng"/>,
/// so the same seed gives the same sequences. Inputs are time-major [T, B, InputSize].
/// The loss reads the model's output at the last <see cref="ReadoutSteps"/> steps
/// (time steps T − R … T − 1), so "distance from the loss" of step t is T − 1 − t.
/// </summary>
public abstract class SequenceTask
{
    /// <summary>Sets the sequence length shared by every batch the task draws.</summary>
    /// <param name="length">T, the number of time steps of every sequence; <paramref name="minimumLength"/>..100,000.</param>
    /// <param name="minimumLength">The shortest length the derived task can be posed at.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is below <paramref name="minimumLength"/> or above 100,000.</exception>
    protected SequenceTask(int length, int minimumLength)
    {
        if (length < minimumLength || length > 100_000)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"Sequence length must be between {minimumLength} and 100000 for this task.");
        Length = length;
    }

    /// <summary>Short name used on the command line: "adding", "copy", "first".</summary>
    public abstract string Name { get; }

    /// <summary>T, the number of time steps of every sequence.</summary>
    public int Length { get; }

    /// <summary>Input values per time step (the last dimension of <see cref="TaskBatch.Inputs"/>, and the model's feature size).</summary>
    public abstract int InputSize { get; }

    /// <summary>Regression: values per readout step. Classification: number of classes.</summary>
    public abstract int OutputSize { get; }

    /// <summary>Whether the targets are regression values (MSE) or class ids (cross-entropy); decides the model's loss and which of <see cref="TaskBatch.Targets"/> and <see cref="TaskBatch.Labels"/> is filled.</summary>
    public abstract TaskKind Kind { get; }

    /// <summary>R, the number of final time steps the loss reads (1 for adding and first-token).</summary>
    public virtual int ReadoutSteps => 1;

    /// <summary>The loss of the best input-blind predictor (what a model that learned nothing achieves).</summary>
    public abstract double BaselineLoss { get; }

    /// <summary>Which predictor <see cref="BaselineLoss"/> is, in words.</summary>
    public abstract string BaselineDescription { get; }

    /// <summary>
    /// Draws <paramref name="batchSize"/> sequences as a batch for a per-step model: the targets of
    /// the R readout steps are set, every other step's label is <see cref="Losses.SoftmaxCrossEntropy.Ignore"/>
    /// (regression: NaN), so the loss reads only the readouts.
    /// </summary>
    public SequenceBatch Sample(int batchSize, Rng rng)
    {
        var raw = SampleReadouts(batchSize, rng);
        int steps = Length * batchSize, readoutStart = (Length - ReadoutSteps) * batchSize;
        if (Kind == TaskKind.Classification)
        {
            var labels = new int[steps];
            Array.Fill(labels, Losses.SoftmaxCrossEntropy.Ignore);
            raw.Labels.CopyTo(labels, readoutStart);
            return new SequenceBatch(Length, batchSize, null, raw.Inputs, null) { Labels = labels };
        }
        var targets = new float[steps * OutputSize];
        Array.Fill(targets, float.NaN);
        raw.Targets.CopyTo(targets, readoutStart * OutputSize);
        return new SequenceBatch(Length, batchSize, null, raw.Inputs, null) { Targets = targets };
    }

    /// <summary>
    /// A per-step model for this task: features (the task's inputs) → stack → a linear head at
    /// every step, scored by MSE (regression) or cross-entropy (classification) at the readouts.
    /// </summary>
    /// <param name="recipe">Cell and initialisation.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="rng">Draws the initial weights.</param>
    /// <param name="recurrentGain">Multiplies every weight_hh after initialisation (1 = as the recipe says; larger values make gradients explode).</param>
    /// <param name="layers">Number of stacked layers.</param>
    public SequenceModel CreateModel(CellRecipe recipe, int hiddenSize, Rng rng, float recurrentGain = 1f, int layers = 1)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        if (!(recurrentGain > 0f && float.IsFinite(recurrentGain)))
            throw new ArgumentOutOfRangeException(nameof(recurrentGain), recurrentGain, "Recurrent gain must be a positive finite number.");
        var config = new SequenceModelConfig
        {
            Cell = recipe.Cell, HiddenSize = hiddenSize, Layers = layers, FeatureSize = InputSize, Pooling = Pooling.None,
            OutputSize = OutputSize, Loss = Kind == TaskKind.Regression ? LossKind.Mse : LossKind.CrossEntropy,
        };
        var model = new SequenceModel(config, rng, recipe.Init);
        if (recurrentGain != 1f)
            foreach (var layer in model.Rnn.Layers)
                System.Numerics.Tensors.TensorPrimitives.Multiply(layer.WeightHh.Span, recurrentGain, layer.WeightHh.Span);
        return model;
    }

    /// <summary>Draws <paramref name="batchSize"/> sequences with the targets of the readout steps only.</summary>
    public TaskBatch SampleReadouts(int batchSize, Rng rng)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "Batch size must be at least 1.");
        ArgumentNullException.ThrowIfNull(rng);
        var inputs = new Tensor(Length, batchSize, InputSize);
        int targetCount = ReadoutSteps * batchSize;
        var batch = Kind == TaskKind.Regression
            ? new TaskBatch(inputs, new float[targetCount * OutputSize], [])
            : new TaskBatch(inputs, [], new int[targetCount]);
        for (int b = 0; b < batchSize; b++) Fill(batch, b, rng);
        return batch;
    }

    /// <summary>Writes sequence <paramref name="row"/> of <paramref name="batch"/>: its inputs and its targets.</summary>
    protected abstract void Fill(TaskBatch batch, int row, Rng rng);

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["adding", "copy", "first"];

    /// <summary>A task by name ("adding", "copy" or "first") with default settings.</summary>
    public static SequenceTask Create(string name, int length) => name switch
    {
        "adding" => new AddingProblem(length),
        "copy" => new CopyTask(length),
        "first" => new FirstTokenTask(length),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Task must be one of: " + string.Join(", ", Names) + "."),
    };
}

/// <summary>
/// One batch: inputs [T, B, in] and the targets of the R readout steps, time-major like the
/// inputs (row r·B + b is sequence b at time T − R + r): regression values [R·B, out] in
/// <see cref="Targets"/>, or class ids [R·B] in <see cref="Labels"/>.
/// </summary>
/// <param name="Inputs">The inputs, time-major [T, B, <see cref="SequenceTask.InputSize"/>].</param>
/// <param name="Targets">Regression tasks: the readout targets, R·B·out values, row-major [R·B, out]; empty for classification tasks.</param>
/// <param name="Labels">Classification tasks: the readout class ids, R·B of them; empty for regression tasks.</param>
public sealed record TaskBatch(Tensor Inputs, float[] Targets, int[] Labels)
{
    /// <summary>T, the number of time steps (the first dimension of <see cref="Inputs"/>).</summary>
    public int Length => Inputs.Dim(0);
    /// <summary>B, the number of sequences (the second dimension of <see cref="Inputs"/>).</summary>
    public int BatchSize => Inputs.Dim(1);
}
