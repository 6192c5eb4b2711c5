using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Bench;

/// <summary>One training-throughput configuration of issue 5 (same definitions as scripts/peer_bench_torch.py).</summary>
public sealed record TrainConfig(string Name, CellType Cell, int Vocabulary, int Embedding, int Hidden, int Layers, bool Bidirectional, int Batch, int Seq, int Outputs)
{
    public static readonly TrainConfig[] All =
    [
        new("char-rnn-s", CellType.RnnTanh, 65, 64, 256, 1, false, 32, 64, 65),
        new("char-gru-s", CellType.Gru, 65, 64, 256, 1, false, 32, 64, 65),
        new("char-lstm-s", CellType.Lstm, 65, 64, 256, 1, false, 32, 64, 65),
        new("char-lstm-l", CellType.Lstm, 65, 128, 512, 2, false, 32, 128, 65),
        new("word-lstm-ptb-s", CellType.Lstm, 10000, 200, 200, 2, false, 20, 20, 10000),
        new("word-lstm-ptb-m", CellType.Lstm, 10000, 650, 650, 2, false, 20, 35, 10000),
        new("bilstm-tagger", CellType.Lstm, 20000, 100, 128, 1, true, 32, 40, 20),
    ];
}

/// <summary>
/// Training throughput: embedding → recurrent stack → linear → mean cross-entropy over every
/// step, backward (forward + backward only until the optimizer lands in this harness).
/// </summary>
public static class TrainBenchmark
{
    public static int Run(string[] args)
    {
        string? only = null;
        int threads = 1, reps = 3, steps = 5;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config": only = args[++i]; break;
                case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--reps": reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"train: unknown option '{args[i]}'"); return 2;
            }
        }
        foreach (var config in TrainConfig.All.Where(c => only is null || c.Name == only))
        {
            var result = Measure(config, threads, reps, steps);
            Console.WriteLine(JsonSerializer.Serialize(new { peer = "recurrent", config = config.Name, measure = "train_tokens_per_s", threads, value = result }));
        }
        return 0;
    }

    private static double Measure(TrainConfig c, int threads, int reps, int steps)
    {
        var rng = new Rng(1);
        var stack = new RecurrentStack(new RecurrentOptions(c.Cell, c.Embedding, c.Hidden, c.Layers, c.Bidirectional), rng) { Compute = new Compute(threads) };
        var embedding = new Embedding("encoder.", c.Vocabulary, c.Embedding, rng);
        var decoder = new Linear("decoder.", stack.Options.OutputSize, c.Outputs, rng) { Compute = new Compute(threads) };
        int n = c.Seq * c.Batch;
        var ids = new int[n];
        var targets = new int[n];
        for (int i = 0; i < n; i++) { ids[i] = rng.NextInt(c.Vocabulary); targets[i] = rng.NextInt(c.Outputs); }
        var x = new Tensor(c.Seq, c.Batch, c.Embedding);
        var hidden = new Tensor(0);
        void Step()
        {
            embedding.Forward(ids, n).Span.CopyTo(x.Span);
            var r = stack.Forward(x);
            hidden.Resize(n, stack.Options.OutputSize);
            r.Output.Span.CopyTo(hidden.Span);
            var logits = decoder.Forward(hidden, n);
            SoftmaxCrossEntropy.ForwardBackward(logits.Span, targets, c.Outputs);
            var dh = decoder.Backward(logits.Span);
            var dOut = new Tensor(dh.Data, c.Seq, c.Batch, stack.Options.OutputSize);
            var g = stack.Backward(dOut);
            embedding.Backward(g.Input.Span);
        }
        Step();
        var samples = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int s = 0; s < steps; s++) Step();
            samples.Add(steps * n / sw.Elapsed.TotalSeconds);
        }
        samples.Sort();
        return samples[samples.Count / 2];
    }
}
