using System.Text.Json;
using Recurrent.Layers;
using Recurrent.Losses;
using Recurrent.Numerics;
using Recurrent.Optimizers;

namespace Recurrent.Bench;

/// <summary>One benchmark configuration, as bench/configs.json defines it for every contender.</summary>
public sealed record TrainConfig(string Name, CellType Cell, int Vocabulary, int Embedding, int Hidden, int Layers, bool Bidirectional, int Batch, int Seq, int Outputs)
{
    /// <summary>bench/configs.json, copied next to the benchmark's assembly.</summary>
    private static readonly string FilePath = Path.Combine(AppContext.BaseDirectory, "configs.json");
    private static readonly Lazy<(TrainConfig[] All, string Inference)> Loaded = new(Load);

    public static TrainConfig[] All => Loaded.Value.All;

    /// <summary>The config of the batched-inference and generation measures.</summary>
    public static string InferenceName => Loaded.Value.Inference;

    public static TrainConfig? Find(string name) => All.FirstOrDefault(c => c.Name == name);

    private static (TrainConfig[], string) Load()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(FilePath));
        var root = json.RootElement;
        var all = root.GetProperty("configs").EnumerateArray().Select(c => new TrainConfig(
            c.GetProperty("name").GetString()!,
            c.GetProperty("cell").GetString() switch
            {
                "rnn_tanh" => CellType.RnnTanh,
                "gru" => CellType.Gru,
                "lstm" => CellType.Lstm,
                var other => throw new InvalidDataException($"{FilePath}: unknown cell '{other}' (rnn_tanh, gru or lstm)"),
            },
            c.GetProperty("vocab").GetInt32(), c.GetProperty("embed").GetInt32(), c.GetProperty("hidden").GetInt32(),
            c.GetProperty("layers").GetInt32(), c.GetProperty("bidirectional").GetBoolean(), c.GetProperty("batch").GetInt32(),
            c.GetProperty("seq").GetInt32(), c.GetProperty("outputs").GetInt32())).ToArray();
        return (all, root.GetProperty("inference").GetString()!);
    }
}

/// <summary>
/// Training throughput, one full step as the peers define it: embedding → recurrent stack →
/// linear → mean cross-entropy over every step, backward, global-norm clip 5.0, Adam update,
/// gradients zeroed. Reports tokens (T·B) per second, the median of the timed reps (see BenchOptions).
/// peak_rss_mb is the whole process's peak: run one config per process to attribute it.
/// </summary>
public static class TrainBenchmark
{
    public static int Run(string[] args)
    {
        var o = BenchOptions.Parse("train", args, modelOptions: true);
        if (o is null) return 2;
        if (o.Config is not null && TrainConfig.Find(o.Config) is null)
        {
            Console.Error.WriteLine($"train: unknown config '{o.Config}' (one of {string.Join(", ", TrainConfig.All.Select(c => c.Name))})");
            return 2;
        }
        foreach (var config in TrainConfig.All.Where(c => o.Config is null || c.Name == o.Config))
        {
            var model = new TrainModel(config, o.Compute);
            var reps = o.Time(model.Step);
            double tokensPerSecond = BenchOptions.Median(reps.Select(r => config.Seq * config.Batch / r.SecondsPerCall));
            o.Report(config.Name, "train_tokens_per_s", tokensPerSecond, reps);
        }
        return 0;
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

        public TrainModel(TrainConfig c, Compute compute)
        {
            _c = c;
            var rng = new Rng(1);
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
