using System.Text.Json.Serialization;

namespace Recurrent.Training;

/// <summary>The optimizer of a <see cref="Trainer"/> run (<c>--optimizer</c>); each follows its torch.optim counterpart, with the learning rate, momentum and weight decay of <see cref="TrainingOptions"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OptimizerKind>))]
public enum OptimizerKind
{
    /// <summary>Stochastic gradient descent (torch.optim.SGD), with optional momentum, Nesterov momentum and L2 weight decay.</summary>
    Sgd,
    /// <summary>Adam (torch.optim.Adam; β₁ 0.9, β₂ 0.999, ε 1e-8), with optional L2 weight decay added to the gradient.</summary>
    Adam,
    /// <summary>AdamW (torch.optim.AdamW): Adam with decoupled weight decay; a <see cref="TrainingOptions.WeightDecay"/> of 0 means AdamW's default 0.01.</summary>
    AdamW,
    /// <summary>RMSprop (torch.optim.RMSprop; α 0.99, ε 1e-8), with optional momentum and L2 weight decay.</summary>
    RmsProp,
}

/// <summary>How the learning rate changes during a run (<c>--schedule</c>), starting from <see cref="TrainingOptions.LearningRate"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ScheduleKind>))]
public enum ScheduleKind
{
    /// <summary>The learning rate stays the same throughout.</summary>
    Constant,
    /// <summary>Step decay (torch's StepLR): multiplied by <see cref="TrainingOptions.DecayFactor"/> every <see cref="TrainingOptions.DecaySteps"/> optimizer steps.</summary>
    Step,
    /// <summary>Reduce on plateau (torch's ReduceLROnPlateau): multiplied by <see cref="TrainingOptions.DecayFactor"/> when the validation loss has not improved for more than <see cref="TrainingOptions.Patience"/> evaluations.</summary>
    Plateau,
    /// <summary>Linear warm-up over <see cref="TrainingOptions.WarmupSteps"/> steps, then cosine decay to 0 at the end of the last epoch.</summary>
    Cosine,
}

/// <summary>The validation metric that picks best.ckpt and drives early stopping: the loss (lower is better) or a classifier's accuracy (higher is better).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MonitorMetric>))]
public enum MonitorMetric
{
    /// <summary>The validation loss (the mean training loss since the last evaluation when there is no validation data); lower is better.</summary>
    Loss,
    /// <summary>A classifier's validation accuracy; higher is better. For a model or data without an accuracy the loss is used.</summary>
    Accuracy,
}

