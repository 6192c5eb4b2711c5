using System.CommandLine;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary><c>recurrent train</c>: train a character- or word-level language model on a text file.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "UTF-8 training text.", Required = true };
        var valid = new Option<string?>("--valid") { Description = "UTF-8 validation text (default: the last part of --data, see --split)." };
        var split = new Option<double>("--split") { Description = "Fraction of --data used for training when --valid is not given.", DefaultValueFactory = _ => 0.9 };
        var level = new Option<string>("--level") { Description = "Tokens: characters or words.", DefaultValueFactory = _ => "char" };
        level.AcceptOnlyFromAmong("char", "word");
        var shape = new ModelOptionSet(layers: 2, hidden: 256, embed: 64, sequenceTask: false);
        var tie = new Option<bool>("--tie") { Description = "Tie the embedding and output matrices (needs --embed equal to --hidden)." };
        var minCount = new Option<int>("--min-count") { Description = "Word level: keep words seen at least this often.", DefaultValueFactory = _ => 1 };
        var maxVocab = new Option<int>("--max-vocab") { Description = "Word level: keep at most this many words (0 = all).", DefaultValueFactory = _ => 0 };
        var bptt = new Option<int>("--bptt") { Description = "Truncated BPTT window (char-rnn: -seq_length).", DefaultValueFactory = _ => 64 };
        var training = new TrainingOptionSet("Parallel streams (char-rnn: -batch_size).", batch: 32, epochs: 10, lr: 2e-3f, evalBatch: 10);
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory: best.ckpt, latest.ckpt, metrics.jsonl, loss.png.", DefaultValueFactory = _ => "run" };
        var init = new Option<string?>("--init") { Description = "Fine-tune: start from this checkpoint's weights and vocabulary (e.g. one made by 'recurrent import'); the model options are taken from it." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out/latest.ckpt (bit-identical at the same thread count)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output." };

        var command = new Command("train", "Train a character- or word-level language model with truncated BPTT.")
        {
            data, valid, split, level, tie, minCount, maxVocab, bptt, outDir, init, resume, quiet,
        };
        shape.AddTo(command);
        training.AddTo(command);
        command.SetAction((r, cancel) => Task.FromResult(CliErrors.Run(() =>
        {
            var options = training.Read(r, r.GetValue(bptt));
            var request = new TrainingRequest(r.GetValue(data)!, r.GetValue(valid), r.GetValue(split), r.GetValue(level) == "word" ? TokenLevel.Word : TokenLevel.Char,
                r.GetValue(minCount), r.GetValue(maxVocab), r.GetValue(outDir)!, r.GetValue(resume), r.GetValue(quiet), r.GetValue(init), CommandLine(r))
            {
                Given = CommonOptions.Given(r, command),
            };
            var s = shape.Read(r);
            var summary = Execute(request, new ModelRequest(s.Cell, s.Layers, s.HiddenSize, s.EmbeddingSize, s.Dropout, r.GetValue(tie)), options, cancel);
            return CliErrors.Interrupted(cancel, summary, request.OutDir);
        })));
        return command;
    }

    /// <param name="Given">The options given on the command line (not defaulted), by name: what a resumed run is asked to change.</param>
    /// <param name="CommandLine">The command as typed, saved in the checkpoints (the model card of <c>recurrent serve</c> shows it).</param>
    public sealed record TrainingRequest(string Data, string? Valid, double Split, TokenLevel Level, int MinCount, int MaxVocab, string OutDir, bool Resume, bool Quiet, string? Init = null, string? CommandLine = null)
    {
        public IReadOnlySet<string> Given { get; init; } = new HashSet<string>();
    }

    /// <summary>"recurrent train …" as parsed, each argument quoted when it needs to be.</summary>
    private static string CommandLine(ParseResult r) =>
        "recurrent " + string.Join(' ', r.Tokens.Select(t => t.Value.Length > 0 && t.Value.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@".Contains(c)) ? t.Value : "'" + t.Value.Replace("'", "'\\''") + "'"));

    /// <summary>What a checkpoint records about where its data came from: the command, the files (full paths), the split.</summary>
    private static Dictionary<string, string> DataMetadata(TrainingRequest request)
    {
        var metadata = new Dictionary<string, string>
        {
            ["data"] = Path.GetFullPath(request.Data),
            ["split"] = request.Split.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (request.Valid is not null) metadata["valid"] = Path.GetFullPath(request.Valid);
        if (request.CommandLine is not null) metadata["command"] = request.CommandLine;
        return metadata;
    }

    public sealed record ModelRequest(CellType Cell, int Layers, int Hidden, int Embed, float Dropout, bool Tie);

    public static TrainingSummary Execute(TrainingRequest request, ModelRequest modelRequest, TrainingOptions options, CancellationToken cancel = default)
    {
        if (request.Resume && request.Init is not null) throw new ArgumentException("--init starts a new run from a model and --resume continues a run: give one of them.");
        if (request.MinCount < 1) throw new ArgumentException($"--min-count is {request.MinCount}; it must be at least 1.");
        if (request.MaxVocab < 0 || request.MaxVocab is > 0 and < 3) throw new ArgumentException($"--max-vocab is {request.MaxVocab}; it must be 0 (all) or at least 3.");
        string trainText = TextCorpus.ReadFile(request.Data);
        if (trainText.Length == 0) throw new ArgumentException($"'{request.Data}' is empty.");
        string? validText = request.Valid is null ? null : TextCorpus.ReadFile(request.Valid);
        if (validText is { Length: 0 }) throw new ArgumentException($"'{request.Valid}' is empty.");

        Trainer trainer;
        Vocabulary vocabulary;
        string latest = Path.Combine(request.OutDir, Trainer.LatestFile);
        if (request.Resume)
        {
            if (!File.Exists(latest)) throw new FileNotFoundException($"--resume: '{latest}' does not exist (train into --out first).");
            var checkpoint = Checkpoint.Load(latest);
            vocabulary = Vocabulary.FromJson(checkpoint.VocabularyJson);
            // The model and its vocabulary are the checkpoint's: asking for another shape is an error, not silently ignored.
            var c = checkpoint.Model;
            var asked = SequenceModelConfig.LanguageModel(modelRequest.Cell, c.VocabularySize, modelRequest.Embed, modelRequest.Hidden, modelRequest.Layers, modelRequest.Dropout, modelRequest.Tie);
            ModelOptionSet.CheckResume(asked, c, request.Given);
            if (request.Given.Contains("--level") && request.Level != vocabulary.Level)
                throw new ArgumentException($"--level is {request.Level.ToString().ToLowerInvariant()} but the run was trained on {vocabulary.Level.ToString().ToLowerInvariant()}s; a resumed run keeps its vocabulary.");
            foreach (var option in new[] { "--min-count", "--max-vocab" })
                if (request.Given.Contains(option)) throw new ArgumentException($"{option} shapes the vocabulary when a run starts; a resumed run keeps its vocabulary (resume without {option}).");
            var resumed = TrainingOptions.Resumed(checkpoint.Training, options, request.Given);
            TrainingOptions.CheckUnchanged(checkpoint.Training, resumed);   // by name, before the data is read; Trainer.Resume checks the rest
            var (train, validIds) = Encode(vocabulary, trainText, validText, request);
            trainer = Trainer.Resume(checkpoint, latest, new TokenStream(train, resumed.Batch, resumed.Bptt), TokenStream.ForEvaluation(validIds, resumed.EvalBatch, resumed.Bptt), request.OutDir, resumed);
        }
        else if (request.Init is not null)
        {
            if (Directory.Exists(request.OutDir) && File.Exists(latest))
                throw new IOException($"'{request.OutDir}' already holds a training run; use --resume to continue it or choose another --out.");
            string initPath = ModelFiles.Resolve(request.Init);
            var start = Checkpoint.Load(initPath);
            if (!start.Model.IsLanguageModel) throw new ArgumentException($"--init '{initPath}' is not a language model; 'recurrent train' fine-tunes language models.");
            vocabulary = Vocabulary.FromJson(start.VocabularyJson);
            var (train, validIds) = Encode(vocabulary, trainText, validText, request);
            trainer = Trainer.ForLanguageModel(start.CreateModel(initPath), vocabulary, train, validIds, options, request.OutDir);
        }
        else
        {
            vocabulary = request.Level == TokenLevel.Char
                ? CharVocabulary.Build(validText is null ? trainText : trainText + validText)
                : WordVocabulary.Build(WordVocabulary.Tokenize(request.Valid is null ? trainText[..SplitPoint(trainText, request.Split, TokenLevel.Word)] : trainText), request.MinCount, request.MaxVocab);
            var (train, validIds) = Encode(vocabulary, trainText, validText, request);
            var config = SequenceModelConfig.LanguageModel(modelRequest.Cell, vocabulary.Count, modelRequest.Embed, modelRequest.Hidden, modelRequest.Layers, modelRequest.Dropout, modelRequest.Tie);
            ModelOptionSet.Validate(config);
            var model = new SequenceModel(config, new Rng(options.Seed));
            if (Directory.Exists(request.OutDir) && File.Exists(latest))
                throw new IOException($"'{request.OutDir}' already holds a training run; use --resume to continue it or choose another --out.");
            trainer = Trainer.ForLanguageModel(model, vocabulary, train, validIds, options, request.OutDir, DataMetadata(request));
        }
        if (!request.Quiet)
        {
            var c = trainer.Model.Config;
            Console.WriteLine($"{(request.Resume ? "resuming" : request.Init is not null ? "fine-tuning" : "training")} {c.Cell} {c.Layers}x{c.HiddenSize} (embed {c.EmbeddingSize}, {trainer.Model.ParameterCount:N0} parameters) on {vocabulary.Count} {(vocabulary.Level == TokenLevel.Char ? "characters" : "words")}; output in {request.OutDir}");
            Console.WriteLine(TrainingView.Plan(trainer, request.Resume, languageModel: true));
        }
        string unit = vocabulary.Level == TokenLevel.Char ? "char" : "word";
        var summary = TrainingView.Run(trainer, request.Quiet, unit, cancel, () => LossPlot.Write(request.OutDir));
        if (!request.Quiet)
            Console.WriteLine($"done: {summary.Steps} steps, best validation {summary.BestValidLoss:F4} nats/{unit} (ppl {Math.Exp(summary.BestValidLoss):F2}), {summary.Elapsed:hh\\:mm\\:ss}; best model {summary.BestCheckpoint}");
        return summary;
    }

    /// <summary>
    /// Where --split cuts the text: at that fraction of its characters (nanoGPT's split for
    /// character models), moved past the next line break for word models so no sentence is cut.
    /// </summary>
    private static int SplitPoint(string text, double fraction, TokenLevel level)
    {
        if (!(fraction > 0 && fraction < 1)) throw new ArgumentException($"--split is {fraction}; it must be between 0 and 1 (exclusive).");
        int cut = (int)(text.Length * fraction);
        if (level == TokenLevel.Word)
        {
            // After the next line break; in a text without one, at the nearest whitespace, so no word is cut in two.
            int newline = text.IndexOf('\n', Math.Max(0, cut - 1));
            if (newline >= 0) cut = newline + 1;
            else if (cut > 0 && cut < text.Length && !char.IsWhiteSpace(text[cut - 1]) && !char.IsWhiteSpace(text[cut]))
            {
                int forward = cut, back = cut;
                while (forward < text.Length && !char.IsWhiteSpace(text[forward])) forward++;
                while (back > 0 && !char.IsWhiteSpace(text[back - 1])) back--;
                cut = forward < text.Length && (back == 0 || forward - cut <= cut - back) ? forward : back;
            }
        }
        else if (cut > 0 && cut < text.Length && char.IsLowSurrogate(text[cut])) cut--;   // never split a surrogate pair
        return cut;
    }

    private static (int[] Train, int[] Valid) Encode(Vocabulary vocabulary, string trainText, string? validText, TrainingRequest request)
    {
        string trainPart = trainText, validPart;
        if (validText is null)
        {
            int cut = SplitPoint(trainText, request.Split, vocabulary.Level);
            trainPart = trainText[..cut];
            validPart = trainText[cut..];
        }
        else validPart = validText;
        int[] train = EncodeFile(vocabulary, trainPart, request.Data);
        int[] valid = EncodeFile(vocabulary, validPart, request.Valid ?? request.Data);
        if (train.Length < 2) throw new ArgumentException($"'{request.Data}' is too small to train on ({train.Length} tokens).");
        if (valid.Length < 2) throw new ArgumentException($"The validation text has {valid.Length} token(s); it needs at least 2 (use a larger file or --split).");
        return (train, valid);
    }

    private static int[] EncodeFile(Vocabulary vocabulary, string text, string path)
    {
        try { return vocabulary.Encode(text); }
        catch (ArgumentException e) { throw new ArgumentException($"'{path}': {e.Message}"); }
    }
}
