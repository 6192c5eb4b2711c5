using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Tasks;

namespace Recurrent.Diagnostics;

/// <summary>
/// Everything one probe measured on one batch: the loss; ‖dL/dh_t‖ for every step, layer
/// and direction (from the BPTT backward itself); each parameter's gradient norm and the
/// global norm before and after clipping; and, when asked, step-Jacobian spectra.
/// </summary>
/// <param name="Loss">The batch's loss, as the forward-backward pass returned it.</param>
/// <param name="Hidden">‖dL/dh_t‖ for every step, per layer and direction (layer-major, direction-minor).</param>
/// <param name="Parameters">Each parameter's gradient norm before and after clipping, in the order the parameters were given.</param>
/// <param name="GlobalNormBeforeClip">√(Σ_p ‖g_p‖²) over all the parameters before clipping.</param>
/// <param name="GlobalNormAfterClip">The same after clipping (equal to the one before when there was no clipping or the norm was within the threshold).</param>
/// <param name="Spectra">Step-Jacobian spectra, each with its 0-based layer; empty when none were asked for.</param>
public sealed record GradientReport(
    double Loss,
    IReadOnlyList<LayerHiddenGradient> Hidden,
    IReadOnlyList<ParameterGradientNorm> Parameters,
    double GlobalNormBeforeClip,
    double GlobalNormAfterClip,
    IReadOnlyList<(int Layer, StepSpectrum Spectrum)> Spectra);

/// <summary>Measures gradient flow through time for one batch (see <see cref="GradientReport"/>).</summary>
public static class GradientProbe
{
    /// <summary>
    /// For any model built on <paramref name="stack"/>: zeroes the gradients of
    /// <paramref name="parameters"/>, runs <paramref name="forwardBackward"/> (forward, loss and
    /// backward through the stack; returns the loss), records ‖dL/dh_t‖ for the
    /// <paramref name="length"/> steps, the gradient norms, and clips by global norm when
    /// <paramref name="clipNorm"/> is set. The (clipped) gradients are left in place.
    /// </summary>
    public static GradientReport Measure(RecurrentStack stack, IReadOnlyList<Parameter> parameters, int length,
        Func<double> forwardBackward, double? clipNorm = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(forwardBackward);
        foreach (var p in parameters) p.Grad.Clear();
        using var recorder = new HiddenGradientRecorder(stack, length);
        double loss = forwardBackward();
        var hidden = recorder.Snapshot(length);
        var before = parameters.Select(GradientNorms.Of).ToArray();
        double globalBefore = GradientNorms.Global(parameters);
        if (clipNorm is double c) Optimizers.GradientClipping.ClipByGlobalNorm(parameters, c);
        var norms = parameters.Select((p, i) => new ParameterGradientNorm(p.Name, before[i], GradientNorms.Of(p))).ToArray();
        return new GradientReport(loss, hidden, norms, globalBefore, GradientNorms.Global(parameters), []);
    }

    /// <summary>
    /// <see cref="Measure(RecurrentStack, IReadOnlyList{Parameter}, int, Func{double}, double?)"/> for a
    /// per-step <see cref="SequenceModel"/> on one batch of features, plus the step-Jacobian spectra of every layer at
    /// <paramref name="jacobianTimes"/> for the first <paramref name="jacobianRows"/> rows.
    /// </summary>
    public static GradientReport Measure(SequenceModel model, SequenceBatch batch, double? clipNorm = null,
        IReadOnlyList<int>? jacobianTimes = null, int jacobianRows = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        var inputs = batch.Features ?? throw new ArgumentException("The probe batch must hold features.", nameof(batch));
        double ForwardBackward()
        {
            var predictions = model.Forward(batch);
            double loss = model.Loss(predictions, batch, backward: true).Loss;
            model.Backward(predictions.Span);
            return loss;
        }
        var report = Measure(model.Rnn, model.Parameters, batch.Steps, ForwardBackward, clipNorm);
        if (jacobianTimes is null || jacobianTimes.Count == 0) return report;
        var spectra = new List<(int, StepSpectrum)>();
        for (int k = 0; k < model.Rnn.Layers.Count; k++)
            for (int row = 0; row < Math.Min(jacobianRows, batch.Size); row++)
                foreach (var s in StepJacobians.Compute(model.Rnn, inputs, k, jacobianTimes, row)) spectra.Add((k, s));
        return report with { Spectra = spectra };
    }
}
