using System.CommandLine;
using Recurrent.Generation;
using Recurrent.Numerics;

namespace Recurrent.Cli.Commands;

/// <summary><c>recurrent sample</c>: generate text from a trained model, streamed as it is produced.</summary>
public static class SampleCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var prime = new Option<string>("--prime") { Description = "Text to start from (read by the model before sampling).", DefaultValueFactory = _ => "" };
        var length = new Option<int>("--length", "-n") { Description = "Number of tokens to generate.", DefaultValueFactory = _ => 500 };
        var temperature = new Option<float>("--temperature", "-t") { Description = "Softmax temperature; lower is more conservative, 0 is greedy.", DefaultValueFactory = _ => 0.8f };
        var topK = new Option<int>("--top-k") { Description = "Sample only among the k most likely tokens (0 = off).", DefaultValueFactory = _ => 0 };
        var topP = new Option<float>("--top-p") { Description = "Sample only within the smallest set of tokens whose probability reaches p (1 = off).", DefaultValueFactory = _ => 1f };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var command = new Command("sample", "Generate text from a trained model.") { model, prime, length, temperature, topK, topP, seed, threads };
        command.SetAction(r => CliErrors.Run(() =>
        {
            int n = r.GetValue(length);
            if (n is < 0 or > 10_000_000) throw new ArgumentException($"--length is {n}; it must be between 0 and 10000000.");
            float tau = r.GetValue(temperature);
            if (!(tau >= 0 && float.IsFinite(tau))) throw new ArgumentException($"--temperature is {tau}; it must be a number ≥ 0.");
            int k = r.GetValue(topK);
            if (k < 0) throw new ArgumentException($"--top-k is {k}; it must be ≥ 0 (0 = off).");
            float p = r.GetValue(topP);
            if (!(p > 0 && p <= 1)) throw new ArgumentException($"--top-p is {p}; it must be in (0, 1].");
            CommonOptions.CheckThreads(r.GetValue(threads));
            var generator = ModelFiles.Generator(r.GetValue(model)!, r.GetValue(threads));
            string primeText = r.GetValue(prime) ?? "";
            var sampler = new Sampler(tau, k, p);
            var rng = new Rng(r.GetValue(seed));
            var tokens = generator.Generate(primeText, n, sampler, rng);
            var stdout = Console.Out;
            stdout.Write(primeText);
            if (generator.Vocabulary is Text.WordVocabulary && primeText.Length > 0 && !primeText.EndsWith(' ')) stdout.Write(' ');
            foreach (var piece in tokens) { stdout.Write(piece); stdout.Flush(); }
            stdout.WriteLine();
            return 0;
        }));
        return command;
    }
}
