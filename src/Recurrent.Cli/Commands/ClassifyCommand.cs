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
/// <c>recurrent classify train|eval|predict</c>: many-to-one classification of texts (characters
/// or words; a TSV/CSV file of text and label, a folder with one file per class, or a folder with
/// one subfolder per class) or of numeric sequences (one CSV per sequence and a labels file).
/// </summary>
public static class ClassifyCommand
{
    public static Command Create()
    {
        var command = new Command("classify", "Sequence classification: texts or numeric sequences → a class (train, eval, predict).");
        command.Subcommands.Add(Train());
        command.Subcommands.Add(Eval());
        command.Subcommands.Add(Predict());
        return command;
    }

    /// <summary>Where the examples come from: text data, or numeric sequences with a labels file.</summary>
    private sealed class DataOptions
    {
        public readonly Option<string?> Data = new("--data") { Description = "Texts: a .tsv/.csv file (text, label per line), a folder of one .txt per class (a line per example), or a folder of one subfolder per class (a file per example)." };
        public readonly Option<string?> Sequences = new("--sequences") { Description = "Numeric sequences: a folder with one CSV file per sequence (a row per step)." };
        public readonly Option<string?> Labels = new("--labels") { Description = "With --sequences: a CSV of 'id,label' rows." };
        public readonly Option<string> Pattern = new("--pattern") { Description = "With --sequences: a sequence's file name, {id} standing for its id.", DefaultValueFactory = _ => "{id}.csv" };
        public readonly Option<int> TextColumn = new("--text-column") { Description = "TSV/CSV: the column of the text (0-based).", DefaultValueFactory = _ => 0 };
        public readonly Option<int> LabelColumn = new("--label-column") { Description = "TSV/CSV: the column of the label (0-based).", DefaultValueFactory = _ => 1 };
        public readonly Option<bool> Header = new("--header") { Description = "TSV/CSV: the first line is a header." };

        public void AddTo(Command command)
        {
            foreach (Option o in new Option[] { Data, Sequences, Labels, Pattern, TextColumn, LabelColumn, Header }) command.Options.Add(o);
        }

        public bool IsSeries(ParseResult r)
        {
            bool text = r.GetValue(Data) is not null, series = r.GetValue(Sequences) is not null;
            if (text == series) throw new ArgumentException("Give either --data (texts) or --sequences with --labels (numeric sequences).");
            if (series && r.GetValue(Labels) is null) throw new ArgumentException("--sequences needs --labels (a CSV of 'id,label' rows).");
            return series;
        }

        public List<Labeled<string>> Texts(ParseResult r, string? path = null)
        {
            path ??= r.GetValue(Data)!;
            if (Directory.Exists(path))
                return [.. Directory.EnumerateDirectories(path).Any() ? LabeledTextReader.ReadFolderPerClass(path) : LabeledTextReader.ReadFilePerClass(path)];
            return [.. LabeledTextReader.ReadDelimited(path, new LabeledTextFormat { TextColumn = r.GetValue(TextColumn), LabelColumn = r.GetValue(LabelColumn), HasHeader = r.GetValue(Header) })];
        }

        public List<(string Id, Labeled<float[]> Item, int Features)> Series(ParseResult r) =>
            SequenceFolderReader.Read(r.GetValue(Sequences)!, r.GetValue(Labels)!, r.GetValue(Pattern)!)
                .Select(s => (s.Id, new Labeled<float[]>(s.Values, s.Label), s.FeatureSize)).ToList();
    }

