using System.CommandLine;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>The trainer's options (optimizer, schedule, clipping, epochs, stopping, seed, threads), shared by every training command.</summary>
public sealed class TrainingOptionSet
{
    private readonly Option<int> _batch, _epochs, _patience, _evalEvery, _stopPatience, _threads, _evalBatch;
    private readonly Option<double> _minutes;
    private readonly Option<float> _lr, _momentum, _weightDecay, _clip, _clipValue, _decayFactor;
    private readonly Option<string> _optimizer, _schedule, _monitor;
    private readonly Option<bool> _nesterov;
    private readonly Option<long> _decaySteps, _warmup;
    private readonly Option<ulong> _seed;

    /// <param name="batchHelp">What --batch means for this command.</param>
    /// <param name="batch">Default batch size.</param>
    /// <param name="epochs">Default epochs.</param>
    /// <param name="lr">Default learning rate.</param>
    /// <param name="evalBatch">Default validation batch size.</param>
    /// <param name="monitor">Default validation metric for best.ckpt and early stopping.</param>
    /// <param name="stopPatience">Default for --stop-patience (0: never stop early).</param>
    public TrainingOptionSet(string batchHelp, int batch, int epochs, float lr, int evalBatch, string monitor = "loss", int stopPatience = 0)
    {
        _batch = new Option<int>("--batch") { Description = batchHelp, DefaultValueFactory = _ => batch };
        _evalBatch = new Option<int>("--eval-batch") { Description = "Batch size for validation.", DefaultValueFactory = _ => evalBatch };
        _epochs = new Option<int>("--epochs") { Description = "Passes over the training data.", DefaultValueFactory = _ => epochs };
        _minutes = new Option<double>("--minutes") { Description = "Stop after this many minutes (0 = no limit).", DefaultValueFactory = _ => 0 };
        _lr = new Option<float>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => lr };
        _optimizer = new Option<string>("--optimizer") { Description = "Optimizer.", DefaultValueFactory = _ => "adam" };
        _optimizer.AcceptOnlyFromAmong("adam", "adamw", "sgd", "rmsprop");
        _momentum = new Option<float>("--momentum") { Description = "SGD/RMSprop momentum.", DefaultValueFactory = _ => 0f };
        _nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum (SGD)." };
        _weightDecay = new Option<float>("--weight-decay") { Description = "Weight decay (AdamW: decoupled).", DefaultValueFactory = _ => 0f };
        _clip = new Option<float>("--clip") { Description = "Clip the global gradient norm (0 = off).", DefaultValueFactory = _ => 5f };
        _clipValue = new Option<float>("--clip-value") { Description = "Clip each gradient value to ±this (0 = off).", DefaultValueFactory = _ => 0f };
        _schedule = new Option<string>("--schedule") { Description = "Learning-rate schedule.", DefaultValueFactory = _ => "constant" };
        _schedule.AcceptOnlyFromAmong("constant", "step", "plateau", "cosine");
        _decaySteps = new Option<long>("--decay-steps") { Description = "Step schedule: decay every this many steps.", DefaultValueFactory = _ => 1000 };
        _decayFactor = new Option<float>("--decay-factor") { Description = "Step/plateau schedule: multiply the rate by this.", DefaultValueFactory = _ => 0.25f };
        _patience = new Option<int>("--patience") { Description = "Plateau schedule: evaluations without improvement tolerated.", DefaultValueFactory = _ => 0 };
        _warmup = new Option<long>("--warmup") { Description = "Cosine schedule: warm-up steps.", DefaultValueFactory = _ => 0 };
        _evalEvery = new Option<int>("--eval-every") { Description = "Validate (and checkpoint) every this many steps (0 = each epoch).", DefaultValueFactory = _ => 0 };
        _monitor = new Option<string>("--monitor") { Description = "Validation metric that picks best.ckpt and drives --stop-patience.", DefaultValueFactory = _ => monitor };
        _monitor.AcceptOnlyFromAmong("loss", "accuracy");
        _stopPatience = new Option<int>("--stop-patience") { Description = "Early stopping: stop after this many evaluations without improvement (0 = never).", DefaultValueFactory = _ => stopPatience };
        _seed = CommonOptions.Seed();
        _threads = CommonOptions.Threads();
    }

    public void AddTo(Command command)
    {
        foreach (Option o in new Option[] { _batch, _evalBatch, _epochs, _minutes, _lr, _optimizer, _momentum, _nesterov, _weightDecay, _clip, _clipValue, _schedule,
                     _decaySteps, _decayFactor, _patience, _warmup, _evalEvery, _monitor, _stopPatience, _seed, _threads })
            command.Options.Add(o);
    }

    /// <summary>The options as given (validated); <paramref name="bptt"/> for language models.</summary>
    public TrainingOptions Read(ParseResult r, int bptt = 64)
    {
        var options = new TrainingOptions
        {
            Batch = r.GetValue(_batch), Bptt = bptt, EvalBatch = r.GetValue(_evalBatch), Epochs = r.GetValue(_epochs), MaxMinutes = r.GetValue(_minutes),
            Optimizer = r.GetValue(_optimizer) switch { "sgd" => OptimizerKind.Sgd, "adamw" => OptimizerKind.AdamW, "rmsprop" => OptimizerKind.RmsProp, _ => OptimizerKind.Adam },
            LearningRate = r.GetValue(_lr), Momentum = r.GetValue(_momentum), Nesterov = r.GetValue(_nesterov), WeightDecay = r.GetValue(_weightDecay),
            ClipNorm = r.GetValue(_clip), ClipValue = r.GetValue(_clipValue),
            Schedule = r.GetValue(_schedule) switch { "step" => ScheduleKind.Step, "plateau" => ScheduleKind.Plateau, "cosine" => ScheduleKind.Cosine, _ => ScheduleKind.Constant },
            DecaySteps = r.GetValue(_decaySteps), DecayFactor = r.GetValue(_decayFactor), Patience = r.GetValue(_patience), WarmupSteps = r.GetValue(_warmup),
            EvalEvery = r.GetValue(_evalEvery), Monitor = r.GetValue(_monitor) == "accuracy" ? MonitorMetric.Accuracy : MonitorMetric.Loss,
            StopPatience = r.GetValue(_stopPatience), Seed = r.GetValue(_seed), Threads = r.GetValue(_threads),
        };
        options.Validate();
        return options;
    }
}

