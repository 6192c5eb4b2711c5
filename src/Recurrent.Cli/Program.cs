using System.CommandLine;
using Recurrent.Cli.Commands;

namespace Recurrent.Cli;

public static class Program
{
    public static int Main(string[] args) => Run(args);

    /// <summary>Parses and runs one command line. Exit codes: 0 success, 1 failure, 2 usage error.</summary>
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
            var first = parsed.Errors[0].Message.ReplaceLineEndings(" ").Replace('\t', ' ');
            while (first.Contains("  ")) first = first.Replace("  ", " ");
            var command = parsed.CommandResult.Command;
            string help = command == root ? "recurrent --help" : $"recurrent {command.Name} --help";
            Console.Error.WriteLine($"recurrent: error: {first.Trim()} (see '{help}')");
            return 2;
        }
        return parsed.Invoke();
    }
}