    private static Command Train()
    {
        var data = new DataOptions();
        var valid = new Option<string?>("--valid") { Description = "Texts: validation data in the --data format (default: split from --data, see --split)." };
        var split = new Option<string>("--split") { Description = "Without --valid: train and validation fractions of a seeded, class-stratified split; the rest is the test part (see eval --part).", DefaultValueFactory = _ => "0.8,0.1" };
        var groups = new Option<string?>("--groups") { Description = "With --sequences: a CSV of 'id,group' rows; with --test-group, split by group instead of at random." };
        var testGroup = new Option<string?>("--test-group") { Description = "With --groups: the group held out as the test part (validation is split from the rest)." };
        var level = new Option<string>("--level") { Description = "Texts: characters or words.", DefaultValueFactory = _ => "char" };
        level.AcceptOnlyFromAmong("char", "word");
        var minCount = new Option<int>("--min-count") { Description = "Texts: keep tokens seen at least this often (the rest are <unk>).", DefaultValueFactory = _ => 1 };
        var weights = new Option<string>("--class-weights") { Description = "Weigh the loss per class: none, or balanced (inverse class frequency).", DefaultValueFactory = _ => "none" };
        weights.AcceptOnlyFromAmong("none", "balanced");
        var shape = new ModelOptionSet(layers: 1, hidden: 128, embed: 32, sequenceTask: true, pooling: "last", bidirectional: true);
        var training = new TrainingOptionSet("Sequences per batch.", batch: 64, epochs: 20, lr: 2e-3f, evalBatch: 256, monitor: "accuracy");
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory: best.ckpt, latest.ckpt, metrics.jsonl, loss.png.", DefaultValueFactory = _ => "run" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out/latest.ckpt (bit-identical at the same thread count)." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output." };
        var command = new Command("train", "Train a sequence classifier; prints test accuracy when a test part exists.") { valid, split, groups, testGroup, level, minCount, weights, outDir, resume, quiet };
        data.AddTo(command);
        shape.AddTo(command);
        training.AddTo(command);
        command.SetAction((r, cancel) => Task.FromResult(CliErrors.Run(() =>
        {
            var options = training.Read(r);
            string dir = r.GetValue(outDir)!;
            bool isQuiet = r.GetValue(quiet);
            var fractions = ParseSplit(r.GetValue(split)!);
            string latest = Path.Combine(dir, Trainer.LatestFile);
            if (!r.GetValue(resume) && File.Exists(latest))
                throw new IOException($"'{dir}' already holds a training run; use --resume to continue it or choose another --out.");
            if (r.GetValue(resume) && !File.Exists(latest)) throw new FileNotFoundException($"--resume: '{latest}' does not exist (train into --out first).");
            if (data.IsSeries(r) && r.GetValue(valid) is not null)
                throw new ArgumentException("--valid takes texts; with --sequences the validation part is split from the data (--split, or --groups and --test-group).");
            var config = shape.Read(r);
            var given = CommonOptions.Given(r, command);
            if (r.GetValue(resume)) options = ResumedOptions(latest, options, given);
            ClassificationReport? test;
            TrainingSummary summary;
            // How the data was split, so that eval --part can take the same parts again.
            var notes = new Dictionary<string, string> { ["split"] = r.GetValue(split)!, ["split_seed"] = options.Seed.ToString(CultureInfo.InvariantCulture) };
            if (r.GetValue(valid) is not null) notes["split"] = "given";
            if (r.GetValue(groups) is { } g) { notes["groups"] = Path.GetFullPath(g); notes["test_group"] = r.GetValue(testGroup) ?? ""; }
            if (data.IsSeries(r))
            {
                var all = data.Series(r);
                var (trainIds, validIds, testIds) = SplitSeries(all, r.GetValue(groups), r.GetValue(testGroup), fractions, options.Seed);
                var (trainPart, validPart, testPart) = (Items(trainIds), Items(validIds), Items(testIds));
                SeriesClassifier classifier;
                if (r.GetValue(resume)) { classifier = SeriesClassifier.Load(latest, out _); ModelOptionSet.CheckResume(config, classifier.Model.Config, given); }
                else
                {
                    classifier = SeriesClassifier.Create(trainPart, all[0].Features, config with { ClassWeights = ClassWeights(r.GetValue(weights)!, trainPart.Select(x => x.Label)) }, options.Seed);
                    foreach (var (k, v) in notes) classifier.Notes[k] = v;
                    ModelOptionSet.Validate(classifier.Model.Config);
                }
                WriteSplit(dir, new { train = Ids(trainIds), valid = Ids(validIds), test = Ids(testIds) });
                Announce(isQuiet, r.GetValue(resume), classifier.Model, $"{trainPart.Count} training / {validPart.Count} validation / {testPart.Count} test sequences, {classifier.Labels.Count} classes", dir);
                summary = Run(classifier, trainPart, validPart, options, dir, r.GetValue(resume), isQuiet, cancel);
                test = testPart.Count > 0 ? classifier.Evaluate(testPart) : null;
            }
            else
            {
                var read = data.Texts(r);
                // A text repeated with the same label would land in several parts of the split and inflate the scores.
                var all = read.Distinct().ToList();
                if (all.Count < read.Count && !isQuiet) Console.WriteLine($"dropped {read.Count - all.Count} repeated (text, label) examples of {read.Count}");
                List<Labeled<string>> trainPart, validPart, testPart;
                if (r.GetValue(valid) is { } validPath) (trainPart, validPart, testPart) = (all, data.Texts(r, validPath), []);
                else (trainPart, validPart, testPart) = Splits.StratifiedSplit(all, x => x.Label, fractions.Train, fractions.Valid, options.Seed);
                var tokenLevel = r.GetValue(level) == "word" ? TokenLevel.Word : TokenLevel.Char;
                TextClassifier classifier;
                if (r.GetValue(resume)) { classifier = TextClassifier.Load(latest, out _); ModelOptionSet.CheckResume(config, classifier.Model.Config, given); }
                else
                {
                    classifier = TextClassifier.Create(trainPart, config with { ClassWeights = ClassWeights(r.GetValue(weights)!, trainPart.Select(x => x.Label)) }, tokenLevel, r.GetValue(minCount), options.Seed);
                    foreach (var (k, v) in notes) classifier.Notes[k] = v;
                    ModelOptionSet.Validate(classifier.Model.Config);
                }
                WriteSplit(dir, new { train = Pairs(trainPart), valid = Pairs(validPart), test = Pairs(testPart) });
                Announce(isQuiet, r.GetValue(resume), classifier.Model, $"{trainPart.Count} training / {validPart.Count} validation / {testPart.Count} test texts, {classifier.Labels.Count} classes, {classifier.Tokens.Count} {(tokenLevel == TokenLevel.Word ? "words" : "characters")}", dir);
                summary = Run(classifier, trainPart, validPart, options, dir, r.GetValue(resume), isQuiet, cancel);
                test = testPart.Count > 0 ? classifier.Evaluate(testPart) : null;
            }
            if (!isQuiet)
            {
                Console.WriteLine($"done: {summary.Steps} steps{(summary.StoppedEarly ? " (stopped early)" : "")}, {summary.Elapsed:hh\\:mm\\:ss}; best model {summary.BestCheckpoint}");
                if (test is not null) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test: accuracy {test.Accuracy:P2}, macro-F1 {test.MacroF1:F4} on {test.Total} examples"));
            }
            return CliErrors.Interrupted(cancel, summary, dir);
        })));
        return command;
    }

