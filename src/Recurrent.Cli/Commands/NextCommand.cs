using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace Recurrent.Cli.Commands;

/// <summary><c>recurrent next</c>: the most likely next words (or characters) after a text.</summary>
public static class NextCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var text = new Argument<string>("text") { Description = "The context, e.g. \"the meaning of\"." };
        var top = new Option<int>("--top", "-k") { Description = "How many candidates to show.", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var threads = CommonOptions.Threads();
        var command = new Command("next", "Show the most likely next words (or characters) with their probabilities.") { model, text, top, json, threads };
        command.SetAction(r => CliErrors.Run(() =>
        {
            int k = r.GetValue(top);
            if (k is < 1 or > 1_000_000) throw new ArgumentException($"--top is {k}; it must be between 1 and 1000000.");
            CommonOptions.CheckThreads(r.GetValue(threads));
            var generator = ModelFiles.Generator(r.GetValue(model)!, r.GetValue(threads));
            var context = r.GetValue(text) ?? "";
            var candidates = generator.NextTokens(context, Math.Min(k, generator.Vocabulary.Count));
            if (r.GetValue(json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    context,
                    candidates = candidates.Select(c => new { token = c.Token, probability = c.Probability }),
                }));
                return 0;
            }
            Render(context, candidates);
            return 0;
        }));
        return command;
    }

    public static void Render(string context, IReadOnlyList<(string Token, double Probability)> candidates)
    {
        var table = new Table().Title($"next after \"{Markup.Escape(context)}\"")
            .AddColumn("#").AddColumn("token").AddColumn(new TableColumn("probability").RightAligned()).AddColumn("");
        int rank = 1;
        foreach (var (token, p) in candidates)
        {
            string shown = token switch { "\n" => "\\n", " " => "␠", "\t" => "\\t", _ => token };
            table.AddRow(rank++.ToString(CultureInfo.InvariantCulture), Markup.Escape(shown), p.ToString("P2", CultureInfo.InvariantCulture), new string('█', (int)Math.Round(p * 30)));
        }
        AnsiConsole.Write(table);
    }
}