/// <summary>The model's shape options (cell, layers, sizes, directions, dropout, pooling), shared by every training command.</summary>
public sealed class ModelOptionSet
{
    private readonly Option<string> _cell, _pooling;
    private readonly Option<int> _layers, _hidden, _embed;
    private readonly Option<float> _dropout;
    private readonly Option<bool> _bidirectional;

    /// <param name="layers">Default number of layers.</param>
    /// <param name="hidden">Default hidden size.</param>
    /// <param name="embed">Default embedding size (0: the command has no embedding option).</param>
    /// <param name="sequenceTask">Whether the command offers --bidirectional and --pooling (not for language models).</param>
    /// <param name="pooling">Default pooling; null for a per-step head (tagging), which offers no --pooling.</param>
    /// <param name="bidirectional">Default for --bidirectional.</param>
    /// <param name="dropout">Default for --dropout.</param>
    public ModelOptionSet(int layers, int hidden, int embed, bool sequenceTask, string? pooling = "last", bool bidirectional = false, float dropout = 0f)
    {
        _cell = new Option<string>("--cell") { Description = "Recurrent cell.", DefaultValueFactory = _ => "lstm" };
        _cell.AcceptOnlyFromAmong("lstm", "gru", "rnn", "rnn-relu");
        _layers = new Option<int>("--layers") { Description = "Stacked recurrent layers.", DefaultValueFactory = _ => layers };
        _hidden = new Option<int>("--hidden") { Description = "Hidden size per direction.", DefaultValueFactory = _ => hidden };
        _embed = new Option<int>("--embed") { Description = "Embedding size.", DefaultValueFactory = _ => embed };
        _dropout = new Option<float>("--dropout") { Description = "Dropout on non-recurrent connections.", DefaultValueFactory = _ => dropout };
        _bidirectional = new Option<bool>("--bidirectional") { Description = "Read each sequence in both directions.", DefaultValueFactory = _ => bidirectional };
        _pooling = new Option<string>("--pooling") { Description = "What the head reads: the final states (last), or the mean or max over the valid steps.", DefaultValueFactory = _ => pooling ?? "last" };
        _pooling.AcceptOnlyFromAmong("last", "mean", "max");
        SequenceTask = sequenceTask;
        HasEmbedding = embed > 0;
        PerStep = pooling is null;
    }