/// <summary>
/// How a model is trained (<see cref="Trainer"/>); <see cref="Bptt"/> applies to language models' truncated BPTT. Every field is validated by
/// <see cref="Validate"/>, which names the offending option and the allowed range.
/// </summary>
public sealed record TrainingOptions
{
    /// <summary>Parallel streams B.</summary>
    public int Batch { get; init; } = 32;
    /// <summary>Window length T of truncated BPTT (state carried across windows, gradient cut).</summary>
    public int Bptt { get; init; } = 64;
    /// <summary>Passes over the training data, 1..1,000,000 (default 10); a resumed run may raise it.</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Stop after this much wall time (0 = no limit); a checkpoint is written when it stops.</summary>
    public double MaxMinutes { get; init; }
    /// <summary>The optimizer (default <see cref="OptimizerKind.Adam"/>).</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    /// <summary>The initial learning rate, positive and finite (default 0.002); <see cref="Schedule"/> changes it from there.</summary>
    public float LearningRate { get; init; } = 2e-3f;
    /// <summary>Momentum μ for <see cref="OptimizerKind.Sgd"/> and <see cref="OptimizerKind.RmsProp"/>, in [0, 1) (default 0: none); ignored by Adam and AdamW.</summary>
    public float Momentum { get; init; }
    /// <summary>Nesterov momentum for <see cref="OptimizerKind.Sgd"/> (default off); needs <see cref="Momentum"/> &gt; 0.</summary>
    public bool Nesterov { get; init; }
    /// <summary>Weight decay λ ≥ 0 (default 0): an L2 penalty added to the gradient for SGD, Adam and RMSprop, decoupled for AdamW (where 0 means 0.01).</summary>
    public float WeightDecay { get; init; }
    /// <summary>Clip the global gradient norm to this value (0 = off).</summary>
    public float ClipNorm { get; init; } = 5f;
    /// <summary>Clip each gradient value to ±this (0 = off).</summary>
    public float ClipValue { get; init; }
    /// <summary>The learning-rate schedule (default <see cref="ScheduleKind.Constant"/>).</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Constant;
    /// <summary>Step decay: multiply by <see cref="DecayFactor"/> every this many optimizer steps.</summary>
    public long DecaySteps { get; init; } = 1000;
    /// <summary>Step decay's multiplier; plateau's multiplier when validation stops improving.</summary>
    public float DecayFactor { get; init; } = 0.25f;
    /// <summary>Plateau: evaluations without improvement tolerated before decaying.</summary>
    public int Patience { get; init; }
    /// <summary>Cosine: linear warm-up steps.</summary>
    public long WarmupSteps { get; init; }
    /// <summary>Evaluate on validation data every this many steps (0 = at the end of each epoch only).</summary>
    public int EvalEvery { get; init; }
    /// <summary>Batch size used for validation.</summary>
    public int EvalBatch { get; init; } = 10;
    /// <summary>Which validation metric picks best.ckpt and counts for <see cref="StopPatience"/>.</summary>
    public MonitorMetric Monitor { get; init; } = MonitorMetric.Loss;
    /// <summary>Early stopping: stop after this many evaluations without improvement of <see cref="Monitor"/> (0 = never).</summary>
    public int StopPatience { get; init; }
    /// <summary>The run's seed (default 1): the trainer's random generator (dropout masks) is derived from it, and the command line also seeds the initial weights with it.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Threads for large matrix products, 1..256 (default 1); a resumed run continues bit-identically only with the same count.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Checks every option against its allowed range; the message names the first offending option by its command-line name (e.g. <c>--lr</c>) and what it must be.</summary>
    /// <exception cref="ArgumentException">An option is out of range or not a defined enum value, or <see cref="Nesterov"/> is set without <see cref="Momentum"/>.</exception>
    public void Validate()
    {
        Check(Batch is >= 1 and <= 65536, "--batch", Batch, "between 1 and 65536");
        Check(Bptt is >= 1 and <= 1_000_000, "--bptt", Bptt, "between 1 and 1000000");
        Check(Epochs is >= 1 and <= 1_000_000, "--epochs", Epochs, "between 1 and 1000000");
        Check(MaxMinutes >= 0 && double.IsFinite(MaxMinutes), "--minutes", MaxMinutes, "a non-negative number");
        Check(LearningRate > 0 && float.IsFinite(LearningRate), "--lr", LearningRate, "a positive number");
        Check(Momentum >= 0 && Momentum < 1, "--momentum", Momentum, "in [0, 1)");
        Check(WeightDecay >= 0 && float.IsFinite(WeightDecay), "--weight-decay", WeightDecay, "a non-negative number");
        Check(ClipNorm >= 0 && float.IsFinite(ClipNorm), "--clip", ClipNorm, "a non-negative number (0 = off)");
        Check(ClipValue >= 0 && float.IsFinite(ClipValue), "--clip-value", ClipValue, "a non-negative number (0 = off)");
        Check(DecaySteps >= 1, "--decay-steps", DecaySteps, "at least 1");
        Check(DecayFactor > 0 && DecayFactor <= 1, "--decay-factor", DecayFactor, "in (0, 1]");
        Check(Patience >= 0, "--patience", Patience, "at least 0");
        Check(WarmupSteps >= 0, "--warmup", WarmupSteps, "at least 0");
        Check(EvalEvery >= 0, "--eval-every", EvalEvery, "at least 0 (0 = once per epoch)");
        Check(EvalBatch is >= 1 and <= 65536, "--eval-batch", EvalBatch, "between 1 and 65536");
        Check(Threads is >= 1 and <= 256, "--threads", Threads, "between 1 and 256");
        Check(StopPatience >= 0, "--stop-patience", StopPatience, "at least 0 (0 = never stop early)");
        Check(Enum.IsDefined(Monitor), "--monitor", Monitor, "loss or accuracy");
        Check(Enum.IsDefined(Optimizer), "--optimizer", Optimizer, "sgd, adam, adamw or rmsprop");
        Check(Enum.IsDefined(Schedule), "--schedule", Schedule, "constant, step, plateau or cosine");
        if (Nesterov && Momentum <= 0) throw new ArgumentException("--nesterov needs --momentum greater than 0.");
    }

