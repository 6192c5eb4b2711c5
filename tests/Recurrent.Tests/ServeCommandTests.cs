using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Recurrent.Tests;

/// <summary>`recurrent serve` as a process: it prints its address, answers, and stops cleanly on Ctrl-C (SIGINT).</summary>
public class ServeCommandTests
{
    [Fact]
    public async Task ServesAndStopsCleanlyOnCtrlC()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;   // SIGINT is sent with kill(1)
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Recurrent.Cli.dll"));
        foreach (var a in new[] { "serve", ServeTestModel.Run, "--port", "0", "--reference", ServeTestModel.Reference }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            string? url = null;
            var lines = new List<string>();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (url is null && DateTime.UtcNow < deadline && await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lines.Add(line);
                if (Regex.Match(line, @" at (http://127\.0\.0\.1:\d+)/") is { Success: true } m) url = m.Groups[1].Value;
            }
            if (url is null) Assert.Fail("no address printed: " + string.Join("\n", lines) + await stderr);   // stderr ends only when the process does
            using var client = new HttpClient { BaseAddress = new Uri(url!) };
            Assert.Contains("\"cell\":\"lstm\"", await client.GetStringAsync("/api/model"));
            // A page on another host name is refused (DNS rebinding), through the real server too.
            var foreign = new HttpRequestMessage(HttpMethod.Get, "/api/model");
            foreign.Headers.Host = "attacker.example";
            Assert.Equal(HttpStatusCode.BadRequest, (await client.SendAsync(foreign)).StatusCode);

            // Ctrl-C while a generation streams: the stream ends and the process exits 0.
            var generation = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/generate")
            {
                Content = new StringContent("""{"text":"to be","length":2000}""", System.Text.Encoding.UTF8, "application/json"),
            }, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, generation.StatusCode);
            using (Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) { }
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(15)), "the server did not stop within 15 s of SIGINT");
            string rest = await process.StandardOutput.ReadToEndAsync();
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("recurrent serve: stopped", rest);
            Assert.DoesNotContain("   at ", await stderr);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void UserErrorsAreOneLine()
    {
        Cli.AssertOneLineError(Cli.Run("serve", "no/such/run"), "no/such/run", "does not exist");
        Cli.AssertOneLineError(Cli.Run("serve", ServeTestModel.Run, "--host", "my-laptop"), "--host is 'my-laptop'");
        Cli.AssertOneLineError(Cli.Run("serve", ServeTestModel.Run, "--port", "70000"), "--port is 70000");
        Cli.AssertOneLineError(Cli.Run("serve", ServeTestModel.Run, "--reference", "no/such/text.txt"), "no/such/text.txt");
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        int port = ((IPEndPoint)busy.LocalEndpoint).Port;
        Cli.AssertOneLineError(Cli.Run("serve", ServeTestModel.Run, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)), "cannot listen", $"{port}");
    }
}
