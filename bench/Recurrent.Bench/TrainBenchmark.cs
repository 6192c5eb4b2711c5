using System.Diagnostics;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Numerics;
using Recurrent.Optimizers;

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

    public static TrainConfig? Find(string name) => All.FirstOrDefault(c => c.Name == name);
}

/// <summary>
/// Training throughput, one full step as the peers define it: embedding → recurrent stack →
/// linear → mean cross-entropy over every step, backward, global-norm clip 5.0, Adam update,
/// gradients zeroed. Reports tokens (T·B) per second, the median of the repetitions.
/// peak_rss_mb is the whole process's peak: run one config per process to attribute it.
/// </summary>
public static class TrainBenchmark
{
    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse("train", args, defaultSteps: 5);
        if (o is null) return 2;
        if (o.Config is not null && TrainConfig.Find(o.Config) is null)
        {
            Console.Error.WriteLine($"train: unknown config '{o.Config}' (one of {string.Join(", ", TrainConfig.All.Select(c => c.Name))})");
            return 2;
        }
        foreach (var config in TrainConfig.All.Where(c => o.Config is null || c.Name == o.Config))
            o.Report(config.Name, "train_tokens_per_s", Measure(config, o.Threads, o.Reps, o.Steps));
        return 0;
    }

    private static double Measure(TrainConfig c, int threads, int reps, int steps)
    {
        var model = new TrainModel(c, threads);
        BenchOptions.WarmUp(model.Step);
        var samples = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int s = 0; s < steps; s++) model.Step();
            samples.Add(steps * c.Seq * c.Batch / sw.Elapsed.TotalSeconds);
        }
        return BenchOptions.Median(samples);
    }

    /// <summary>The benchmark's model: the layers, fixed random ids and targets, Adam over every parameter.</summary>
    private sealed class TrainModel
    {
        private readonly TrainConfig _c;
        private readonly Embedding _embedding;
        private readonly RecurrentStack _stack;
        private readonly Linear _decoder;
        private readonly Parameter[] _parameters;
        private readonly Adam _adam;
        private readonly int[] _ids, _targets;
        private readonly Tensor _x, _hidden, _dOut;

        public TrainModel(TrainConfig c, int threads)
        {
            _c = c;
            var rng = new Rng(1);
            var compute = new Compute(threads);
            _stack = new RecurrentStack(new RecurrentOptions(c.Cell, c.Embedding, c.Hidden, c.Layers, c.Bidirectional), rng) { Compute = compute };
            _embedding = new Embedding("encoder.", c.Vocabulary, c.Embedding, rng);
            _decoder = new Linear("decoder.", _stack.Options.OutputSize, c.Outputs, rng) { Compute = compute };
            _parameters = [_embedding.Weight, .. _stack.Parameters(), .. _decoder.Parameters()];
            _adam = new Adam(_parameters, lr: 1e-3f);
            int n = c.Seq * c.Batch;
            _ids = new int[n];
            _targets = new int[n];
            for (int i = 0; i < n; i++) { _ids[i] = rng.NextInt(c.Vocabulary); _targets[i] = rng.NextInt(c.Outputs); }
            _x = new Tensor(c.Seq, c.Batch, c.Embedding);
            _hidden = new Tensor(n, _stack.Options.OutputSize);
            _dOut = new Tensor(c.Seq, c.Batch, _stack.Options.OutputSize);
        }

        public void Step()
        {
            int n = _c.Seq * _c.Batch;
            _embedding.Forward(_ids, n).Span.CopyTo(_x.Span);
            var r = _stack.Forward(_x);
            r.Output.Span.CopyTo(_hidden.Span);
            var logits = _decoder.Forward(_hidden, n);
            SoftmaxCrossEntropy.ForwardBackward(logits.Span, _targets, _c.Outputs);
            _decoder.Backward(logits.Span).Span.CopyTo(_dOut.Span);
            var g = _stack.Backward(_dOut);
            _embedding.Backward(g.Input.Span);
            GradientClipping.ClipByGlobalNorm(_parameters, 5.0);
            _adam.Step();
            foreach (var p in _parameters) p.Grad.Clear();
        }
    }
}