    /// <summary>
    /// Every option by its command-line name with its value, as the resume rules and the start
    /// line see them. <see cref="IsResumable"/> says which a resumed run may change.
    /// </summary>
    public IReadOnlyList<(string Option, object Value)> Named() =>
    [
        ("--batch", Batch), ("--bptt", Bptt), ("--epochs", Epochs), ("--minutes", MaxMinutes), ("--optimizer", Optimizer), ("--lr", LearningRate),
        ("--momentum", Momentum), ("--nesterov", Nesterov), ("--weight-decay", WeightDecay), ("--clip", ClipNorm), ("--clip-value", ClipValue),
        ("--schedule", Schedule), ("--decay-steps", DecaySteps), ("--decay-factor", DecayFactor), ("--patience", Patience), ("--warmup", WarmupSteps),
        ("--eval-every", EvalEvery), ("--eval-batch", EvalBatch), ("--monitor", Monitor), ("--stop-patience", StopPatience), ("--seed", Seed), ("--threads", Threads),
    ];

    /// <summary>
    /// What a resumed run may change, option by option: the epochs (a new total, more than those
    /// done), the time limit (counted from the resume), the evaluation cadence and batch, early
    /// stopping's patience and the threads (bit-identical continuation needs the same thread count).
    /// Everything else — batching, optimizer, learning rate and schedule, clipping, the seed — shapes
    /// the run's trajectory and stays as saved.
    /// </summary>
    public static bool IsResumable(string option) => option is "--epochs" or "--minutes" or "--eval-every" or "--eval-batch" or "--stop-patience" or "--threads";

    /// <summary>
    /// The saved options with those the user <paramref name="given"/> (command-line names) taken
    /// from <paramref name="requested"/>: what a resumed run asks for. <see cref="CheckResumable"/> then refuses what it may not change.
    /// </summary>
    public static TrainingOptions Resumed(TrainingOptions saved, TrainingOptions requested, IReadOnlySet<string> given)
    {
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(requested);
        ArgumentNullException.ThrowIfNull(given);
        bool G(string option) => given.Contains(option);
        return saved with
        {
            Batch = G("--batch") ? requested.Batch : saved.Batch,
            Bptt = G("--bptt") ? requested.Bptt : saved.Bptt,
            Epochs = G("--epochs") ? requested.Epochs : saved.Epochs,
            MaxMinutes = requested.MaxMinutes,   // a time limit belongs to one invocation
            Optimizer = G("--optimizer") ? requested.Optimizer : saved.Optimizer,
            LearningRate = G("--lr") ? requested.LearningRate : saved.LearningRate,
            Momentum = G("--momentum") ? requested.Momentum : saved.Momentum,
            Nesterov = G("--nesterov") ? requested.Nesterov : saved.Nesterov,
            WeightDecay = G("--weight-decay") ? requested.WeightDecay : saved.WeightDecay,
            ClipNorm = G("--clip") ? requested.ClipNorm : saved.ClipNorm,
            ClipValue = G("--clip-value") ? requested.ClipValue : saved.ClipValue,
            Schedule = G("--schedule") ? requested.Schedule : saved.Schedule,
            DecaySteps = G("--decay-steps") ? requested.DecaySteps : saved.DecaySteps,
            DecayFactor = G("--decay-factor") ? requested.DecayFactor : saved.DecayFactor,
            Patience = G("--patience") ? requested.Patience : saved.Patience,
            WarmupSteps = G("--warmup") ? requested.WarmupSteps : saved.WarmupSteps,
            EvalEvery = G("--eval-every") ? requested.EvalEvery : saved.EvalEvery,
            EvalBatch = G("--eval-batch") ? requested.EvalBatch : saved.EvalBatch,
            Monitor = G("--monitor") ? requested.Monitor : saved.Monitor,
            StopPatience = G("--stop-patience") ? requested.StopPatience : saved.StopPatience,
            Seed = G("--seed") ? requested.Seed : saved.Seed,
            Threads = G("--threads") ? requested.Threads : saved.Threads,
        };
    }

