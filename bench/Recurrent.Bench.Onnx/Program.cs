using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Recurrent.Generation;
using Recurrent.Layers;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Serialization.Onnx;

// The ONNX Runtime peer of Recurrent.Bench (issue 12): Recurrent's language model of a config,
// exported with OnnxExport (the weights Recurrent.Bench measures: the same config, seed 1), run by
// ONNX Runtime's CPU execution provider; one JSON line per measurement, as the other peers print,
// so scripts/bench_peers.py can put them side by side.
//   export    writes the config's model as ONNX (--out), then checks it: ONNX Runtime's logits and
//             final states against Recurrent's own forward on a small batch (one JSON line)
//   infer     one run over a [seq, batch] batch of the config, every step's logits; tokens/s
//   generate  batch 1, one token a run, h_n and c_n fed back as h0 and c0, a sample from softmax(τ = 1)
//             by Recurrent's Sampler fed back as the next id (as Recurrent.Bench generate); µs per token
//   probe     a 1024³ MatMul in ONNX Runtime (its MLAS SGEMM); GFLOP/s, and the kernel family MLAS
//             picks on this CPU (from CPUID, by MLAS's own rule: it offers no switch to pin it)
// Sessions: IntraOpNumThreads = --threads, InterOpNumThreads = 1, sequential execution, graph
// optimisation level ORT_ENABLE_ALL; --spin 0 turns the intra-op pool's spinning off
// (session.intra_op.allow_spinning; on by default). Inputs and outputs are OrtValues over buffers
// allocated once, outputs included, so a run allocates no managed memory (the serving loop at its best).
return args switch
{
    ["infer" or "generate", .. var rest] => OrtBenchmark.Run(args[0], rest),
    ["export", .. var rest] => OrtBenchmark.Export(rest),
    ["probe", .. var rest] => OrtBenchmark.Probe(rest),
    _ => OrtBenchmark.Usage(),
};

/// <summary>One benchmark configuration, read from bench/configs.json (copied next to this assembly), which every contender reads.</summary>
internal sealed record PeerConfig(string Name, CellType Cell, int Vocabulary, int Embedding, int Hidden, int Layers, bool Bidirectional, int Batch, int Seq, int Outputs)
{
    private static readonly JsonElement Root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "configs.json"))).RootElement;

    public static readonly PeerConfig[] All = Root.GetProperty("configs").EnumerateArray().Select(c => new PeerConfig(
        c.GetProperty("name").GetString()!,
        c.GetProperty("cell").GetString() switch
        {
            "rnn_tanh" => CellType.RnnTanh,
            "gru" => CellType.Gru,
            "lstm" => CellType.Lstm,
            var other => throw new InvalidDataException($"configs.json: unknown cell '{other}' (rnn_tanh, gru or lstm)"),
        },
        c.GetProperty("vocab").GetInt32(), c.GetProperty("embed").GetInt32(), c.GetProperty("hidden").GetInt32(),
        c.GetProperty("layers").GetInt32(), c.GetProperty("bidirectional").GetBoolean(), c.GetProperty("batch").GetInt32(),
        c.GetProperty("seq").GetInt32(), c.GetProperty("outputs").GetInt32())).ToArray();

    /// <summary>The config of the infer and generate measures.</summary>
    public static readonly string Inference = Root.GetProperty("inference").GetString()!;

    public bool IsLanguageModel => !Bidirectional && Outputs == Vocabulary;

    /// <summary>The model Recurrent.Bench infer and generate measure: the same config and weight seed (1).</summary>
    public SequenceModel NewModel() =>
        new(SequenceModelConfig.LanguageModel(Cell, Vocabulary, Embedding, Hidden, Layers), new Rng(1));
}

