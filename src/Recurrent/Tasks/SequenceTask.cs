using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>What a task's targets are: real numbers scored by mean squared error, or classes scored by cross-entropy.</summary>
public enum TaskKind { Regression, Classification }

/// <summary>
/// A generated long-range benchmark: every batch is drawn from a seeded <see cref="Rng"/>,
/// so the same seed gives the same sequences. Inputs are time-major [T, B, InputSize].
/// The loss reads the model's output at the last <see cref="ReadoutSteps"/> steps
/// (time steps T − R … T − 1), so "distance from the loss" of step t is T − 1 − t.
/// </summary>
public abstract class SequenceTask
{
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

    public abstract int InputSize { get; }

    /// <summary>Regression: values per readout step. Classification: number of classes.</summary>
    public abstract int OutputSize { get; }

    public abstract TaskKind Kind { get; }

    /// <summary>R, the number of final time steps the loss reads (1 for adding and first-token).</summary>
    public virtual int ReadoutSteps => 1;

    /// <summary>The loss of the best input-blind predictor (what a model that learned nothing achieves).</summary>
    public abstract double BaselineLoss { get; }

    /// <summary>Which predictor <see cref="BaselineLoss"/> is, in words.</summary>
    public abstract string BaselineDescription { get; }

    /// <summary>Draws <paramref name="batchSize"/> sequences.</summary>
    public TaskBatch Sample(int batchSize, Rng rng)
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
public sealed record TaskBatch(Tensor Inputs, float[] Targets, int[] Labels)
{
    public int Length => Inputs.Dim(0);
    public int BatchSize => Inputs.Dim(1);
}
