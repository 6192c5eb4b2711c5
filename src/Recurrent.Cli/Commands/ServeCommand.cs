using System.CommandLine;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Recurrent.Cli.Serve;

namespace Recurrent.Cli.Commands;

/// <summary><c>recurrent serve MODEL</c>: a local web page to type, predict, generate and look inside a language model.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = "A checkpoint (.ckpt) or a training output directory (uses best.ckpt)." };
        var port = new Option<int>("--port", "-p") { Description = "TCP port (0 = any free port).", DefaultValueFactory = _ => 5080 };
        var host = new Option<string>("--host") { Description = "Address to listen on. The default, 127.0.0.1, is reachable from this machine only.", DefaultValueFactory = _ => "127.0.0.1" };
        var reference = new Option<string?>("--reference") { Description = "Text in which 'find units like this' looks for places where the same units fire (default: the validation text the checkpoint names, if it is still there)." };
        var command = new Command("serve", "Serve a web page to type and see the next-token predictions, stream generations, and look inside the model: hidden states, gates, units, gradients, the model card.")
        {
            model, port, host, reference,
        };
        command.SetAction(async (r, cancel) => await RunAsync(r.GetValue(model)!, r.GetValue(host)!, r.GetValue(port), r.GetValue(reference), cancel));
        return command;
    }

    private static async Task<int> RunAsync(string modelPath, string hostText, int port, string? reference, CancellationToken cancel)
    {
        ServedModel? served = null;
        IPAddress? address = null;
        int code = CliErrors.Run(() =>
        {
            if (port is < 0 or > 65535) throw new ArgumentException($"--port is {port}; it must be between 0 and 65535.");
            address = hostText == "localhost" ? IPAddress.Loopback
                : IPAddress.TryParse(hostText, out var parsed) ? parsed
                : throw new ArgumentException($"--host is '{hostText}'; give an IP address such as 127.0.0.1 (this machine only) or 0.0.0.0 (every interface).");
            served = ServedModel.Load(modelPath, reference, ServeLimits.Default);
            return 0;
        });
        if (code != 0) return code;

        var app = ServeApp.Build(served!, address!, port);
        try
        {
            await app.StartAsync(cancel);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"recurrent: error: cannot listen on {hostText}:{port}: {e.Message.Split('\n')[0]}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            return 130;
        }
        served!.WarmUp();
        var url = ServeApp.Address(app);
        var card = served.Card;
        Console.WriteLine($"recurrent serve: {card.Name} ({card.Cell} {card.Layers}x{card.HiddenSize}, {card.Parameters:N0} parameters, {card.VocabularySize} {card.VocabularyLevel}s) at {url}/");
        if (served.ReferenceSource is not null) Console.WriteLine($"reference text for 'find units': {served.ReferenceSource}, {served.ReferenceText!.Count:N0} tokens");
        else Console.WriteLine("no reference text: 'find units' compares within the typed text (give one with --reference FILE)");
        if (!IPAddress.IsLoopback(address!))
            Console.Error.WriteLine($"recurrent serve: warning: listening on {address}; anyone who can reach this address can use the model.");
        Console.WriteLine("press Ctrl-C to stop");
        Console.Out.Flush();
        // Ctrl-C reaches both System.CommandLine (cancel) and the host (its console lifetime stops the application).
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancel.Register(() => stop.TrySetResult()))
        using (app.Lifetime.ApplicationStopping.Register(() => stop.TrySetResult()))
            await stop.Task;
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
            await app.StopAsync(deadline.Token);
        await app.DisposeAsync();
        Console.WriteLine("recurrent serve: stopped");
        return 0;
    }
}