internal static class OrtBenchmark
{
    public static int Usage()
    {
        Console.Error.WriteLine("usage: Recurrent.Bench.Onnx infer|generate [--config NAME] [--model FILE.onnx] [--threads N] [--spin 0|1] [--reps R] [--seconds S] [--warmup-seconds W] [--steps S] [--tokens K]");
        Console.Error.WriteLine("       Recurrent.Bench.Onnx export [--config NAME] --out FILE.onnx");
        Console.Error.WriteLine("       Recurrent.Bench.Onnx probe [--threads N] [--seconds S]");
        Console.Error.WriteLine($"  The config defaults to {PeerConfig.Inference} (bench/configs.json's inference config); it must be a language model.");
        Console.Error.WriteLine("  --model: a file `export` wrote for the same config (else the model is exported in this process, and its peak RSS");
        Console.Error.WriteLine("  includes the exporter's). Timing as Recurrent.Bench's: --warmup-seconds untimed (default 2), then --reps reps");
        Console.Error.WriteLine("  (default 3) of --seconds/reps each (default 10 s in all; --steps S: S calls a rep instead); the median rep is reported.");
        Console.Error.WriteLine("  generate: a call generates --tokens tokens (default 400) from a fresh state.");
        Console.Error.WriteLine("  ONNX Runtime picks its kernels (MLAS) by CPUID; no variable or option pins an instruction set.");
        return 2;
    }

    private sealed record Timing(int Reps, double Seconds, double WarmUpSeconds, int Steps, int Tokens);

    private sealed class Options
    {
        public string? Config;
        public string? Model;
        public string? Out;
        public int Threads = 1, Reps = 3, Steps, Tokens = 400;
        public bool Spin = true;
        public double Seconds = 10, WarmUpSeconds = 2;

        public static Options? Parse(string name, string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string arg = args[i];
                if (i + 1 >= args.Length) { Console.Error.WriteLine($"{name}: {arg} needs a value"); return null; }
                string value = args[++i];
                try
                {
                    switch (arg)
                    {
                        case "--config": o.Config = value; break;
                        case "--model": o.Model = value; break;
                        case "--out": o.Out = value; break;
                        case "--threads": o.Threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                        case "--spin": o.Spin = value switch { "1" => true, "0" => false, _ => throw new FormatException() }; break;
                        case "--reps": o.Reps = int.Parse(value, CultureInfo.InvariantCulture); break;
                        case "--seconds": o.Seconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                        case "--warmup-seconds": o.WarmUpSeconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                        case "--steps": o.Steps = int.Parse(value, CultureInfo.InvariantCulture); break;
                        case "--tokens": o.Tokens = int.Parse(value, CultureInfo.InvariantCulture); break;
                        default: Console.Error.WriteLine($"{name}: unknown option '{arg}'"); return null;
                    }
                }
                catch (FormatException)
                {
                    Console.Error.WriteLine($"{name}: {arg} '{value}' is not valid");
                    return null;
                }
            }
            if (o.Reps < 1 || o.Tokens < 1 || o.Threads < 1 || o.Steps < 0 || !(o.Seconds > 0) || !(o.WarmUpSeconds >= 0))
            {
                Console.Error.WriteLine($"{name}: --reps, --tokens and --threads must be at least 1, --steps at least 0, --seconds positive, --warmup-seconds not negative");
                return null;
            }
            return o;
        }

        public Timing Timing => new(Reps, Seconds, WarmUpSeconds, Steps, Tokens);