    private static TrainingSummary Run<T>(Classifier<T> classifier, List<Labeled<T>> train, List<Labeled<T>> valid, TrainingOptions options, string dir,
        bool resume, bool quiet, CancellationToken cancel)
    {
        string latest = Path.Combine(dir, Trainer.LatestFile);
        if (!quiet) Console.WriteLine(TrainingView.Plan(options, resume ? Checkpoint.Load(latest).Progress : null));
        return TrainingView.Show((report, token) => resume
            ? classifier.Resume(Checkpoint.Load(latest), latest, train, valid, options, dir, report, token)
            : classifier.Fit(train, valid, options, dir, report, token), quiet, "sequence", cancel, () => LossPlot.Write(dir, "cross-entropy (nats/sequence)"));
    }

    /// <summary>The saved options with those given on the command line; what may not change is refused by name.</summary>
    private static TrainingOptions ResumedOptions(string latest, TrainingOptions options, IReadOnlySet<string> given)
    {
        var checkpoint = Checkpoint.Load(latest);
        var resumed = TrainingOptions.Resumed(checkpoint.Training, options, given);
        TrainingOptions.CheckUnchanged(checkpoint.Training, resumed);   // by name, before the data is read; Trainer.Resume checks the rest
        return resumed;
    }

    /// <summary>Class weights n / (K·n_k) for the training labels in the classifier's order (sorted ordinally), or null for "none".</summary>
    private static float[]? ClassWeights(string kind, IEnumerable<string> train)
    {
        if (kind != "balanced") return null;
        var counts = train.GroupBy(l => l).ToDictionary(g => g.Key, g => g.Count());
        var labels = counts.Keys.Order(StringComparer.Ordinal).ToList();
        double total = counts.Values.Sum();
        return labels.Select(l => (float)(total / (labels.Count * (double)counts[l]))).ToArray();
    }

    /// <summary>The file in the output directory that lists the parts of the split, so other tools (e.g. a PyTorch twin) can train and test on exactly the same examples.</summary>
    public const string SplitFile = "split.json";

    private static void WriteSplit(string dir, object parts)
    {
        Directory.CreateDirectory(dir);
        Serialization.AtomicFile.Write(Path.Combine(dir, SplitFile), stream => JsonSerializer.Serialize(stream, parts));
    }

    private static string[][] Pairs(List<Labeled<string>> part) => part.Select(x => new[] { x.Input, x.Label }).ToArray();

    private static string[] Ids(List<(string Id, Labeled<float[]> Item, int Features)> part) => part.Select(x => x.Id).ToArray();

    private static List<Labeled<float[]>> Items(List<(string Id, Labeled<float[]> Item, int Features)> part) => part.Select(x => x.Item).ToList();