    /// <summary>
    /// Refuses, naming the option, a resumed run's <paramref name="resumed"/> options that differ
    /// from the <paramref name="saved"/> ones where <see cref="IsResumable"/> says they may not,
    /// and epochs that the run has already done.
    /// </summary>
    public static void CheckResumable(TrainingOptions saved, TrainingOptions resumed, TrainingProgressState progress)
    {
        CheckUnchanged(saved, resumed);
        CheckEpochs(saved, resumed, progress);
    }

    /// <summary>The first half of <see cref="CheckResumable"/>: what may not change has not.</summary>
    public static void CheckUnchanged(TrainingOptions saved, TrainingOptions resumed)
    {
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(resumed);
        resumed.Validate();
        foreach (var ((option, was), (_, now)) in saved.Named().Zip(resumed.Named()))
            if (!IsResumable(option) && !Equals(was, now))
                throw new ArgumentException(FormattableString.Invariant(
                    $"{option} is {Show(now)} but the run was trained with {Show(was)}; a resumed run keeps it (resume without {option}, or start a new run in another --out)."));
    }

    /// <summary>The second half of <see cref="CheckResumable"/>: epochs are left to train.</summary>
    public static void CheckEpochs(TrainingOptions saved, TrainingOptions resumed, TrainingProgressState progress)
    {
        ArgumentNullException.ThrowIfNull(saved);
        ArgumentNullException.ThrowIfNull(resumed);
        ArgumentNullException.ThrowIfNull(progress);
        int done = progress.Epoch;
        if (resumed.Epochs <= done)
            throw new ArgumentException(resumed.Epochs == saved.Epochs
                ? $"The run has finished its {done} epoch{(done == 1 ? "" : "s")}; give --epochs greater than {done} to train further."
                : $"--epochs is {resumed.Epochs} but the run has done {done} epoch{(done == 1 ? "" : "s")} already; give --epochs greater than {done}.");
    }

    /// <summary>One line of what a run uses, e.g. "adam lr 0.002 (constant), batch 32, bptt 64, clip 5, seed 1, 1 thread".</summary>
    public string Describe(bool languageModel = true)
    {
        var parts = new List<string>
        {
            FormattableString.Invariant($"{Optimizer.ToString().ToLowerInvariant()} lr {Show(LearningRate)} ({Schedule.ToString().ToLowerInvariant()})"),
            FormattableString.Invariant($"batch {Batch}"),
        };
        if (languageModel) parts.Add(FormattableString.Invariant($"bptt {Bptt}"));
        parts.Add(ClipNorm > 0 ? "clip " + Show(ClipNorm) : "no clipping");
        if (Momentum > 0) parts.Add("momentum " + Show(Momentum) + (Nesterov ? " (Nesterov)" : ""));
        if (WeightDecay > 0) parts.Add("weight decay " + Show(WeightDecay));
        parts.Add(FormattableString.Invariant($"seed {Seed}"));
        parts.Add(FormattableString.Invariant($"{Threads} thread{(Threads == 1 ? "" : "s")}"));
        if (MaxMinutes > 0) parts.Add("at most " + Show(MaxMinutes) + " min from now");
        return string.Join(", ", parts);
    }

    private static string Show(object value) => value switch
    {
        float f => f.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        double d => d.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "on" : "off",
        Enum e => e.ToString().ToLowerInvariant(),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };

    private static void Check(bool ok, string option, object value, string allowed)
    {
        if (!ok) throw new ArgumentException($"{option} is {value}; it must be {allowed}.");
    }
}
