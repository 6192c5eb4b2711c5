using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// The TorchSharp peer of Recurrent.Bench (issue 5): the same configs and measures, one JSON line
// per measurement, so scripts/bench_peers.py can put the three side by side.
//   train     embedding → RNN(tanh)/GRU/LSTM stack → linear → mean cross-entropy over every step,
//             backward, clip_grad_norm_ 5.0, Adam step, zero_grad; tokens/s (batch·seq per step)
//   infer     forward only under no_grad; tokens/s
//   generate  batch 1, one token at a time, state carried, softmax then multinomial; µs per token
return args switch
{
    ["train" or "infer" or "generate", .. var rest] => PeerBenchmark.Run(args[0], rest),
    _ => PeerBenchmark.Usage(),
};

/// <summary>One configuration of issue 5, as TrainConfig.All in bench/Recurrent.Bench/TrainBenchmark.cs.</summary>
internal sealed record PeerConfig(string Name, string Cell, int Vocabulary, int Embedding, int Hidden, int Layers, bool Bidirectional, int Batch, int Seq, int Outputs)
{
    public static readonly PeerConfig[] All =
    [
        new("char-rnn-s", "rnn", 65, 64, 256, 1, false, 32, 64, 65),
        new("char-gru-s", "gru", 65, 64, 256, 1, false, 32, 64, 65),
        new("char-lstm-s", "lstm", 65, 64, 256, 1, false, 32, 64, 65),
        new("char-lstm-l", "lstm", 65, 128, 512, 2, false, 32, 128, 65),
        new("word-lstm-ptb-s", "lstm", 10000, 200, 200, 2, false, 20, 20, 10000),
        new("word-lstm-ptb-m", "lstm", 10000, 650, 650, 2, false, 20, 35, 10000),
        new("bilstm-tagger", "lstm", 20000, 100, 128, 1, true, 32, 40, 20),
    ];
}

/// <summary>Embedding → recurrent stack (time-major [T, B, E]) → linear on every step's output.</summary>
internal sealed class PeerModel
{
    private readonly Embedding _encoder;
    private readonly LSTM? _lstm;
    private readonly GRU? _gru;
    private readonly RNN? _rnn;
    private readonly Linear _decoder;
    private readonly nn.Module _stack;

    public PeerModel(PeerConfig c)
    {
        _encoder = nn.Embedding(c.Vocabulary, c.Embedding);
        switch (c.Cell)
        {
            case "lstm": _stack = _lstm = nn.LSTM(c.Embedding, c.Hidden, c.Layers, bidirectional: c.Bidirectional); break;
            case "gru": _stack = _gru = nn.GRU(c.Embedding, c.Hidden, c.Layers, bidirectional: c.Bidirectional); break;
            default: _stack = _rnn = nn.RNN(c.Embedding, c.Hidden, c.Layers, nn.NonLinearities.Tanh, bidirectional: c.Bidirectional); break;
        }
        _decoder = nn.Linear(c.Hidden * (c.Bidirectional ? 2 : 1), c.Outputs);
    }

    public IEnumerable<Parameter> Parameters() =>
        _encoder.parameters().Concat(_stack.parameters()).Concat(_decoder.parameters());

    public void Eval()
    {
        _encoder.eval();
        _stack.eval();
        _decoder.eval();
    }

    /// <summary>ids [T, B] → logits [T, B, outputs]; state is (h) or (h, c), null for zeros, replaced by the final state.</summary>
    public Tensor Forward(Tensor ids, ref (Tensor H, Tensor? C)? state)
    {
        var x = _encoder.call(ids);
        Tensor output;
        if (_lstm is not null)
        {
            var (o, h, c) = _lstm.call(x, state is { } s ? (s.H, s.C!) : null);
            output = o;
            state = (h, c);
        }
        else
        {
            var (o, h) = _gru is not null ? _gru.call(x, state?.H) : _rnn!.call(x, state?.H);
            output = o;
            state = (h, null);
        }
        return _decoder.call(output);
    }
}

internal static class PeerBenchmark
{
    public static int Usage()
    {
        Console.Error.WriteLine("usage: Recurrent.Bench.TorchSharp train|infer|generate [--config NAME] [--threads N] [--reps R] [--steps S | --tokens K] [--warmup W]");
        Console.Error.WriteLine("  train: all configs unless --config; infer and generate: char-lstm-l unless --config.");
        Console.Error.WriteLine("  --steps: steps per rep (tokens per rep for generate; --tokens is the same); defaults 5 / 3 / 200.");
        return 2;
    }