    private static void Announce(bool quiet, bool resume, Models.SequenceModel model, string what, string dir)
    {
        if (quiet) return;
        var c = model.Config;
        Console.WriteLine($"{(resume ? "resuming" : "training")} {c.Cell} {c.Layers}x{c.HiddenSize}{(c.Bidirectional ? " bidirectional" : "")}, {c.Pooling.ToString().ToLowerInvariant()} pooling ({model.ParameterCount:N0} parameters) on {what}; output in {dir}");
    }

    private static List<T> Part<T>((List<T> Train, List<T> Valid, List<T> Test) split, string which) => which == "valid" ? split.Valid : split.Test;

    /// <summary>The split a model was trained with, from its checkpoint's notes.</summary>
    private static (List<Labeled<string>>, List<Labeled<string>>, List<Labeled<string>>) SplitTexts(List<Labeled<string>> all, IDictionary<string, string> notes)
    {
        var (fractions, seed) = SplitNotes(notes);
        return Splits.StratifiedSplit(all, x => x.Label, fractions.Train, fractions.Valid, seed);
    }

    private static (List<Labeled<float[]>>, List<Labeled<float[]>>, List<Labeled<float[]>>) SplitSeries(List<(string Id, Labeled<float[]> Item, int Features)> all, IDictionary<string, string> notes)
    {
        var (fractions, seed) = SplitNotes(notes);
        var (train, valid, test) = SplitSeries(all, notes.TryGetValue("groups", out var g) ? g : null, notes.TryGetValue("test_group", out var t) ? t : null, fractions, seed);
        return (Items(train), Items(valid), Items(test));
    }

    private static ((double Train, double Valid) Fractions, ulong Seed) SplitNotes(IDictionary<string, string> notes)
    {
        if (!notes.TryGetValue("split", out var split) || split == "given" || !notes.TryGetValue("split_seed", out var seed))
            throw new ArgumentException("--part needs a model trained on a split of its --data (this one was trained with --valid, or has no split notes); use --part all on the data you want to score.");
        return (ParseSplit(split), ulong.Parse(seed, CultureInfo.InvariantCulture));
    }

