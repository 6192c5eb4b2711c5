using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Runtime.Intrinsics;
using System.Text.Json;
using Recurrent.Numerics;

namespace Recurrent.Bench;

/// <summary>
/// Options shared by the benchmarks, the steady-state timing they all use, and the one JSON line
/// each model benchmark's result is reported as: {"peer","config","measure","threads","setting",
/// "value","peak_rss_mb","simd","vector_bits","vector512","reps","timed_s"}.
/// <para>
/// Timing: calls run untimed for at least <see cref="WarmUpSeconds"/> (and twice), so the JIT has
/// reached its final tier; then <see cref="Reps"/> reps, each running calls until it has taken
/// <see cref="Seconds"/>/<see cref="Reps"/> (or exactly <see cref="Steps"/> calls when given), and
/// the median rep is reported. The defaults, 2 s and 10 s, are what a user's long run sees.
/// </para>
/// </summary>
internal sealed class BenchOptions
{
    public string? Config { get; private set; }
    public int Threads { get; private set; } = 1;
    public int Reps { get; private set; } = 3;
    /// <summary>Timed seconds per measurement, over all reps.</summary>
    public double Seconds { get; private set; } = 10;
    public double WarmUpSeconds { get; private set; } = 2;
    /// <summary>Calls per rep instead of timing by <see cref="Seconds"/>; 0 = by time.</summary>
    public int Steps { get; private set; }
    public int Tokens { get; private set; } = 400;
    /// <summary>The SIMD level every kernel runs at (--simd, else RECURRENT_SIMD, else the CPU's best).</summary>
    public SimdLevel Simd { get; private set; }

    public Compute Compute => new(Threads, Simd);

    private const string CommonUsage = "[--threads N] [--simd scalar|vector|avx2|avx512] [--seconds S] [--warmup-seconds W] [--reps R]";

