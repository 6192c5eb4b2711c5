using System.Globalization;
using Recurrent.Training;
using Spectre.Console;

namespace Recurrent.Cli.Commands;

/// <summary>
/// Shows a running training loop: a live progress bar (epoch, step, loss, tokens/s, ETA) on an
/// interactive terminal, one plain line per evaluation otherwise (logs, CI, pipes).
/// </summary>
public static class TrainingView
{
    /// <param name="trainer">The run.</param>
    /// <param name="quiet">No output.</param>
    /// <param name="unit">What the loss is per ("char", "word", "sequence", "tag", "value").</param>
    /// <param name="cancel">Ctrl-C: the run stops after the current step, evaluates and saves latest.ckpt.</param>
    /// <param name="afterRun">Runs when the run ends, stopped or diverged too (e.g. draws loss.png from what metrics.jsonl holds).</param>
    public static TrainingSummary Run(Trainer trainer, bool quiet, string unit, CancellationToken cancel = default, Action? afterRun = null) =>
        Show((report, token) => trainer.Run(report, token), quiet, unit, cancel, afterRun);

    /// <summary>What a run will do, for the start line: "resuming at epoch 2 of 10, step 590: adam lr 0.002 (constant), batch 32, …".</summary>
    public static string Plan(Trainer trainer, bool resume, bool languageModel) =>
        Plan(trainer.Options, resume ? trainer.Progress : null, languageModel);

    /// <summary>The start line of a run with <paramref name="options"/>; <paramref name="resumedAt"/> is where a resumed run stands (null: a new run).</summary>
    public static string Plan(TrainingOptions options, TrainingProgressState? resumedAt, bool languageModel = false)
    {
        string where = resumedAt is { } p ? $"resuming at epoch {Math.Min(p.Epoch + 1, options.Epochs)} of {options.Epochs}, step {p.Step}" : $"{options.Epochs} epoch{(options.Epochs == 1 ? "" : "s")}";
        return $"{where}: {options.Describe(languageModel)}";
    }

    /// <summary>Shows a run given as a function of the report callback and the cancellation token (e.g. an application's Fit).</summary>
    public static TrainingSummary Show(Func<Action<TrainingReport>, CancellationToken, TrainingSummary> run, bool quiet, string unit, CancellationToken cancel = default, Action? afterRun = null)
    {
        TrainingSummary summary;
        try { summary = ShowRun(run, quiet, unit, cancel); }
        catch (TrainingDivergedException) { afterRun?.Invoke(); throw; }
        afterRun?.Invoke();
        return summary;
    }

    private static TrainingSummary ShowRun(Func<Action<TrainingReport>, CancellationToken, TrainingSummary> run, bool quiet, string unit, CancellationToken cancel)
    {
        bool live = !quiet && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!live)
        {
            // Plain output: an evaluation line at most every 5 seconds (tiny epochs would flood a log).
            var last = TimeSpan.FromSeconds(-10);
            TrainingReport? pending = null;
            var result = run(r =>
            {
                if (!r.IsEvaluation || quiet) return;
                pending = r;
                if (r.Elapsed - last < TimeSpan.FromSeconds(5)) return;
                Console.WriteLine(Line(r, unit));
                last = r.Elapsed;
                pending = null;
            }, cancel);
            if (pending is not null) Console.WriteLine(Line(pending, unit));
            return result;
        }

        TrainingSummary? summary = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: 1);
                summary = run(r =>
                {
                    double done = (r.Epoch - 1 + (double)r.Window / Math.Max(1, r.WindowsPerEpoch)) / r.Epochs;
                    task.MaxValue = 1;
                    task.Value = Math.Clamp(done, 0, 1);
                    task.Description = Markup.Escape(
                        $"epoch {r.Epoch}/{r.Epochs} step {r.Step} loss {r.TrainLoss:F3} {r.TokensPerSecond:N0} tok/s");
                    if (r.IsEvaluation) AnsiConsole.MarkupLine(Markup.Escape(Line(r, unit)));
                }, cancel);
                task.Value = task.MaxValue;
            });
        return summary!;
    }

    /// <summary>One evaluation: losses, then perplexity for a language model (unit char/word) or accuracy for a classifier.</summary>
    public static string Line(TrainingReport r, string unit)
    {
        string extra = r.ValidAccuracy is double a ? string.Create(CultureInfo.InvariantCulture, $" (accuracy {a:P2})")
            : unit is "char" or "word" ? string.Create(CultureInfo.InvariantCulture, $" (ppl {Math.Exp(r.ValidLoss ?? double.NaN):F2})") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch}/{r.Epochs}  step {r.Step}  train {r.TrainLoss:F4}  valid {r.ValidLoss:F4} per {unit}{extra}  {r.TokensPerSecond:N0} tok/s  lr {r.LearningRate:G3}  {r.Elapsed:hh\\:mm\\:ss}");
    }
}