        public string Setting => Threads == 1 || Spin ? $"threads={Threads}" : $"threads={Threads},spin=off";
    }

    private static PeerConfig? FindConfig(string name, Options o)
    {
        string configName = o.Config ?? PeerConfig.Inference;
        var c = PeerConfig.All.FirstOrDefault(x => x.Name == configName);
        if (c is null || !c.IsLanguageModel)
        {
            Console.Error.WriteLine($"{name}: '{configName}' is not a language-model config of configs.json (try {PeerConfig.Inference})");
            return null;
        }
        return c;
    }

    private static string Version => $"ONNX Runtime {OrtEnv.Instance().GetVersionString()}";

    private static InferenceSession NewSession(Options o, out string source, PeerConfig c)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = o.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", o.Spin ? "1" : "0");
        if (o.Model is not null)
        {
            source = Path.GetFileName(o.Model);
            return new InferenceSession(o.Model, options);
        }
        source = "exported in-process (peak RSS includes the exporter)";
        return new InferenceSession(OnnxExport.Serialize(c.NewModel()), options);
    }

    public static int Run(string measure, string[] args)
    {
        var o = Options.Parse(measure, args);
        if (o is null) return Usage();
        if (FindConfig(measure, o) is not { } c) return 2;
        using var session = NewSession(o, out string source, c);
        var (value, reps) = measure == "infer" ? MeasureInfer(session, c, o.Timing) : MeasureGenerate(session, c, o.Timing);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            peer = "onnxruntime",
            config = c.Name,
            measure = measure == "infer" ? "infer_tokens_per_s" : "gen_us_per_token",
            threads = o.Threads,
            setting = o.Setting,
            value = Math.Round(value, 3),
            peak_rss_mb = PeakRssMegabytes(),
            version = Version,
            mlas_isa = MlasIsa(),
            isa_pinned = false,
            model = source,
            reps = reps.Count,
            timed_s = Math.Round(reps.Sum(r => r.Seconds), 2),
        }));
        return 0;
    }

    /// <summary>[T, B] random ids (seed 2, as Recurrent.Bench infer), zero initial states; every step's logits.</summary>
    private static (double, List<Rep>) MeasureInfer(InferenceSession session, PeerConfig c, Timing timing)
    {
        int T = c.Seq, B = c.Batch, L = c.Layers, H = c.Hidden, V = c.Outputs;
        var rng = new Rng(2);
        var ids = new long[T * B];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(c.Vocabulary);
        bool lstm = c.Cell == CellType.Lstm;
        var inputs = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(ids, [T, B]),
            OrtValue.CreateTensorValueFromMemory(new float[L * B * H], [L, B, H]),
        };
        var outputs = new List<OrtValue>
        {
            OrtValue.CreateTensorValueFromMemory(new float[T * B * V], [T, B, V]),
            OrtValue.CreateTensorValueFromMemory(new float[L * B * H], [L, B, H]),
        };
        if (lstm)
        {
            inputs.Add(OrtValue.CreateTensorValueFromMemory(new float[L * B * H], [L, B, H]));
            outputs.Add(OrtValue.CreateTensorValueFromMemory(new float[L * B * H], [L, B, H]));
        }
        string[] inputNames = lstm ? ["ids", "h0", "c0"] : ["ids", "h0"];
        string[] outputNames = lstm ? ["logits", "h_n", "c_n"] : ["logits", "h_n"];
        using var run = new RunOptions();
        var reps = TimedReps(() => session.Run(run, inputNames, inputs, outputNames, outputs), timing);
        foreach (var v in inputs.Concat(outputs)) v.Dispose();
        return (Median(reps.Select(r => (double)T * B / r.SecondsPerCall)), reps);
    }

    /// <summary>
    /// Batch 1, as Recurrent.Bench generate (TextGenerator with an empty prime): a call starts from zero
    /// states and the line break (id 0), then each run's logits give a sample (softmax, τ = 1, Rng seed 3)
    /// that is the next run's id, its h_n (c_n) the next run's h0 (c0), --tokens runs and samples a call.
    /// The states alternate between two buffer pairs, so nothing is copied between runs.
    /// </summary>
    private static (double, List<Rep>) MeasureGenerate(InferenceSession session, PeerConfig c, Timing timing)
    {
        int L = c.Layers, H = c.Hidden, V = c.Outputs;
        bool lstm = c.Cell == CellType.Lstm;
        var id = new long[1];
        var logits = new float[V];
        float[][] h = [new float[L * H], new float[L * H]], cs = [new float[L * H], new float[L * H]];
        var idValue = OrtValue.CreateTensorValueFromMemory(id, [1, 1]);
        var logitsValue = OrtValue.CreateTensorValueFromMemory(logits, [1, 1, V]);
        var hValues = h.Select(a => OrtValue.CreateTensorValueFromMemory(a, [L, 1, H])).ToArray();
        var cValues = cs.Select(a => OrtValue.CreateTensorValueFromMemory(a, [L, 1, H])).ToArray();
        // inputs[k] reads state buffer k, outputs[k] writes the other one.
        var inputs = new OrtValue[2][];
        var outputs = new OrtValue[2][];
        for (int k = 0; k < 2; k++)
        {
            inputs[k] = lstm ? [idValue, hValues[k], cValues[k]] : [idValue, hValues[k]];
            outputs[k] = lstm ? [logitsValue, hValues[1 - k], cValues[1 - k]] : [logitsValue, hValues[1 - k]];
        }
        string[] inputNames = lstm ? ["ids", "h0", "c0"] : ["ids", "h0"];
        string[] outputNames = lstm ? ["logits", "h_n", "c_n"] : ["logits", "h_n"];
        // One I/O binding per direction of the swap: no names or values to marshal at each run.
        var bindings = new OrtIoBinding[2];
        for (int k = 0; k < 2; k++)
        {
            bindings[k] = session.CreateIoBinding();
            for (int j = 0; j < inputNames.Length; j++) bindings[k].BindInput(inputNames[j], inputs[k][j]);
            for (int j = 0; j < outputNames.Length; j++) bindings[k].BindOutput(outputNames[j], outputs[k][j]);
        }
        var sampler = new Sampler(temperature: 1f);
        var rng = new Rng(3);
        using var run = new RunOptions();
        void Generate(int tokens, Span<long> generated)
        {
            Array.Clear(h[0]);
            Array.Clear(cs[0]);
            id[0] = 0;
            for (int i = 0, k = 0; i < tokens; i++, k = 1 - k)
            {
                session.RunWithBinding(run, bindings[k]);
                id[0] = sampler.Sample(logits, rng);
                if (!generated.IsEmpty) generated[i] = id[0];
            }
        }
        // Guard: the bound loop samples the tokens that ONNX Runtime's plain API, with the state copied back, samples.
        const int check = 50;
        var bound = new long[check];
        Generate(check, bound);
        var plain = GeneratePlain(session, c, check, new Rng(3));
        if (!bound.AsSpan().SequenceEqual(plain))
            throw new InvalidOperationException("generate: the bound loop and ONNX Runtime's plain Run disagree on the sampled tokens");
        rng = new Rng(3);
        var reps = TimedReps(() => Generate(timing.Tokens, default), timing);
        foreach (var b in bindings) b.Dispose();
        foreach (var v in hValues.Concat(cValues).Append(idValue).Append(logitsValue)) v.Dispose();
        return (Median(reps.Select(r => r.SecondsPerCall / timing.Tokens * 1e6)), reps);
    }

    /// <summary>The same generation through ONNX Runtime's plain API (new outputs each run, h_n and c_n copied to h0 and c0): the reference of the bound loop.</summary>
    private static long[] GeneratePlain(InferenceSession session, PeerConfig c, int tokens, Rng rng)
    {
        int L = c.Layers, H = c.Hidden;
        bool lstm = c.Cell == CellType.Lstm;
        var sampler = new Sampler(temperature: 1f);
        var h = new float[L * H];
        var cs = new float[L * H];
        var result = new long[tokens];
        long id = 0;
        using var run = new RunOptions();
        for (int i = 0; i < tokens; i++)
        {
            var inputs = new Dictionary<string, OrtValue>
            {
                ["ids"] = OrtValue.CreateTensorValueFromMemory(new[] { id }, [1, 1]),
                ["h0"] = OrtValue.CreateTensorValueFromMemory(h, [L, 1, H]),
            };
            if (lstm) inputs["c0"] = OrtValue.CreateTensorValueFromMemory(cs, [L, 1, H]);
            using (var outputs = session.Run(run, inputs, session.OutputNames))
            {
                result[i] = id = sampler.Sample(outputs[0].GetTensorDataAsSpan<float>(), rng);
                h = outputs[1].GetTensorDataAsSpan<float>().ToArray();
                if (lstm) cs = outputs[2].GetTensorDataAsSpan<float>().ToArray();
            }
            foreach (var v in inputs.Values) v.Dispose();
        }
        return result;
    }

    /// <summary>Writes the config's model, then checks ONNX Runtime's run of the file against Recurrent's forward (T 16, B 4, random ids and states).</summary>
    public static int Export(string[] args)
    {
        var o = Options.Parse("export", args);
        if (o is null) return Usage();
        if (o.Out is null) { Console.Error.WriteLine("export: --out FILE.onnx is required"); return 2; }
        if (FindConfig("export", o) is not { } c) return 2;
        var model = c.NewModel();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o.Out))!);
        OnnxExport.Save(model, o.Out);

        const int T = 16, B = 4;
        int L = c.Layers, H = c.Hidden;
        bool lstm = c.Cell == CellType.Lstm;
        var rng = new Rng(5);
        var ids = new int[T * B];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.NextInt(c.Vocabulary);
        var state = model.NewState(B);
        var h0 = Enumerable.Range(0, L * B * H).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        var c0 = Enumerable.Range(0, L * B * H).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        h0.CopyTo(state.H.Span);
        if (lstm) c0.CopyTo(state.C!.Span);
        var expectedLogits = model.Forward(ids, T, B, state, keepForBackward: false).Span.ToArray();

        using var session = new InferenceSession(o.Out);
        var inputs = new Dictionary<string, OrtValue>
        {
            ["ids"] = OrtValue.CreateTensorValueFromMemory(ids.Select(i => (long)i).ToArray(), [T, B]),
            ["h0"] = OrtValue.CreateTensorValueFromMemory(h0, [L, B, H]),
        };
        if (lstm) inputs["c0"] = OrtValue.CreateTensorValueFromMemory(c0, [L, B, H]);
        using var run = new RunOptions();
        using var outputs = session.Run(run, inputs, session.OutputNames);
        double worst = RelativeError(expectedLogits, outputs[0].GetTensorDataAsSpan<float>());
        worst = Math.Max(worst, RelativeError(state.H.Span, outputs[1].GetTensorDataAsSpan<float>()));
        if (lstm) worst = Math.Max(worst, RelativeError(state.C!.Span, outputs[2].GetTensorDataAsSpan<float>()));
        foreach (var v in inputs.Values) v.Dispose();
        bool ok = worst <= 1e-5;
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            peer = "onnxruntime",
            config = c.Name,
            measure = "export",
            path = o.Out,
            bytes = new FileInfo(o.Out).Length,
            max_relative_error = worst,
            matches_recurrent = ok,
            version = Version,
        }));
        if (!ok) Console.Error.WriteLine($"export: ONNX Runtime's outputs differ from Recurrent's by {worst:G3} (relative; at most 1e-5 expected)");
        return ok ? 0 : 1;
    }

    /// <summary>max |a − e| / max(max |e|, 1e-30): the error relative to the tensor's scale.</summary>
    private static double RelativeError(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        if (expected.Length != actual.Length) return double.PositiveInfinity;
        double diff = 0, scale = 1e-30;
        for (int i = 0; i < expected.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs((double)expected[i] - actual[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
        }
        return diff / scale;
    }

    /// <summary>A 1024³ MatMul in ONNX Runtime (MLAS SGEMM), timed for --seconds; one JSON line with its GFLOP/s and the kernel family MLAS picks.</summary>
    public static int Probe(string[] args)
    {
        var o = Options.Parse("probe", args);
        if (o is null) return Usage();
        const int n = 1024;
        var graph = new Onnx.GraphProto { Name = "matmul" };
        graph.Input.Add(FloatValue("A", n, n));
        graph.Input.Add(FloatValue("B", n, n));
        graph.Output.Add(FloatValue("Y", n, n));
        graph.Node.Add(new Onnx.NodeProto { OpType = "MatMul", Name = "matmul", Input = { "A", "B" }, Output = { "Y" } });
        var proto = new Onnx.ModelProto { IrVersion = 8, ProducerName = "Recurrent.Bench.Onnx", Graph = graph };
        proto.OpsetImport.Add(new Onnx.OperatorSetIdProto { Domain = "", Version = OnnxExport.Opset });
        using var options = new SessionOptions
        {
            IntraOpNumThreads = o.Threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        using var session = new InferenceSession(proto.ToByteArray(), options);
        var rng = new Rng(7);
        var a = Enumerable.Range(0, n * n).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        var b = Enumerable.Range(0, n * n).Select(_ => rng.NextFloat() - 0.5f).ToArray();
        using var av = OrtValue.CreateTensorValueFromMemory(a, [n, n]);
        using var bv = OrtValue.CreateTensorValueFromMemory(b, [n, n]);
        using var yv = OrtValue.CreateTensorValueFromMemory(new float[n * n], [n, n]);
        using var run = new RunOptions();
        OrtValue[] inputs = [av, bv], outputs = [yv];
        var reps = TimedReps(() => session.Run(run, ["A", "B"], inputs, ["Y"], outputs), new Timing(1, o.Seconds, Math.Min(o.WarmUpSeconds, 0.2), 0, 1));
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            peer = "onnxruntime",
            measure = "probe",
            matmul_1024_gflops = Math.Round(2.0 * n * n * n / reps[0].SecondsPerCall / 1e9, 1),
            threads = o.Threads,
            mlas_isa = MlasIsa(),
            isa_pinned = false,
            version = Version,
        }));
        return 0;
    }

    private static Onnx.ValueInfoProto FloatValue(string name, params long[] dims)
    {
        var shape = new Onnx.TensorShapeProto();
        foreach (long d in dims) shape.Dim.Add(new Onnx.TensorShapeProto.Types.Dimension { DimValue = d });
        return new Onnx.ValueInfoProto
        {
            Name = name,
            Type = new Onnx.TypeProto { TensorType = new Onnx.TypeProto.Types.Tensor { ElemType = (int)Onnx.TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>
    /// The SGEMM kernel family MLAS (ONNX Runtime 1.31's platform.cpp) selects on this machine, by its own rule:
    /// AVX-512F when CPUID leaf 7 reports AVX512F and the OS saves the AVX-512 state (read here from the kernel's
    /// /proc/cpuinfo flags, which drop avx512f when it does not), else FMA3 with AVX2, else AVX, else SSE.
    /// The raw CPUID instruction, not the .NET runtime's view: DOTNET_EnableAVX512=0 changes .NET, not MLAS.
    /// </summary>
    private static string MlasIsa()
    {
        if (!X86Base.IsSupported) return "not x86-64";
        var (_, _, ecx1, _) = X86Base.CpuId(1, 0);
        var (_, ebx7, _, _) = X86Base.CpuId(7, 0);
        bool avx = (ecx1 & 0x18000000) == 0x18000000, fma = (ecx1 & 0x1000) != 0, avx2 = (ebx7 & 0x20) != 0;
        bool avx512 = (ebx7 & 0x10000) != 0 && OsFlags().Contains("avx512f");
        return !avx ? "SSE" : !(fma && avx2) ? "AVX" : avx512 ? "AVX512F" : "FMA3/AVX2";
    }

    private static HashSet<string> OsFlags()
    {
        const string path = "/proc/cpuinfo";
        if (!File.Exists(path)) return [];
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        return line is null ? [] : [.. line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }

    private readonly record struct Rep(double Seconds, int Calls)
    {
        public double SecondsPerCall => Seconds / Calls;
    }

    /// <summary>Runs step for the warm-up (at least twice), then the timed reps (see Usage).</summary>
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

    /// <summary>VmHWM (peak resident set) of this process from /proc/self/status, in MB.</summary>
    private static double? PeakRssMegabytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return null;
        foreach (var line in File.ReadLines(path))
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