    /// <summary>
    /// Parses <paramref name="args"/>; null (after printing why) when they are wrong. <paramref name="modelOptions"/>
    /// admits --config, --steps and --tokens; <paramref name="extra"/> may take further options with a value
    /// (it returns false for names it does not know).
    /// </summary>
    public static BenchOptions? Parse(string name, string[] args, bool modelOptions, string extraUsage = "", Func<string, string, bool>? extra = null)
    {
        var o = new BenchOptions();
        string? simd = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                Console.WriteLine($"{name} {CommonUsage}{(modelOptions ? " [--config NAME] [--steps S] [--tokens K]" : "")} {extraUsage}".TrimEnd());
                Console.WriteLine("Warms up for --warmup-seconds (default 2), then times --reps reps (default 3) of --seconds/reps each");
                Console.WriteLine("(default 10 s in all; --steps S: S calls per rep instead) and reports the median rep.");
                Console.WriteLine($"--simd sets {Compute.SimdVariable} for this process: every kernel of the library runs at that level.");
                return null;
            }
            if (i + 1 >= args.Length) { Console.Error.WriteLine($"{name}: {arg} needs a value"); return null; }
            string value = args[++i];
            try
            {
                switch (arg)
                {
                    case "--threads": o.Threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--reps": o.Reps = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--seconds": o.Seconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--warmup-seconds": o.WarmUpSeconds = double.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--simd": simd = value; break;
                    case "--config" when modelOptions: o.Config = value; break;
                    case "--steps" when modelOptions: o.Steps = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--tokens" when modelOptions: o.Tokens = int.Parse(value, CultureInfo.InvariantCulture); break;
                    default:
                        if (extra is null || !extra(arg, value)) { Console.Error.WriteLine($"{name}: unknown option '{arg}' (try --help)"); return null; }
                        break;
                }
            }
            catch (FormatException)
            {
                Console.Error.WriteLine($"{name}: {arg} '{value}' is not a number");
                return null;
            }
        }
        if (o.Threads < 1 || o.Reps < 1 || o.Steps < 0 || o.Tokens < 1 || !(o.Seconds > 0) || !(o.WarmUpSeconds >= 0))
        {
            Console.Error.WriteLine($"{name}: --threads, --reps and --tokens must be at least 1, --steps at least 0, --seconds positive, --warmup-seconds not negative");
            return null;
        }
        return o.SetSimd(name, simd) ? o : null;
    }

    /// <summary>Resolves the SIMD level; an explicit one is also put in RECURRENT_SIMD, so the library's defaults (optimizers) follow it.</summary>
    private bool SetSimd(string name, string? simd)
    {
        try
        {
            if (simd is null)
            {
                Simd = Compute.DefaultSimd;
                return true;
            }
            if (!Compute.TryParseSimdLevel(simd, out var level))
            {
                Console.Error.WriteLine($"{name}: --simd '{simd}' is not a SIMD level; use one of {Compute.SimdLevelNames}");
                return false;
            }
            if (level > Compute.BestAvailable)
            {
                Console.Error.WriteLine($"{name}: --simd {simd}: this CPU and runtime support at most {Compute.BestAvailable}");
                return false;
            }
            Environment.SetEnvironmentVariable(Compute.SimdVariable, level.ToString());
            if (Compute.DefaultSimd != level)
                throw new InvalidOperationException($"{Compute.SimdVariable} was read before --simd could set it");
            Simd = level;
            return true;
        }
        catch (InvalidOperationException e)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
            return false;
        }
    }

    /// <summary>One timed rep: its wall seconds, the calls it ran, and the process CPU seconds it used.</summary>
    public readonly record struct Rep(double Seconds, int Calls, double CpuSeconds)
    {
        public double SecondsPerCall => Seconds / Calls;
    }

    /// <summary>Warms <paramref name="call"/> up, then runs the timed reps (see the class summary).</summary>
    public List<Rep> Time(Action call)
    {
        var clock = Stopwatch.StartNew();
        for (int calls = 0; calls < 2 || clock.Elapsed.TotalSeconds < WarmUpSeconds; calls++) call();
        var process = Process.GetCurrentProcess();
        double perRep = Seconds / Reps;
        var reps = new List<Rep>();
        for (int r = 0; r < Reps; r++)
        {
            process.Refresh();
            var cpuStart = process.TotalProcessorTime;
            long start = Stopwatch.GetTimestamp();
            int calls = 0;
            do
            {
                call();
                calls++;
            }
            while (Steps > 0 ? calls < Steps : Stopwatch.GetElapsedTime(start).TotalSeconds < perRep);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            process.Refresh();
            reps.Add(new Rep(seconds, calls, (process.TotalProcessorTime - cpuStart).TotalSeconds));
        }
        return reps;
    }

    public static double Median(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>The SIMD facts of this process: the level used, Vector&lt;float&gt;'s width, and whether the runtime accelerates Vector512.</summary>
    public string SimdDescription =>
        $"simd={Simd}, vector_bits={Vector<float>.Count * 32}, vector512={Vector512.IsHardwareAccelerated.ToString().ToLowerInvariant()}";

    /// <summary>Prints one result line; <paramref name="reps"/> are the timed reps behind <paramref name="value"/>.</summary>
    public void Report(string config, string measure, double value, List<Rep> reps)
    {
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            peer = "recurrent",
            config,
            measure,
            threads = Threads,
            setting = $"threads={Threads}",
            value = Math.Round(value, 2),
            peak_rss_mb = Math.Round(PeakRssMb(), 1),
            simd = Simd.ToString(),
            vector_bits = Vector<float>.Count * 32,
            vector512 = Vector512.IsHardwareAccelerated,
            reps = reps.Count,
            timed_s = Math.Round(reps.Sum(r => r.Seconds), 2),
        }));
    }

    /// <summary>VmHWM (peak resident set) of this process in MB, from /proc/self/status; 0 where that file does not exist.</summary>
    public static double PeakRssMb()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return 0;
        foreach (var line in File.ReadLines(path))
        {
            if (!line.StartsWith("VmHWM:", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return double.Parse(parts[1], CultureInfo.InvariantCulture) / 1024.0;
        }
        return 0;
    }
}
