using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Recurrent.Applications;
using Recurrent.Data;
using Recurrent.Evaluation;
using Recurrent.Text;
using Recurrent.Training;
using Spectre.Console;

namespace Recurrent.Cli.Commands;

/// <summary>
/// <c>recurrent tag train|eval|predict</c>: sequence tagging (one tag per word, e.g. part of
/// speech) from CoNLL-U files, with a bidirectional stack over each word's key, affixes and shape.
/// </summary>
public static class TagCommand
{
    public static Command Create()
    {
        var command = new Command("tag", "Sequence tagging: words → one tag per word, e.g. part of speech from CoNLL-U files (train, eval, predict).");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(Eval());
        command.Subcommands.Add(Predict());
        return command;
    }

    private static Option<string> Column()
    {
        var column = new Option<string>("--column") { Description = "The tag column of the CoNLL-U files: upos (universal part of speech) or xpos (language-specific).", DefaultValueFactory = _ => "upos" };
        column.AcceptOnlyFromAmong("upos", "xpos");
        return column;
    }

    private static IReadOnlyList<TaggedSentence> Read(string path, string column) =>
        ConlluReader.Read(path, column == "xpos" ? TagColumn.Xpos : TagColumn.Upos);

    private static Command Train()
    {
        var data = new Option<string>("--data") { Description = "Training sentences: a CoNLL-U file (.conllu, or .conllu.gz).", Required = true };
        var valid = new Option<string?>("--valid") { Description = "Validation sentences (CoNLL-U): pick best.ckpt and stop early on their accuracy." };
        var test = new Option<string?>("--test") { Description = "Test sentences (CoNLL-U), scored once with the best weights at the end." };
        var column = Column();
        var minCount = new Option<int>("--min-count") { Description = "Keep words (lowercased, digits as 0) seen at least this often; the rest are <unk>.", DefaultValueFactory = _ => 2 };
        var suffixes = new Option<int>("--suffixes") { Description = "Suffix fields of length 1..N (0: none).", DefaultValueFactory = _ => 3 };
        var prefixes = new Option<int>("--prefixes") { Description = "Prefix fields of length 1..N (0: none).", DefaultValueFactory = _ => 1 };
        var noShape = new Option<bool>("--no-shape") { Description = "No word-shape field (capitalisation, digits, punctuation)." };
        var affixEmbed = new Option<int>("--affix-embed") { Description = "Embedding size of each suffix and prefix field.", DefaultValueFactory = _ => 16 };
        var shapeEmbed = new Option<int>("--shape-embed") { Description = "Embedding size of the shape field.", DefaultValueFactory = _ => 8 };
        var wordDropout = new Option<float>("--word-dropout") { Description = "Training: replace each word by <unk> with this probability (its affixes and shape stay).", DefaultValueFactory = _ => 0f };
        var shape = new ModelOptionSet(layers: 2, hidden: 128, embed: 64, sequenceTask: true, pooling: null, bidirectional: true, dropout: 0.33f);
        var training = new TrainingOptionSet("Sentences per batch.", batch: 32, epochs: 30, lr: 2e-3f, evalBatch: 64, monitor: "accuracy", stopPatience: 3);
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory: best.ckpt, latest.ckpt, metrics.jsonl, loss.png.", DefaultValueFactory = _ => "run" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out/latest.ckpt (bit-identical at the same thread count)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output." };
        var command = new Command("train", "Train a tagger on CoNLL-U sentences; prints test accuracy when --test is given.")
        {
            data, valid, test, column, minCount, suffixes, prefixes, noShape, affixEmbed, shapeEmbed, wordDropout, outDir, resume, quiet,
        };
        shape.AddTo(command);
        training.AddTo(command);
        command.SetAction((r, cancel) => Task.FromResult(CliErrors.Run(() =>
        {
            var options = training.Read(r);
            string dir = r.GetValue(outDir)!, tags = r.GetValue(column)!;
            bool isQuiet = r.GetValue(quiet), isResume = r.GetValue(resume);
            string latest = Path.Combine(dir, Trainer.LatestFile);
            if (!isResume && File.Exists(latest))
                throw new IOException($"'{dir}' already holds a training run; use --resume to continue it or choose another --out.");
            if (isResume && !File.Exists(latest)) throw new FileNotFoundException($"--resume: '{latest}' does not exist (train into --out first).");
            var features = FeatureOptions(new TaggerFeatures
            {
                MinCount = r.GetValue(minCount), Suffixes = r.GetValue(suffixes), Prefixes = r.GetValue(prefixes), Shape = !r.GetValue(noShape),
                AffixEmbeddingSize = r.GetValue(affixEmbed), ShapeEmbeddingSize = r.GetValue(shapeEmbed), WordDropout = r.GetValue(wordDropout),
            });
            var config = shape.Read(r);
            var trainPart = Read(r.GetValue(data)!, tags);
            var validPart = r.GetValue(valid) is { } v ? Read(v, tags) : null;
            var testPart = r.GetValue(test) is { } t ? Read(t, tags) : null;

            SequenceTagger tagger;
            Checkpoint? checkpoint = null;
            if (isResume) tagger = SequenceTagger.Load(latest, out checkpoint);
            else
            {
                tagger = ModelOptionSet.Validated(() => SequenceTagger.Create(trainPart, config, features, options.Seed));
                tagger.Notes["column"] = tags;
            }
            if (!isQuiet)
            {
                var c = tagger.Model.Config;
                Console.WriteLine($"{(isResume ? "resuming" : "training")} {c.Cell} {c.Layers}x{c.HiddenSize}{(c.Bidirectional ? " bidirectional" : "")} tagger ({tagger.Model.ParameterCount:N0} parameters) on "
                    + $"{trainPart.Count} sentences ({trainPart.Sum(s => s.Words.Length):N0} words), {validPart?.Count ?? 0} validation, {tagger.Tags.Count} tags, "
                    + $"{tagger.Words.Count:N0} words + {string.Join(", ", tagger.Features.FieldNames)}; output in {dir}");
            }
            var summary = TrainingView.Show((report, token) => checkpoint is not null
                ? tagger.Resume(checkpoint, latest, trainPart, validPart, options, dir, report, token)
                : tagger.Fit(trainPart, validPart, options, dir, report, token), isQuiet, "tag", cancel, () => LossPlot.Write(dir, "cross-entropy (nats/tag)"));
            if (!isQuiet)
            {
                Console.WriteLine($"done: {summary.Steps} steps{(summary.StoppedEarly ? " (stopped early)" : "")}, {summary.Elapsed:hh\\:mm\\:ss}; best model {summary.BestCheckpoint}");
                if (testPart is not null)
                {
                    var report = tagger.Evaluate(testPart);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test: accuracy {report.Accuracy:P2} on {report.Total} words"));
                }
            }
            return CliErrors.Interrupted(cancel, summary, dir);
        })));
        return command;
    }

    /// <summary>Validates the feature options, naming the command-line option at fault.</summary>
    private static TaggerFeatures FeatureOptions(TaggerFeatures features)
    {
        try { features.Validate(); }
        catch (ArgumentException e)
        {
            string option = e.ParamName switch
            {
                nameof(TaggerFeatures.MinCount) => "--min-count",
                nameof(TaggerFeatures.Suffixes) => "--suffixes",
                nameof(TaggerFeatures.Prefixes) => "--prefixes",
                nameof(TaggerFeatures.AffixEmbeddingSize) => "--affix-embed",
                nameof(TaggerFeatures.ShapeEmbeddingSize) => "--shape-embed",
                _ => "--word-dropout",
            };
            throw new ArgumentException($"{option}: {e.Message.Split('\n')[0].Replace($" (Parameter '{e.ParamName}')", "")}");
        }
        return features;
    }

    private static Command Eval()
    {
        var model = CommonOptions.Model();
        var data = new Option<string>("--data") { Description = "Sentences to score: a CoNLL-U file (.conllu or .conllu.gz).", Required = true };
        var column = new Option<string?>("--column") { Description = "The tag column: upos or xpos (default: the one the model was trained on)." };
        column.AcceptOnlyFromAmong("upos", "xpos");
        var json = new Option<bool>("--json") { Description = "Print the scores as JSON." };
        var command = new Command("eval", "Score a tagger: per-word accuracy, accuracy on words unseen in training, and a per-tag table.") { model, data, column, json };
        command.SetAction(r => CliErrors.Run(() =>
        {
            var tagger = SequenceTagger.Load(ModelFiles.Resolve(r.GetValue(model)!));
            string tags = r.GetValue(column) ?? (tagger.Notes.TryGetValue("column", out var trained) ? trained : "upos");
            var unknown = new ClassificationReport(tagger.Tags);
            var report = tagger.Evaluate(Read(r.GetValue(data)!, tags), unknownWords: unknown);
            Print(report, unknown, r.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static void Print(ClassificationReport report, ClassificationReport unknown, bool json)
    {
        var perTag = report.PerClass;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                words = report.Total,
                accuracy = report.Accuracy,
                unknown_words = unknown.Total,
                unknown_accuracy = unknown.Total > 0 ? unknown.Accuracy : (double?)null,
                macro_f1 = report.MacroF1,
                tags = perTag.Select(c => new { tag = c.Label, accuracy = c.Recall, precision = c.Precision, f1 = c.F1, support = c.Support }),
            }));
            return;
        }
        var table = new Table().AddColumn("tag").AddColumn(new TableColumn("accuracy").RightAligned()).AddColumn(new TableColumn("precision").RightAligned())
            .AddColumn(new TableColumn("F1").RightAligned()).AddColumn(new TableColumn("support").RightAligned());
        foreach (var c in perTag)
            table.AddRow(Markup.Escape(c.Label), F(c.Recall), F(c.Precision), F(c.F1), c.Support.ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy {report.Accuracy:P2} ({report.Total} words)  unknown words {(unknown.Total > 0 ? unknown.Accuracy.ToString("P2", CultureInfo.InvariantCulture) : "-")} ({unknown.Total} words)  macro-F1 {report.MacroF1:F4}"));
    }

    private static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static Command Predict()
    {
        var model = CommonOptions.Model();
        var inputs = new Argument<string[]>("sentence") { Description = "Sentences to tag, each one argument of whitespace-separated words.", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--file") { Description = "Sentences to tag, one per line (words separated by whitespace)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON line per sentence: words, tags and probabilities." };
        var command = new Command("predict", "Tag sentences: each word with its most likely tag.") { model, inputs, file, json };
        command.SetAction(r => CliErrors.Run(() =>
        {
            var tagger = SequenceTagger.Load(ModelFiles.Resolve(r.GetValue(model)!));
            var lines = (r.GetValue(inputs) ?? []).Concat(r.GetValue(file) is { } f ? FileLines(f) : []);
            var sentences = lines.Select(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).Where(w => w.Length > 0).ToList();
            if (sentences.Count == 0) throw new ArgumentException("Give sentences to tag as arguments or with --file.");
            var results = tagger.PredictAll(sentences);
            for (int i = 0; i < sentences.Count; i++)
            {
                var words = sentences[i];
                var tagged = results[i];
                if (r.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(new { words, tags = tagged.Select(x => x.Tag), probabilities = tagged.Select(x => x.Probability) }));
                else
                    Console.WriteLine(string.Join(" ", words.Zip(tagged, (w, x) => $"{w}/{x.Tag}")));
            }
            return 0;
        }));
        return command;
    }

    private static IEnumerable<string> FileLines(string path) =>
        TextCorpus.ReadFile(path).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0);
}