    private static (double Train, double Valid) ParseSplit(string text)
    {
        var parts = text.Split(',');
        if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double train)
            && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double valid)
            && train > 0 && valid > 0 && train + valid <= 1)
            return (train, valid);
        throw new ArgumentException($"--split is '{text}'; it must be two positive fractions 'train,valid' adding up to at most 1, e.g. 0.8,0.1.");
    }

    private static (List<(string Id, Labeled<float[]> Item, int Features)> Train, List<(string Id, Labeled<float[]> Item, int Features)> Valid, List<(string Id, Labeled<float[]> Item, int Features)> Test) SplitSeries(
        List<(string Id, Labeled<float[]> Item, int Features)> all, string? groupsFile, string? testGroup, (double Train, double Valid) fractions, ulong seed)
    {
        if ((groupsFile is null) != (testGroup is null)) throw new ArgumentException("--groups and --test-group go together.");
        if (groupsFile is null) return Splits.StratifiedSplit(all, x => x.Item.Label, fractions.Train, fractions.Valid, seed);
        var groupOf = SequenceFolderReader.ReadPairs(groupsFile).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var (id, _, _) in all)
            if (!groupOf.ContainsKey(id)) throw new ArgumentException($"--groups '{groupsFile}' has no group for sequence '{id}'.");
        var held = all.Where(x => groupOf[x.Id] == testGroup).ToList();
        if (held.Count == 0) throw new ArgumentException($"--test-group '{testGroup}' holds no sequence.");
        var rest = all.Where(x => groupOf[x.Id] != testGroup).ToList();
        // Validation takes its share of the remaining sequences, stratified.
        double validShare = fractions.Valid / (fractions.Train + fractions.Valid);
        var (t, v, _) = Splits.StratifiedSplit(rest, x => x.Item.Label, 1 - validShare, validShare, seed);
        return (t, v, held);
    }

    private static Command Eval()
    {
        var data = new DataOptions();
        var model = CommonOptions.Model();
        var json = new Option<bool>("--json") { Description = "Print the scores as JSON." };
        var confusion = new Option<string?>("--confusion") { Description = "Write the confusion matrix as a PNG to this file." };
        var part = new Option<string>("--part") { Description = "Score all the data, or the validation or test part of the split the model was trained with (the same data, split again from the checkpoint's notes).", DefaultValueFactory = _ => "all" };
        part.AcceptOnlyFromAmong("all", "valid", "test");
        var command = new Command("eval", "Score a classifier: accuracy, macro-F1, a per-class table, the confusion matrix.") { model, part, json, confusion };
        data.AddTo(command);
        command.SetAction(r => CliErrors.Run(() =>
        {
            string path = ModelFiles.Resolve(r.GetValue(model)!);
            string which = r.GetValue(part)!;
            ClassificationReport report;
            if (data.IsSeries(r))
            {
                var classifier = SeriesClassifier.Load(path);
                var all = data.Series(r);
                report = classifier.Evaluate(which == "all" ? all.Select(x => x.Item).ToList() : Part(SplitSeries(all, classifier.Notes), which));
            }
            else
            {
                var classifier = TextClassifier.Load(path);
                var all = data.Texts(r).Distinct().ToList();   // as train saw them
                report = classifier.Evaluate(which == "all" ? all : Part(SplitTexts(all, classifier.Notes), which));
            }
            if (r.GetValue(confusion) is { } png) new ConfusionChart($"Confusion matrix (accuracy {report.Accuracy:P1})", report.Labels, report.Confusion).SavePng(png);
            Print(report, r.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static void Print(ClassificationReport report, bool json)
    {
        var perClass = report.PerClass;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                examples = report.Total,
                accuracy = report.Accuracy,
                macro_f1 = report.MacroF1,
                classes = perClass.Select(c => new { label = c.Label, precision = c.Precision, recall = c.Recall, f1 = c.F1, support = c.Support }),
                confusion = Enumerable.Range(0, report.Labels.Count).Select(i => Enumerable.Range(0, report.Labels.Count).Select(j => report.Confusion[i, j])),
            }));
            return;
        }
        var table = new Table().AddColumn("class").AddColumn(new TableColumn("precision").RightAligned()).AddColumn(new TableColumn("recall").RightAligned())
            .AddColumn(new TableColumn("F1").RightAligned()).AddColumn(new TableColumn("support").RightAligned());
        foreach (var c in perClass)
            table.AddRow(Markup.Escape(c.Label), F(c.Precision), F(c.Recall), F(c.F1), c.Support.ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy {report.Accuracy:P2}  macro-F1 {report.MacroF1:F4}  ({report.Total} examples)"));
    }

    private static string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static Command Predict()
    {
        var model = CommonOptions.Model();
        var inputs = new Argument<string[]>("input") { Description = "Texts to classify (for a numeric model: CSV files, one sequence each).", Arity = ArgumentArity.ZeroOrMore };
        var file = new Option<string?>("--file") { Description = "Texts to classify, one per line." };
        var top = new Option<int>("--top") { Description = "How many classes to show per input.", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "Print JSON lines." };
        var command = new Command("predict", "The most likely classes of texts or sequences, with probabilities.") { model, inputs, file, top, json };
        command.SetAction(r => CliErrors.Run(() =>
        {
            string path = ModelFiles.Resolve(r.GetValue(model)!);
            int k = r.GetValue(top);
            if (k < 1) throw new ArgumentException($"--top is {k}; it must be at least 1.");
            var given = r.GetValue(inputs) ?? [];
            var task = Checkpoint.Load(path).Metadata.GetValueOrDefault(SequenceApplication.TaskKey);
            IReadOnlyList<string> names;
            IReadOnlyList<IReadOnlyList<(string Label, double Probability)>> results;
            if (task == SeriesClassifier.Task)
            {
                var classifier = SeriesClassifier.Load(path);
                if (given.Length == 0) throw new ArgumentException("Give one or more CSV files of numeric sequences to classify.");
                names = given;
                results = classifier.PredictAll(given.Select(f => SequenceFolderReader.ReadSequenceFile(f, classifier.FeatureSize)).ToList());
            }
            else
            {
                var classifier = TextClassifier.Load(path);
                var texts = given.Concat(r.GetValue(file) is { } f ? LineReaderText(f) : []).ToList();
                if (texts.Count == 0) throw new ArgumentException("Give texts to classify as arguments or with --file.");
                names = texts;
                results = classifier.PredictAll(texts);
            }
            for (int i = 0; i < names.Count; i++)
            {
                var best = results[i].Take(k).ToList();
                if (r.GetValue(json))
                    Console.WriteLine(JsonSerializer.Serialize(new { input = names[i], predictions = best.Select(p => new { label = p.Label, probability = p.Probability }) }));
                else
                    Console.WriteLine($"{names[i]}\t" + string.Join("  ", best.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Label} {p.Probability:P1}"))));
            }
            return 0;
        }));
        return command;
    }

    private static IEnumerable<string> LineReaderText(string path) =>
        TextCorpus.ReadFile(path).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0);
}
