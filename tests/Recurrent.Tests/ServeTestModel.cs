using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Recurrent.Cli.Serve;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>
/// One small character LSTM for the serve tests, trained once per test run in about a second
/// (2 layers × 24 units on a short repeated text, 4 epochs, metrics.jsonl and best.ckpt in a temp
/// folder), and the text it read, used as the reference text.
/// </summary>
public static class ServeTestModel
{
    public const string Corpus =
        "HAMLET:\n" +
        "to be or not to be, that is the question.\n" +
        "whether tis nobler in the mind to suffer\n" +
        "the slings and arrows of outrageous fortune,\n" +
        "or to take arms against a sea of troubles.\n";

    private static readonly Lazy<(TempDir Dir, string Run, string Reference)> Trained = new(Train);

    /// <summary>The run folder (best.ckpt, latest.ckpt, metrics.jsonl).</summary>
    public static string Run => Trained.Value.Run;

    /// <summary>The training text, as a file (the reference for "find units").</summary>
    public static string Reference => Trained.Value.Reference;

    public const string RecordedCommand = "recurrent train --data corpus.txt --cell lstm --layers 2 --hidden 24";

    private static (TempDir, string, string) Train()
    {
        var dir = new TempDir();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        string text = string.Concat(Enumerable.Repeat(Corpus, 12));
        string reference = dir.File("corpus.txt");
        File.WriteAllText(reference, text);
        var vocabulary = CharVocabulary.Build(text);
        var (train, valid) = TextCorpus.SplitIds(vocabulary.Encode(text), 0.9);
        var model = new SequenceModel(SequenceModelConfig.LanguageModel(CellType.Lstm, vocabulary.Count, embeddingSize: 8, hiddenSize: 24, layers: 2), new Rng(5));
        var options = new TrainingOptions { Batch = 8, Bptt = 24, Epochs = 4, LearningRate = 1e-2f, Seed = 5, Threads = 1 };
        string run = dir.File("run");
        Trainer.ForLanguageModel(model, vocabulary, train, valid, options, run,
            new Dictionary<string, string> { ["command"] = RecordedCommand }).Run();
        return (dir, run, reference);
    }

    /// <summary>The served model, loaded from the run folder as <c>recurrent serve</c> does.</summary>
    public static ServedModel Load(ServeLimits? limits = null) => ServedModel.Load(Run, Reference, limits ?? ServeLimits.Default);

    /// <summary>An in-process server (ASP.NET Core's test host) for <paramref name="served"/>.</summary>
    public static async Task<WebApplication> StartTestServerAsync(ServedModel served)
    {
        var app = ServeApp.Build(served, IPAddress.Loopback, 0, web => web.UseTestServer());
        await app.StartAsync();
        return app;
    }
}
