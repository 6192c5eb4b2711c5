using System.CommandLine;
using System.Globalization;
using Recurrent.Generation;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// <c>recurrent demo</c>: with no input at all, writes the built-in agreement corpus, trains a
/// small word-level LSTM on it for about a minute, then shows generated sentences, next-word
/// predictions and how often the model makes the verb agree with a distant subject.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var minutes = new Option<double>("--minutes") { Description = "Training time budget.", DefaultValueFactory = _ => 1.0 };
        var sentences = new Option<int>("--sentences") { Description = "Sentences in the generated corpus.", DefaultValueFactory = _ => 20000 };
        var outDir = new Option<string?>("--out", "-o") { Description = "Where to keep the corpus and the run (default: a new temporary directory)." };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var command = new Command("demo", "Train a small LSTM on a built-in corpus, then generate and predict next words.") { minutes, sentences, outDir, seed, threads };
        command.SetAction((r, cancel) => Task.FromResult(CliErrors.Run(() =>
        {
            double budget = r.GetValue(minutes);
            if (!(budget > 0 && budget <= 24 * 60)) throw new ArgumentException($"--minutes is {budget}; it must be between 0 (exclusive) and 1440.");
            int count = r.GetValue(sentences);
            if (count is < 100 or > 10_000_000) throw new ArgumentException($"--sentences is {count}; it must be between 100 and 10000000.");
            CommonOptions.CheckThreads(r.GetValue(threads));
            Run(budget, count, r.GetValue(outDir), r.GetValue(seed), r.GetValue(threads), cancel);
            return cancel.IsCancellationRequested ? 130 : 0;
        })));
        return command;
    }

    /// <summary>
    /// Writes the corpus, trains for at most <paramref name="minutes"/> and shows what the model learned.
    /// Cancelling stops the training after the step in progress; the results of the model so far are still shown.
    /// </summary>
    public static void Run(double minutes, int sentences, string? outDir, ulong seed, int threads, CancellationToken cancel = default)
    {
        outDir ??= Path.Combine(Path.GetTempPath(), "recurrent-demo-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(outDir);
        var rng = new Rng(seed);
        string corpusPath = Path.Combine(outDir, "agreement.txt");
        File.WriteAllText(corpusPath, DemoCorpus.Generate(sentences, rng));
        Console.WriteLine($"corpus: {sentences} sentences of {DemoCorpus.Description}, written to {corpusPath}");
        Console.WriteLine("example lines:");
        foreach (var line in File.ReadLines(corpusPath).Take(3)) Console.WriteLine("  " + line);
        Console.WriteLine();

        string runDir = Path.Combine(outDir, "run");
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        var options = new TrainingOptions
        {
            Batch = 32, Bptt = 24, Epochs = 1000, MaxMinutes = minutes, Optimizer = OptimizerKind.Adam, LearningRate = 3e-3f,
            ClipNorm = 5f, Seed = seed, Threads = threads,
        };
        var request = new TrainCommand.TrainingRequest(corpusPath, null, 0.9, TokenLevel.Word, 1, 0, runDir, false, false);
        var model = new TrainCommand.ModelRequest(Layers.CellType.Lstm, 1, 64, 32, 0.1f, false);
        TrainCommand.Execute(request, model, options, cancel);
        if (cancel.IsCancellationRequested) Console.WriteLine("training stopped by the signal; the results of the model so far:");

        var generator = ModelFiles.Generator(runDir, threads);
        Console.WriteLine();
        Console.WriteLine("generated sentences (temperature 0.7):");
        var sampleRng = new Rng(seed + 1);
        var text = string.Concat(generator.Generate("", 60, new Sampler(0.7f), sampleRng));
        foreach (var line in text.Split('\n').Skip(1).Where(l => l.TrimEnd().EndsWith('.')).Take(6)) Console.WriteLine("  " + line.Trim());

        Console.WriteLine();
        foreach (var prompt in new[] { "the dogs that the girl sees", "the dog that the girls see", "the old cat near the houses" })
            NextCommand.Render(prompt, generator.NextTokens(prompt, 5));

        var (correct, total) = AgreementAccuracy(generator, new Rng(seed + 2), 300);
        Console.WriteLine();
        Console.WriteLine($"subject-verb agreement on {total} new sentences: {100.0 * correct / total:F1}% of the time the model puts more probability on verbs of the right number");
        Console.WriteLine($"(the word just before the verb has the other number in most of them, so copying it would score ~25%)");
        Console.WriteLine($"model and metrics: {runDir} (loss curve: {Path.Combine(runDir, LossPlot.FileName)})");
    }

    /// <summary>
    /// On fresh sentences cut before the main verb, whether the model gives more total probability to
    /// verbs that agree with the subject than to verbs that do not.
    /// </summary>
    public static (int Correct, int Total) AgreementAccuracy(TextGenerator generator, Rng rng, int count)
    {
        int correct = 0;
        var vocabulary = generator.Vocabulary;
        for (int i = 0; i < count; i++)
        {
            var words = DemoCorpus.Sentence(rng).Split(' ');
            string verb = words[^2];
            bool plural = DemoCorpus.Verbs.Any(v => v.Many == verb);
            string prefix = string.Join(' ', words[..^2]);
            var next = generator.NextTokens(prefix, vocabulary.Count);
            double right = 0, wrong = 0;
            foreach (var (token, p) in next)
            {
                if (DemoCorpus.Verbs.Any(v => (plural ? v.Many : v.One) == token)) right += p;
                else if (DemoCorpus.Verbs.Any(v => (plural ? v.One : v.Many) == token)) wrong += p;
            }
            if (right > wrong) correct++;
        }
        return (correct, count);
    }
}
