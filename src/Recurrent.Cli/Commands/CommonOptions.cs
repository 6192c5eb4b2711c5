using System.CommandLine;

namespace Recurrent.Cli.Commands;

/// <summary>Options shared by several commands.</summary>
public static class CommonOptions
{
    public static Option<string> Model() => new("--model", "-m") { Description = "A checkpoint (.ckpt) or a training output directory (uses best.ckpt).", Required = true };

    public static Option<int> Threads() => new("--threads") { Description = "Threads for matrix products.", DefaultValueFactory = _ => Math.Clamp(Environment.ProcessorCount, 1, 2) };

    public static Option<ulong> Seed() => new("--seed") { Description = "Random seed: the same seed and thread count give the same result.", DefaultValueFactory = _ => 1UL };

    public static void CheckThreads(int threads)
    {
        if (threads is < 1 or > 256) throw new ArgumentException($"--threads is {threads}; it must be between 1 and 256.");
    }

    /// <summary>The names of the options of <paramref name="command"/> given on the command line (not left to their defaults).</summary>
    public static IReadOnlySet<string> Given(ParseResult r, Command command)
    {
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var option in command.Options)
            if (r.GetResult(option) is { Implicit: false }) given.Add(option.Name);
        return given;
    }
}
