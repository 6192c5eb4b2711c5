using Recurrent.Generation;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;

namespace Recurrent.Bench;

/// <summary>
/// Inference on a language model built from a training config (embedding → stack → linear
/// over the vocabulary), as a user gets it from <see cref="SequenceModel"/> and
/// <see cref="TextGenerator"/>:
/// <list type="bullet">
/// <item>infer: an inference forward (nothing kept for backward) over a batch [T, B] of the config's shape, logits for every step; tokens/s.</item>
/// <item>generate: batch 1, one token at a time with the state carried, softmax (τ = 1) and a
/// sample from it fed back; µs per token.</item>
/// </list>
/// </summary>
public static class InferenceBenchmark
{
    public static int RunInfer(string[] args)
    {
        var o = BenchOptions.Parse("infer", args, modelOptions: true);
        if (o is null || Config("infer", o) is not { } c) return 2;
        var model = NewModel(c, o.Compute);
        var rng = new Rng(2);
        int n = c.Seq * c.Batch;
        var ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rng.NextInt(c.Vocabulary);
        var state = model.NewState(c.Batch);
        // An inference forward: nothing is kept for a backward pass, as under PyTorch's no_grad.
        var reps = o.Time(() => model.Forward(ids, c.Seq, c.Batch, state, keepForBackward: false));
        o.Report(c.Name, "infer_tokens_per_s", BenchOptions.Median(reps.Select(r => n / r.SecondsPerCall)), reps);
        return 0;
    }

    /// <summary>Batch-1 generation; --tokens tokens a call (from a fresh state), the figure is µs per token.</summary>
    public static int RunGenerate(string[] args)
    {
        bool general = args.Contains("--general-path");
        var o = BenchOptions.Parse("generate", [.. args.Where(a => a != "--general-path")], modelOptions: true, "[--general-path]");
        if (o is null || Config("generate", o) is not { } c) return 2;
        var model = NewModel(c, o.Compute);
        // A character vocabulary of the config's size: line break first, then printable ASCII.
        var tokens = new List<string> { "\n" };
        for (int ch = '!'; tokens.Count < c.Vocabulary; ch++) tokens.Add(((char)ch).ToString());
        var generator = new TextGenerator(model, new CharVocabulary(tokens));
        var sampler = new Sampler(temperature: 1f);
        var rng = new Rng(3);
        void Generate()
        {
            if (!general) { foreach (var _ in generator.Generate("", o.Tokens, sampler, rng)) { } return; }
            // The sequence path with T = B = 1, as TextGenerator ran before the stepper (for comparison).
            var state = model.NewState(1);
            var one = new int[1];
            var logits = model.Forward(one, 1, 1, state, keepForBackward: false);
            for (int i = 0; i < o.Tokens; i++)
            {
                one[0] = sampler.Sample(logits.Span, rng);
                logits = model.Forward(one, 1, 1, state, keepForBackward: false);
            }
        }
        var reps = o.Time(Generate);
        double PerToken(double seconds, BenchOptions.Rep r) => seconds / r.Calls / o.Tokens * 1e6;
        // To stderr, for comparisons on a busy machine: the fastest wall-clock rep and the median CPU time per token.
        Console.Error.WriteLine($"generate: wall min {reps.Min(r => PerToken(r.Seconds, r)):F1}, cpu median " +
            $"{BenchOptions.Median(reps.Select(r => PerToken(r.CpuSeconds, r))):F1} µs/token over {reps.Count} reps{(general ? " (general path)" : "")}");
        o.Report(c.Name, "gen_us_per_token", BenchOptions.Median(reps.Select(r => PerToken(r.Seconds, r))), reps);
        return 0;
    }

    private static TrainConfig? Config(string name, BenchOptions o)
    {
        string configName = o.Config ?? TrainConfig.InferenceName;
        var c = TrainConfig.Find(configName);
        if (c is null || c.Bidirectional || c.Outputs != c.Vocabulary)
        {
            Console.Error.WriteLine($"{name}: '{configName}' is not a language-model config (try {TrainConfig.InferenceName})");
            return null;
        }
        return c;
    }

    private static SequenceModel NewModel(TrainConfig c, Compute compute) =>
        new(SequenceModelConfig.LanguageModel(c.Cell, c.Vocabulary, c.Embedding, c.Hidden, c.Layers), new Rng(1)) { Compute = compute };
}
