using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Numerics;

namespace Recurrent.Tasks;

/// <summary>Loss of one batch, and for classification the fraction of readouts classified correctly (NaN for regression).</summary>
public readonly record struct TaskLoss(double Loss, double Accuracy);

/// <summary>
/// The model the long-range tasks are solved with: a recurrent stack, then a linear head on
/// the stack's output at each of the task's R readout steps, then mean squared error
/// (regression) or softmax cross-entropy (classification), averaged over readouts.
///   y [T, B, D·H] = stack(x);  ŷ_r = W·y_{T−R+r} + b;  L = mean loss(ŷ, target)
/// Shapes: inputs [T, B, in] time-major; the readout rows are the contiguous last R·B rows of y.
/// </summary>
public sealed class TaskModel
{
    private readonly Tensor _readout = new(0);   // [R·B, D·H]
    private readonly Tensor _dPrediction = new(0); // [R·B, out]
    private readonly Tensor _dOutput = new(0);   // [T, B, D·H]
    private readonly Parameter[] _parameters;
    private Compute _compute = Compute.SingleThread;

    /// <param name="task">The task (fixes input and output sizes and the readout steps).</param>
    /// <param name="recipe">Cell and initialisation.</param>
    /// <param name="hiddenSize">H.</param>
    /// <param name="rng">Draws the initial weights.</param>
    /// <param name="recurrentGain">Multiplies every weight_hh after initialisation (1 = as the recipe says; larger values make gradients explode).</param>
    /// <param name="layers">Number of stacked layers.</param>
    public TaskModel(SequenceTask task, CellRecipe recipe, int hiddenSize, Rng rng, float recurrentGain = 1f, int layers = 1)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(recipe);
        if (!(recurrentGain > 0f && float.IsFinite(recurrentGain)))
            throw new ArgumentOutOfRangeException(nameof(recurrentGain), recurrentGain, "Recurrent gain must be a positive finite number.");
        Task = task;
        Recipe = recipe;
        RecurrentGain = recurrentGain;
        Stack = new RecurrentStack(new RecurrentOptions(recipe.Cell, task.InputSize, hiddenSize, layers), rng, recipe.Init);
        if (recurrentGain != 1f)
            foreach (var layer in Stack.Layers)
                System.Numerics.Tensors.TensorPrimitives.Multiply(layer.WeightHh.Span, recurrentGain, layer.WeightHh.Span);
        Head = new Linear("head.", Stack.Options.OutputSize, task.OutputSize, rng);
        _parameters = [.. Stack.Parameters(), .. Head.Parameters()];
    }

    public SequenceTask Task { get; }
    public CellRecipe Recipe { get; }
    public float RecurrentGain { get; }
    public RecurrentStack Stack { get; }
    public Linear Head { get; }

    /// <summary>Stack parameters (PyTorch names), then head.weight, head.bias.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    public Compute Compute
    {
        get => _compute;
        set { _compute = value; Stack.Compute = value; Head.Compute = value; }
    }

    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.Grad.Clear();
    }

    /// <summary>Forward, loss and BPTT: adds the batch's gradients into every parameter's Grad (call <see cref="ZeroGrad"/> first).</summary>
    public TaskLoss ForwardBackward(TaskBatch batch)
    {
        var prediction = Forward(batch);
        int rows = prediction.Dim(0), outputs = Task.OutputSize;
        _dPrediction.Resize(rows, outputs);
        TaskLoss loss;
        if (Task.Kind == TaskKind.Regression)
        {
            loss = new(MeanSquaredError.ForwardBackward(prediction.Span, batch.Targets, _dPrediction.Span), double.NaN);
        }
        else
        {
            double accuracy = Accuracy(prediction.Span, batch.Labels, outputs);
            prediction.Span.CopyTo(_dPrediction.Span);
            var (mean, _) = SoftmaxCrossEntropy.ForwardBackward(_dPrediction.Span, batch.Labels, outputs);
            loss = new(mean, accuracy);
        }
        var dReadout = Head.Backward(_dPrediction.Span);
        int T = batch.Length, width = Stack.Options.OutputSize;
        _dOutput.Resize(T, batch.BatchSize, width);
        var dOut = _dOutput.Span;
        int readoutStart = dOut.Length - dReadout.Length;
        dOut[..readoutStart].Clear();
        dReadout.Span.CopyTo(dOut[readoutStart..]);
        Stack.Backward(_dOutput);
        return loss;
    }

    /// <summary>Forward and loss only (no gradients).</summary>
    public TaskLoss Evaluate(TaskBatch batch)
    {
        var prediction = Forward(batch);
        int outputs = Task.OutputSize;
        if (Task.Kind == TaskKind.Regression)
        {
            var p = prediction.Span;
            double sum = 0;
            for (int i = 0; i < p.Length; i++)
            {
                double d = p[i] - batch.Targets[i];
                sum += d * d;
            }
            return new(sum / p.Length, double.NaN);
        }
        var (total, count) = SoftmaxCrossEntropy.Evaluate(prediction.Span, batch.Labels, outputs);
        return new(total / count, Accuracy(prediction.Span, batch.Labels, outputs));
    }

    /// <summary>Predictions [R·B, out] (a workspace, valid until the next call).</summary>
    public Tensor Forward(TaskBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Length != Task.Length || batch.Inputs.Dim(2) != Task.InputSize)
            throw new ArgumentException($"Batch is {batch.Inputs.ShapeString}; this model's task needs [{Task.Length}, B, {Task.InputSize}].", nameof(batch));
        var output = Stack.Forward(batch.Inputs).Output;
        int B = batch.BatchSize, width = Stack.Options.OutputSize, rows = Task.ReadoutSteps * B;
        _readout.Resize(rows, width);
        output.Span[(output.Length - rows * width)..].CopyTo(_readout.Span);
        return Head.Forward(_readout, rows);
    }

    private static double Accuracy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int classes)
    {
        int correct = 0;
        for (int n = 0; n < labels.Length; n++)
        {
            var row = logits.Slice(n * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++) if (row[k] > row[best]) best = k;
            if (best == labels[n]) correct++;
        }
        return (double)correct / labels.Length;
    }
}
