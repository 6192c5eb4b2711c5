using Recurrent.Applications;
using Recurrent.Data;
using Recurrent.Generation;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>The library example in README.md, run as written (smaller sizes, a temp corpus), so the README stays true.</summary>
public class ReadmeExampleTests
{
    [Fact]
    public void TheReadmeLibraryExampleRuns()
    {
        string dir = Directory.CreateTempSubdirectory("recurrent-readme-").FullName;
        try
        {
            string path = Path.Combine(dir, "input.txt");
            File.WriteAllText(path, string.Concat(Enumerable.Repeat("ROMEO: but soft, what light through yonder window breaks?\n", 40)));
            var log = new List<string>();

            // ---- README example, from here (sizes reduced) ----
            string text = TextCorpus.ReadFile(path);
            var vocabulary = CharVocabulary.Build(text);
            var (train, valid) = TextCorpus.SplitIds(vocabulary.Encode(text), 0.9);
            var config = SequenceModelConfig.LanguageModel(CellType.Lstm, vocabulary.Count, embeddingSize: 16, hiddenSize: 32, layers: 2, dropout: 0.1f);
            var model = new SequenceModel(config, new Rng(1));
            var options = new TrainingOptions { Epochs = 3, Batch = 4, Bptt = 20, LearningRate = 3e-3f };
            var trainer = Trainer.ForLanguageModel(model, vocabulary, train, valid, options, Path.Combine(dir, "run"));
            var summary = trainer.Run(r => { if (r.IsEvaluation) log.Add($"epoch {r.Epoch}: valid {r.ValidLoss:F3} nats/char"); });
            var generator = new TextGenerator(model, vocabulary);
            string sample = string.Concat(generator.Generate("ROMEO:", 40, new Sampler(temperature: 0.8f), new Rng(7)));
            var next = generator.NextTokens("ROMEO: but sof", 3);
            // ---- to here ----

            Assert.Equal(3, summary.EpochsCompleted);
            Assert.Equal(3, log.Count);
            Assert.True(File.Exists(summary.BestCheckpoint));
            Assert.Equal(40, sample.EnumerateRunes().Count());   // the generated characters, after the prime
            Assert.Equal(3, next.Count);
            Assert.True(next[0].Probability >= next[1].Probability);
        }
        finally { Directory.Delete(dir, true); }
    }
}

/// <summary>The README's classifier example, run as written (fewer epochs), on the surnames in ../shared/data/names.</summary>
public class ReadmeClassifierExampleTests
{
    [Fact]
    public void TheReadmeClassifierExampleRuns()
    {
        string dir = Directory.CreateTempSubdirectory("recurrent-readme-").FullName;
        string names = Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", "names");
        var log = new List<string>();
        try
        {
            // ---- README example, from here (epochs reduced, console replaced by a log, output under a temp folder) ----
            var data = LabeledTextReader.ReadFilePerClass(names).Distinct().ToList();          // one file per language, a surname per line
            var (train, valid, test) = Splits.StratifiedSplit(data, x => x.Label, 0.8, 0.1, seed: 1);
            var shape = new SequenceModelConfig { Cell = CellType.Lstm, Layers = 2, Bidirectional = true, HiddenSize = 64, EmbeddingSize = 32 };
            var classifier = TextClassifier.Create(train, shape);                               // characters → last states → 18 languages
            classifier.Fit(train, valid, new TrainingOptions { Epochs = 1, Batch = 64, Threads = 2 }, Path.Combine(dir, "names-run"));
            var report = classifier.Evaluate(test);
            log.Add($"accuracy {report.Accuracy:P1}, macro-F1 {report.MacroF1:F3}");
            foreach (var (language, p) in classifier.Predict("Nakamura").Take(3)) log.Add($"{language} {p:P1}");
            // ---- to here ----
            Assert.True(report.Accuracy > 0.5, log[0]);
            Assert.Equal(4, log.Count);
            Assert.True(File.Exists(Path.Combine(dir, "names-run", "best.ckpt")));
        }
        finally { Directory.Delete(dir, true); }
    }
}
