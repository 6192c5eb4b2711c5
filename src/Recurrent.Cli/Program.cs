using System.CommandLine;
using System.Runtime.InteropServices;
using Recurrent.Cli.Commands;

namespace Recurrent.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args);

    /// <summary>
    /// Parses and runs one command line. Exit codes: 0 success, 1 failure, 2 usage error,
    /// 3 internal error, 130 interrupted (SIGINT or SIGTERM: a training run finishes its step and
    /// saves latest.ckpt first; a second signal ends the process at once).
    /// </summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("recurrent: recurrent neural networks (RNN, LSTM, GRU) in pure C#. Train language models, generate text, predict the next word.");
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(SampleCommand.Create());
        root.Subcommands.Add(EvalCommand.Create());
        root.Subcommands.Add(NextCommand.Create());
        root.Subcommands.Add(GradientsCommand.Create());
        root.Subcommands.Add(ClassifyCommand.Create());
        root.Subcommands.Add(ForecastCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(ImportCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(TagCommand.Create());

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            var command = parsed.CommandResult.Command;
            string help = command == root ? "recurrent --help" : $"recurrent {CommandPath(parsed)} --help";
            Console.Error.WriteLine($"recurrent: error: {UsageError(parsed)} (see '{help}')");
            return 2;
        }

        // Ctrl-C and SIGTERM cancel the token the commands get; the command decides how to stop
        // (training: after the step in progress, saving latest.ckpt). A second signal is not held back,
        // and a command that does not watch the token ends at the first: it has nothing to save.
        using var cancel = new CancellationTokenSource();
        bool watchesToken = WatchesCancellation.Contains(CommandPath(parsed));
        int signals = 0;
        void Stop(PosixSignalContext context)
        {
            if (Interlocked.Increment(ref signals) > 1) return;
            string what = context.Signal == PosixSignal.SIGTERM ? "terminated" : "interrupted";
            if (!watchesToken)
            {
                Console.Error.WriteLine($"recurrent: {what}");
                return;
            }
            context.Cancel = true;
            Console.Error.WriteLine($"recurrent: {what}; stopping after the current step (signal again to quit at once)");
            cancel.Cancel();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        return parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null }, cancel.Token).GetAwaiter().GetResult();
    }

    /// <summary>
    /// The commands that stop cleanly when their cancellation token fires: the training commands
    /// (after the step in progress, saving latest.ckpt), demo (training stops, the results are shown)
    /// and serve (shuts down). Every other command is ended by the first signal.
    /// </summary>
    private static readonly HashSet<string> WatchesCancellation = ["train", "demo", "classify train", "tag train", "forecast train", "serve"];

    private static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (var c = parsed.CommandResult; c is not null && c.Parent is System.CommandLine.Parsing.CommandResult; c = (System.CommandLine.Parsing.CommandResult)c.Parent)
            names.Insert(0, c.Command.Name);
        return string.Join(' ', names);
    }

    /// <summary>
    /// The first parse error in one line; for a command that is not known ("recurrent trian"),
    /// the unknown word and the closest command instead of "Required command was not provided".
    /// </summary>
    private static string UsageError(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        var unknown = parsed.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith('-'));
        if (command.Subcommands.Count > 0 && unknown is not null)
        {
            var closest = command.Subcommands.Select(c => (c.Name, Distance: Edits(unknown, c.Name))).MinBy(c => c.Distance);
            string suggestion = closest.Distance <= Math.Max(2, closest.Name.Length / 3) ? $" (did you mean '{closest.Name}'?)" : "";
            return $"'{unknown}' is not a command{suggestion}; the commands are {string.Join(", ", command.Subcommands.Select(c => c.Name))}.";
        }
        var first = parsed.Errors[0].Message.ReplaceLineEndings(" ").Replace('\t', ' ');
        while (first.Contains("  ")) first = first.Replace("  ", " ");
        return first.Trim();
    }

    /// <summary>Levenshtein distance, with a swap of neighbours counting as one edit ("trian" → "train").</summary>
    internal static int Edits(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
