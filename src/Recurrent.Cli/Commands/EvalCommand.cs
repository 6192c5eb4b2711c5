using System.CommandLine;
using System.Globalization;
using Recurrent.Text;
using Spectre.Console;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary><c>recurrent eval</c>: cross-entropy, perplexity and bits per character of a text under a model.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var data = new Option<string>("--data") { Description = "UTF-8 text file to score.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Parallel streams while scoring.", DefaultValueFactory = _ => 10 };
        var bptt = new Option<int>("--bptt") { Description = "Window length while scoring.", DefaultValueFactory = _ => 64 };
        var threads = CommonOptions.Threads();
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table." };
        var command = new Command("eval", "Score a text file: cross-entropy, perplexity, bits per character.") { model, data, batch, bptt, threads, json };
        command.SetAction(r => CliErrors.Run(() =>
        {
            CommonOptions.CheckThreads(r.GetValue(threads));
            int b = r.GetValue(batch), t = r.GetValue(bptt);
            if (b is < 1 or > 65536) throw new ArgumentException($"--batch is {b}; it must be between 1 and 65536.");
            if (t is < 1 or > 1_000_000) throw new ArgumentException($"--bptt is {t}; it must be between 1 and 1000000.");
            var (_, lm, vocabulary) = ModelFiles.Load(r.GetValue(model)!, r.GetValue(threads));
            string path = r.GetValue(data)!;
            string text = TextCorpus.ReadFile(path);
            int[] ids;
            try { ids = vocabulary.Encode(text); }
            catch (ArgumentException e) { throw new ArgumentException($"'{path}': {e.Message}"); }
            if (ids.Length < 2) throw new ArgumentException($"'{path}' has {ids.Length} token(s); scoring needs at least 2.");
            double nats = Trainer.Evaluate(lm, TokenStream.ForEvaluation(ids, b, t)).Loss;
            double bits = nats / Math.Log(2);
            string unit = vocabulary.Level == TokenLevel.Char ? "character" : "word";
            if (r.GetValue(json))
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new { file = path, tokens = ids.Length, level = unit, cross_entropy = nats, perplexity = Math.Exp(nats), bits_per_token = bits }));
                return 0;
            }
            var table = new Spectre.Console.Table().AddColumn("measure").AddColumn(new Spectre.Console.TableColumn("value").RightAligned());
            table.AddRow("tokens (" + unit + "s)", ids.Length.ToString(CultureInfo.InvariantCulture));
            table.AddRow("cross-entropy (nats/" + unit + ")", nats.ToString("F4", CultureInfo.InvariantCulture));
            table.AddRow("perplexity", Math.Exp(nats).ToString("F2", CultureInfo.InvariantCulture));
            table.AddRow("bits per " + unit, bits.ToString("F4", CultureInfo.InvariantCulture));
            Spectre.Console.AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
