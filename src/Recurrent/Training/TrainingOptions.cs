using System.Text.Json.Serialization;

namespace Recurrent.Training;

[JsonConverter(typeof(JsonStringEnumConverter<OptimizerKind>))]
public enum OptimizerKind { Sgd, Adam, AdamW, RmsProp }

[JsonConverter(typeof(JsonStringEnumConverter<ScheduleKind>))]
public enum ScheduleKind { Constant, Step, Plateau, Cosine }

/// <summary>The validation metric that picks best.ckpt and drives early stopping: the loss (lower is better) or a classifier's accuracy (higher is better).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MonitorMetric>))]
public enum MonitorMetric { Loss, Accuracy }

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
    public int Epochs { get; init; } = 10;
    /// <summary>Stop after this much wall time (0 = no limit); a checkpoint is written when it stops.</summary>
    public double MaxMinutes { get; init; }
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;
    public float LearningRate { get; init; } = 2e-3f;
    public float Momentum { get; init; }
    public bool Nesterov { get; init; }
    public float WeightDecay { get; init; }
    /// <summary>Clip the global gradient norm to this value (0 = off).</summary>
    public float ClipNorm { get; init; } = 5f;
    /// <summary>Clip each gradient value to ±this (0 = off).</summary>
    public float ClipValue { get; init; }
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
    public ulong Seed { get; init; } = 1;
    public int Threads { get; init; } = 1;

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
        if (Nesterov && Momentum <= 0) throw new ArgumentException("--nesterov needs --momentum greater than 0.");
    }

    private static void Check(bool ok, string option, object value, string allowed)
    {
        if (!ok) throw new ArgumentException($"{option} is {value}; it must be {allowed}.");
    }
}
