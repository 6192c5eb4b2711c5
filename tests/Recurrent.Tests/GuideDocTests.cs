using Recurrent.Applications;
using Recurrent.Data;
using Recurrent.Diagnostics;
using Recurrent.Generation;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Optimizers;
using Recurrent.Tasks;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>
/// docs/GUIDE.md's C# examples compile as written: each ```csharp block of the guide, less its
/// using lines (they are at the top of this file), must equal one of the marked regions below,
/// which the compiler checks against the library. The self-contained example (your own model on
/// a ragged batch) also runs.
/// </summary>
public class GuideDocTests
{
    private const string Begin = "// ---- docs/GUIDE.md, block ";
    private const string End = "// ---- end of block ----";

    private static void LanguageModel()
    {
        // ---- docs/GUIDE.md, block 1 ----
        string trainText = TextCorpus.ReadFile("train.txt"), validText = TextCorpus.ReadFile("valid.txt");
        var vocabulary = WordVocabulary.Build(WordVocabulary.Tokenize(trainText), minCount: 2);   // or CharVocabulary.Build(text)
        int[] train = vocabulary.Encode(trainText), valid = vocabulary.Encode(validText);        // unseen words → <unk>

        var config = SequenceModelConfig.LanguageModel(CellType.Gru, vocabulary.Count, embeddingSize: 200, hiddenSize: 200,
                                                       layers: 2, dropout: 0.2f, tieWeights: true);
        var model = new SequenceModel(config, new Rng(1));
        var options = new TrainingOptions { Epochs = 5, Batch = 20, Bptt = 35, LearningRate = 2e-3f, ClipNorm = 5f, Threads = 2 };
        var trainer = Trainer.ForLanguageModel(model, vocabulary, train, valid, options, "run");  // best.ckpt, latest.ckpt, metrics.jsonl
        TrainingSummary summary = trainer.Run(r => { if (r.IsEvaluation) Console.WriteLine($"epoch {r.Epoch}: valid {r.ValidLoss:F3}"); });
        Console.WriteLine($"best validation perplexity {Math.Exp(summary.BestValidLoss):F1}");
        // ---- end of block ----
    }

    private static void Sample(int[] train, int[] valid)
    {
        // ---- docs/GUIDE.md, block 2 ----
        var checkpoint = Checkpoint.Load("run/best.ckpt");
        SequenceModel best = checkpoint.CreateModel("run/best.ckpt");
        Vocabulary words = Vocabulary.FromJson(checkpoint.VocabularyJson);

        var generator = new TextGenerator(best, words);
        foreach (string piece in generator.Generate("the market", 30, new Sampler(temperature: 0.8f, topK: 40), new Rng(7)))
            Console.Write(piece);
        foreach (var (token, p) in generator.NextTokens("the market", 5)) Console.WriteLine($"{token} {p:P1}");

        int[] test = words.Encode(TextCorpus.ReadFile("test.txt"));
        double nats = Trainer.Evaluate(best, TokenStream.ForEvaluation(test, 10, 35)).Loss;   // 10 streams, windows of 35
        Console.WriteLine($"test perplexity {Math.Exp(nats):F1}");
        // ---- end of block ----
    }

    private static void Resume(int[] train, int[] valid)
    {
        // ---- docs/GUIDE.md, block 3 ----
        var latest = Checkpoint.Load("run/latest.ckpt");
        var o = latest.Training with { Epochs = 10 };
        Trainer.Resume(latest, "run/latest.ckpt", new TokenStream(train, o.Batch, o.Bptt),
                       TokenStream.ForEvaluation(valid, o.EvalBatch, o.Bptt), "run", o).Run();
        // ---- end of block ----
    }