    public static int Run(string measure, string[] args)
    {
        var only = new List<string>();
        int threads = 1, reps = 3, steps = measure switch { "train" => 5, "infer" => 3, _ => 200 };
        int warmup = measure == "generate" ? 20 : 2;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            int NextInt() => i + 1 < args.Length
                ? int.Parse(args[++i], CultureInfo.InvariantCulture)
                : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "--config" when i + 1 < args.Length: only.Add(args[++i]); break;
                case "--threads": threads = NextInt(); break;
                case "--reps": reps = NextInt(); break;
                case "--steps" or "--tokens": steps = NextInt(); break;
                case "--warmup": warmup = NextInt(); break;
                default: Console.Error.WriteLine($"{measure}: unknown option '{arg}'"); return Usage();
            }
        }
        if (reps < 1 || steps < 1 || threads < 1) { Console.Error.WriteLine($"{measure}: --reps, --steps and --threads must be at least 1"); return 2; }
        if (only.Count == 0 && measure != "train") only.Add("char-lstm-l");
        var unknown = only.Where(n => PeerConfig.All.All(c => c.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"{measure}: unknown config {string.Join(", ", unknown)}; known: {string.Join(", ", PeerConfig.All.Select(c => c.Name))}");
            return 2;
        }

        torch.set_num_threads(threads);
        foreach (var config in PeerConfig.All.Where(c => only.Count == 0 || only.Contains(c.Name)))
        {
            torch.manual_seed(1);
            var model = new PeerModel(config);
            double value = measure switch
            {
                "train" => MeasureTrain(model, config, warmup, reps, steps),
                "infer" => MeasureInfer(model, config, warmup, reps, steps),
                _ => MeasureGenerate(model, warmup, reps, steps),
            };
            string name = measure switch { "train" => "train_tokens_per_s", "infer" => "infer_tokens_per_s", _ => "gen_us_per_token" };
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                peer = "torchsharp",
                config = config.Name,
                measure = name,
                threads,
                setting = $"threads={threads}",
                value = Math.Round(value, 3),
                peak_rss_mb = PeakRssMegabytes(),
                version = $"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {torch.__version__}",
            }));
        }
        return 0;
    }

    /// <summary>Runs step warmup times, then reps times `steps` calls; the seconds of each rep.</summary>
    private static List<double> TimedReps(Action step, int warmup, int reps, int steps)
    {
        for (int i = 0; i < warmup; i++) step();
        var seconds = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int s = 0; s < steps; s++) step();
            seconds.Add(sw.Elapsed.TotalSeconds);
        }
        return seconds;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static double MeasureTrain(PeerModel model, PeerConfig c, int warmup, int reps, int steps)
    {
        var ids = torch.randint(c.Vocabulary, [c.Seq, c.Batch], dtype: ScalarType.Int64);
        var targets = torch.randint(c.Outputs, [c.Seq * c.Batch], dtype: ScalarType.Int64);
        var parameters = model.Parameters().ToList();
        var optimizer = torch.optim.Adam(parameters, lr: 1e-3);
        void Step()
        {
            // The scope frees every temporary of the step at once, as Python's refcounting would.
            using var scope = torch.NewDisposeScope();
            (Tensor, Tensor?)? state = null;
            var logits = model.Forward(ids, ref state);
            var loss = nn.functional.cross_entropy(logits.view(-1, c.Outputs), targets);
            loss.backward();
            nn.utils.clip_grad_norm_(parameters, 5.0);
            optimizer.step();
            optimizer.zero_grad();
        }
        var seconds = TimedReps(Step, warmup, reps, steps);
        return Median(seconds.Select(s => (double)steps * c.Seq * c.Batch / s));
    }

    private static double MeasureInfer(PeerModel model, PeerConfig c, int warmup, int reps, int steps)
    {
        var ids = torch.randint(c.Vocabulary, [c.Seq, c.Batch], dtype: ScalarType.Int64);
        model.Eval();
        using var noGrad = torch.no_grad();
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            (Tensor, Tensor?)? state = null;
            model.Forward(ids, ref state);
        }
        var seconds = TimedReps(Step, warmup, reps, steps);
        return Median(seconds.Select(s => (double)steps * c.Seq * c.Batch / s));
    }

    private static double MeasureGenerate(PeerModel model, int warmup, int reps, int steps)
    {
        model.Eval();
        using var noGrad = torch.no_grad();
        var token = torch.zeros([1, 1], dtype: ScalarType.Int64);
        (Tensor H, Tensor? C)? state = null;
        void Step()
        {
            using var scope = torch.NewDisposeScope();
            var logits = model.Forward(token, ref state);
            var probs = torch.softmax(logits.view(-1), 0);
            var next = torch.multinomial(probs, 1).view(1, 1);
            // The carried state and the sampled token outlive this step's scope; the old ones do not.
            token.Dispose();
            token = next.MoveToOuterDisposeScope();
            var (h, c) = state!.Value;
            state = (h.MoveToOuterDisposeScope(), c?.MoveToOuterDisposeScope());
        }
        var seconds = TimedReps(Step, warmup, reps, steps);
        return Median(seconds.Select(s => s / steps * 1e6));
    }

    /// <summary>VmHWM (peak resident set) of this process from /proc/self/status, in MB.</summary>
    private static double? PeakRssMegabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                return Math.Round(kb / 1024.0, 1);
            }
        }
        return null;
    }
}
