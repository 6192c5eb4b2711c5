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
//   probe     a convolution (so that oneDNN, with ONEDNN_VERBOSE=1, prints its ISA) and a 1024³
//             matmul (so that MKL, with MKL_VERBOSE=1, prints its ISA); the matmul's GFLOP/s
return args switch
{
    ["train" or "infer" or "generate", .. var rest] => PeerBenchmark.Run(args[0], rest),
    ["probe", .. var rest] => PeerBenchmark.Probe(rest),
    _ => PeerBenchmark.Usage(),
};

/// <summary>One benchmark configuration, read from bench/configs.json (copied next to this assembly), which every contender reads.</summary>
internal sealed record PeerConfig(string Name, string Cell, int Vocabulary, int Embedding, int Hidden, int Layers, bool Bidirectional, int Batch, int Seq, int Outputs)
{
    private static readonly JsonElement Root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "configs.json"))).RootElement;

    public static readonly PeerConfig[] All = Root.GetProperty("configs").EnumerateArray().Select(c => new PeerConfig(
        c.GetProperty("name").GetString()!, c.GetProperty("cell").GetString()!, c.GetProperty("vocab").GetInt32(),
        c.GetProperty("embed").GetInt32(), c.GetProperty("hidden").GetInt32(), c.GetProperty("layers").GetInt32(),
        c.GetProperty("bidirectional").GetBoolean(), c.GetProperty("batch").GetInt32(), c.GetProperty("seq").GetInt32(),
        c.GetProperty("outputs").GetInt32())).ToArray();

    /// <summary>The config of the infer and generate measures.</summary>
    public static readonly string Inference = Root.GetProperty("inference").GetString()!;
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
            case "rnn_tanh": _stack = _rnn = nn.RNN(c.Embedding, c.Hidden, c.Layers, nn.NonLinearities.Tanh, bidirectional: c.Bidirectional); break;
            default: throw new InvalidDataException($"configs.json: unknown cell '{c.Cell}' (rnn_tanh, gru or lstm)");
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
        Console.Error.WriteLine("usage: Recurrent.Bench.TorchSharp train|infer|generate [--config NAME] [--threads N] [--reps R] [--seconds S] [--warmup-seconds W] [--steps S] [--tokens K]");
        Console.Error.WriteLine("       Recurrent.Bench.TorchSharp probe [--threads N] [--seconds S]");
        Console.Error.WriteLine($"  train: all configs of bench/configs.json unless --config; infer and generate: {PeerConfig.Inference} unless --config.");
        Console.Error.WriteLine("  Timing as Recurrent.Bench's: --warmup-seconds untimed (default 2), then --reps reps (default 3) of --seconds/reps");
        Console.Error.WriteLine("  each (default 10 s in all; --steps S: S steps a rep instead); the median rep is reported.");
        Console.Error.WriteLine("  generate: a step generates --tokens tokens (default 400), the state carried.");
        return 2;
    }

    /// <summary>How long to warm up and time, as parsed from the options.</summary>
    private sealed record Timing(int Reps, double Seconds, double WarmUpSeconds, int Steps, int Tokens);

    public static int Run(string measure, string[] args)
    {
        var only = new List<string>();
        int threads = 1, reps = 3, steps = 0, tokens = 400;
        double seconds = 10, warmUpSeconds = 2;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "--config": only.Add(Next()); break;
                case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--reps": reps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup-seconds": warmUpSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--tokens": tokens = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"{measure}: unknown option '{arg}'"); return Usage();
            }
        }
        if (reps < 1 || tokens < 1 || threads < 1 || steps < 0 || !(seconds > 0) || !(warmUpSeconds >= 0))
        {
            Console.Error.WriteLine($"{measure}: --reps, --tokens and --threads must be at least 1, --steps at least 0, --seconds positive, --warmup-seconds not negative");
            return 2;
        }
        var timing = new Timing(reps, seconds, warmUpSeconds, steps, tokens);
        if (only.Count == 0 && measure != "train") only.Add(PeerConfig.Inference);
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
            var (value, timed) = measure switch
            {
                "train" => MeasureTrain(model, config, timing),
                "infer" => MeasureInfer(model, config, timing),
                _ => MeasureGenerate(model, timing),
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
                reps = timed.Count,
                timed_s = Math.Round(timed.Sum(r => r.Seconds), 2),
            }));
        }
        return 0;
    }

    /// <summary>A convolution (oneDNN) and a 1024³ matmul (MKL) for the ISA lines their verbose modes print, then one JSON line with the matmul's rate.</summary>
    public static int Probe(string[] args)
    {
        int threads = 1;
        double seconds = 1;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (args[i] == "--threads") threads = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            else if (args[i] == "--seconds") seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            else { Console.Error.WriteLine($"probe: unknown option '{args[i]}'"); return Usage(); }
        }
        torch.set_num_threads(threads);
        using (var scope = torch.NewDisposeScope())
            nn.functional.conv2d(torch.randn(8, 32, 28, 28), torch.randn(32, 32, 3, 3));
        var a = torch.randn(1024, 1024);
        var b = torch.randn(1024, 1024);
        void MatMul() { using var scope = torch.NewDisposeScope(); torch.matmul(a, b); }
        var timed = TimedReps(MatMul, new Timing(1, seconds, 0.2, 0, 1));
        Console.Out.Flush();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            peer = "torchsharp",
            measure = "probe",
            matmul_1024_gflops = Math.Round(2.0 * 1024 * 1024 * 1024 / timed[0].SecondsPerCall / 1e9, 1),
            threads,
            version = $"TorchSharp {typeof(torch).Assembly.GetName().Version}, libtorch {torch.__version__}",
        }));
        return 0;
    }

    private readonly record struct Rep(double Seconds, int Calls)
    {
        public double SecondsPerCall => Seconds / Calls;
    }

    /// <summary>Runs step for the warm-up, then the timed reps (see Usage).</summary>
    private static List<Rep> TimedReps(Action step, Timing timing)
    {
        var clock = Stopwatch.StartNew();
        for (int calls = 0; calls < 2 || clock.Elapsed.TotalSeconds < timing.WarmUpSeconds; calls++) step();
        var reps = new List<Rep>();
        for (int r = 0; r < timing.Reps; r++)
        {
            var sw = Stopwatch.StartNew();
            int calls = 0;
            do
            {
                step();
                calls++;
            }
            while (timing.Steps > 0 ? calls < timing.Steps : sw.Elapsed.TotalSeconds < timing.Seconds / timing.Reps);
            reps.Add(new Rep(sw.Elapsed.TotalSeconds, calls));
        }
        return reps;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static (double, List<Rep>) MeasureTrain(PeerModel model, PeerConfig c, Timing timing)
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
        var reps = TimedReps(Step, timing);
        return (Median(reps.Select(r => (double)c.Seq * c.Batch / r.SecondsPerCall)), reps);
    }

    private static (double, List<Rep>) MeasureInfer(PeerModel model, PeerConfig c, Timing timing)
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
        var reps = TimedReps(Step, timing);
        return (Median(reps.Select(r => (double)c.Seq * c.Batch / r.SecondsPerCall)), reps);
    }

    private static (double, List<Rep>) MeasureGenerate(PeerModel model, Timing timing)
    {
        model.Eval();
        using var noGrad = torch.no_grad();
        var token = torch.zeros([1, 1], dtype: ScalarType.Int64);
        (Tensor H, Tensor? C)? state = null;
        void OneToken()
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
        void Step()
        {
            for (int i = 0; i < timing.Tokens; i++) OneToken();
        }
        var reps = TimedReps(Step, timing);
        return (Median(reps.Select(r => r.SecondsPerCall / timing.Tokens * 1e6)), reps);
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