    private bool SequenceTask { get; }
    private bool HasEmbedding { get; }
    private bool PerStep { get; }

    public void AddTo(Command command)
    {
        foreach (Option o in new Option[] { _cell, _layers, _hidden, _dropout }) command.Options.Add(o);
        if (HasEmbedding) command.Options.Add(_embed);
        if (SequenceTask) command.Options.Add(_bidirectional);
        if (SequenceTask && !PerStep) command.Options.Add(_pooling);
    }

    /// <summary>The shape as given; the caller fills in the input and output sizes.</summary>
    public SequenceModelConfig Read(ParseResult r) => new()
    {
        Cell = ParseCell(r.GetValue(_cell)!),
        Layers = r.GetValue(_layers),
        HiddenSize = r.GetValue(_hidden),
        EmbeddingSize = HasEmbedding ? r.GetValue(_embed) : 0,
        Dropout = r.GetValue(_dropout),
        Bidirectional = SequenceTask && r.GetValue(_bidirectional),
        Pooling = !SequenceTask || PerStep ? Pooling.None : r.GetValue(_pooling) switch { "mean" => Pooling.Mean, "max" => Pooling.Max, _ => Pooling.Last },
    };

    public static CellType ParseCell(string name) => name switch
    {
        "gru" => CellType.Gru,
        "rnn" => CellType.RnnTanh,
        "rnn-relu" => CellType.RnnRelu,
        _ => CellType.Lstm,
    };

    /// <summary>
    /// A resumed run keeps its model: each shape option <paramref name="given"/> on the command line
    /// must equal the checkpoint's, or this throws naming it.
    /// </summary>
    public static void CheckResume(SequenceModelConfig asked, SequenceModelConfig saved, IReadOnlySet<string> given)
    {
        var pairs = new (string Option, object Asked, object Saved)[]
        {
            ("--cell", CellName(asked.Cell), CellName(saved.Cell)), ("--layers", asked.Layers, saved.Layers), ("--hidden", asked.HiddenSize, saved.HiddenSize),
            ("--embed", asked.EmbeddingSize, saved.EmbeddingSize), ("--dropout", asked.Dropout, saved.Dropout), ("--tie", asked.TieWeights, saved.TieWeights),
            ("--bidirectional", asked.Bidirectional, saved.Bidirectional), ("--pooling", asked.Pooling, saved.Pooling),
        };
        foreach (var (option, a, s) in pairs)
            if (given.Contains(option) && !Equals(a, s))
                throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{option} is {a} but the checkpoint's model has {s}; a resumed run keeps its model (resume without {option}, or start a new run in another --out)."));
    }

    private static string CellName(CellType cell) => cell switch { CellType.Gru => "gru", CellType.RnnTanh => "rnn", CellType.RnnRelu => "rnn-relu", _ => "lstm" };

    /// <summary>Validates a full config, naming the command-line option at fault.</summary>
    public static void Validate(SequenceModelConfig config) => Validated(() => { config.Validate(); return config; });

    /// <summary>Runs <paramref name="create"/> (which builds, and so validates, a model), naming the command-line option at fault in its error.</summary>
    public static T Validated<T>(Func<T> create)
    {
        try { return create(); }
        catch (ArgumentException e)
        {
            string option = e.ParamName switch
            {
                "HiddenSize" => "--hidden: ",
                "EmbeddingSize" or "InputSize" => "--embed: ",
                "NumLayers" => "--layers: ",
                "Dropout" => "--dropout: ",
                "TieWeights" => "--tie: ",
                "VocabularySize" => "vocabulary: ",
                _ => "",
            };
            throw new ArgumentException(option + e.Message.Split('\n')[0].Replace($" (Parameter '{e.ParamName}')", ""));
        }
    }
}