    private static void HandWrittenLoop(int[] train, SequenceModel model)
    {
        // ---- docs/GUIDE.md, block 4 ----
        var stream = new TokenStream(train, batch: 20, bptt: 35);
        var state = model.NewState(stream.Batch);                 // h (and c) [layers, B, H], zeros
        var optimizer = new Adam(model.Parameters, lr: 2e-3f);
        var dropoutRng = new Rng(2);
        for (int w = 0; w < stream.BatchCount; w++)
        {
            SequenceBatch batch = stream.GetBatch(epoch: 0, index: w);
            model.ZeroGrad();
            var logits = model.Forward(batch, state, training: true, rng: dropoutRng);  // state ← the window's final state
            var loss = model.Loss(logits, batch, backward: true);                       // logits ← dLoss/dlogits
            model.Backward(logits.Span);
            GradientClipping.ClipByGlobalNorm(model.Parameters, 5.0);
            optimizer.Step();
        }
        // ---- end of block ----
    }

    private static void Classifier()
    {
        // ---- docs/GUIDE.md, block 5 ----
        var data = LabeledTextReader.ReadFilePerClass("data/names").Distinct().ToList();
        var (train, valid, test) = Splits.StratifiedSplit(data, x => x.Label, 0.8, 0.1, seed: 1);
        var shape = new SequenceModelConfig { Cell = CellType.Lstm, Layers = 2, Bidirectional = true, HiddenSize = 64, EmbeddingSize = 32 };
        var classifier = TextClassifier.Create(train, shape);
        classifier.Fit(train, valid, new TrainingOptions { Epochs = 10, Batch = 64, Threads = 2 }, "names-run");
        var report = classifier.Evaluate(test);                     // Accuracy, MacroF1, PerClass, Confusion
        foreach (var (language, p) in classifier.Predict("Nakamura").Take(3)) Console.WriteLine($"{language} {p:P1}");
        var reopened = TextClassifier.Load("names-run/best.ckpt");
        // ---- end of block ----
    }

    private static float YourOwnModel()
    {
        // ---- docs/GUIDE.md, block 6 ----
        var config = new SequenceModelConfig { Cell = CellType.Gru, VocabularySize = 100, EmbeddingSize = 16, HiddenSize = 32,
                                               Bidirectional = true, Pooling = Pooling.Mean, OutputSize = 3 };
        var model = new SequenceModel(config, new Rng(1));
        var batch = SequenceBatch.FromTokens([[5, 7, 9], [4, 2]], labels: [0, 2]);   // ragged: lengths 3 and 2
        var optimizer = new Adam(model.Parameters, lr: 1e-3f);
        model.ZeroGrad();
        var logits = model.Forward(batch, training: true);   // [B, K]; pass rng: when Dropout > 0
        var loss = model.Loss(logits, batch, backward: true);
        model.Backward(logits.Span);
        optimizer.Step();
        // ---- end of block ----
        return (float)loss.Loss;
    }

    private static void Gradients()
    {
        // ---- docs/GUIDE.md, block 7 ----
        var run = GradientFlow.Train(SequenceTask.Create("adding", 100), CellRecipe.Lstm, new GradientFlowOptions(Steps: 500, ClipNorm: 1.0));
        Console.WriteLine($"‖dL/dh_1‖/‖dL/dh_T‖: {run.Initial.DecayRatio:E2} at start, {run.Trained.DecayRatio:E2} after training");
        // ---- end of block ----
    }

    [Fact]
    public void EveryGuideExampleIsCompiledHere()
    {
        var blocks = DocCode.CsharpBlocks(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "GUIDE.md")));
        Assert.True(blocks.Count >= 5, $"docs/GUIDE.md has {blocks.Count} ```csharp blocks");
        var regions = DocCode.Regions(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "Recurrent.Tests", "GuideDocTests.cs")), Begin, End);
        for (int i = 0; i < blocks.Count; i++)
            Assert.True(regions.Contains(blocks[i]), $"docs/GUIDE.md's C# block {i + 1} is not compiled by GuideDocTests.cs:\n{blocks[i]}");
    }

    [Fact]
    public void TheOwnModelExampleTrainsAStep()
    {
        float loss = YourOwnModel();
        Assert.True(float.IsFinite(loss) && loss > 0, $"loss {loss}");
    }
}
