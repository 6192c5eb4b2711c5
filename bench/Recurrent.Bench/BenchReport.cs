using System.Globalization;
using System.Text.Json;

namespace Recurrent.Bench;

/// <summary>
/// Options shared by the train, infer and generate benchmarks, and the one JSON line each
/// result is reported as: {"peer","config","measure","threads","setting","value","peak_rss_mb"}.
/// </summary>
internal sealed class BenchOptions
{
    public string? Config { get; private set; }
    public int Threads { get; private set; } = 1;
    public int Reps { get; private set; } = 3;
    public int Steps { get; private set; }
    public int Tokens { get; private set; } = 400;

    /// <summary>Parses <paramref name="args"/>; null (after printing why) when they are wrong.</summary>
    public static BenchOptions? Parse(string name, string[] args, int defaultSteps)
    {
        var o = new BenchOptions { Steps = defaultSteps };
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (arg is "--help" or "-h")
            {
                Console.WriteLine($"{name} [--config NAME] [--threads N] [--reps R] [--steps S] [--tokens K]");
                return null;
            }
            if (i + 1 >= args.Length) { Console.Error.WriteLine($"{name}: {arg} needs a value"); return null; }
            string value = args[++i];
            switch (arg)
            {
                case "--config": o.Config = value; break;
                case "--threads": o.Threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--reps": o.Reps = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--steps": o.Steps = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--tokens": o.Tokens = int.Parse(value, CultureInfo.InvariantCulture); break;
                default: Console.Error.WriteLine($"{name}: unknown option '{arg}'"); return null;
            }
        }
        if (o.Threads < 1 || o.Reps < 1 || o.Steps < 1 || o.Tokens < 1)
        {
            Console.Error.WriteLine($"{name}: --threads, --reps, --steps and --tokens must be at least 1");
            return null;
        }
        return o;
    }

    /// <summary>Runs <paramref name="step"/> until at least 0.5 s and 2 calls have passed, so the JIT has reached its final tier before timing.</summary>
    public static void WarmUp(Action step)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int calls = 0; calls < 2 || clock.Elapsed.TotalSeconds < 0.5; calls++) step();
    }

    public static double Median(List<double> samples)
    {
        samples.Sort();
        int n = samples.Count;
        return n % 2 == 1 ? samples[n / 2] : (samples[n / 2 - 1] + samples[n / 2]) / 2;
    }

    /// <summary>Prints one result line.</summary>
    public void Report(string config, string measure, double value)
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
