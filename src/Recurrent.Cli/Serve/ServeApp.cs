using System.Net;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Recurrent.Cli.Serve;

/// <summary>
/// The page's files, embedded in the tool (src/Recurrent.Cli/Serve/wwwroot): served by name from a
/// fixed table, so no request can name a file outside it.
/// </summary>
public static class StaticAssets
{
    private static readonly Lazy<IReadOnlyDictionary<string, (byte[] Content, string Type)>> Files = new(Load);

    public static IReadOnlyDictionary<string, (byte[] Content, string Type)> All => Files.Value;

    private static Dictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(StaticAssets).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            string file = name["wwwroot/".Length..];
            files[file] = (copy.ToArray(), ContentType(file));
        }
        return files;
    }

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "text/plain; charset=utf-8",
    };
}

/// <summary>
/// Builds the web application of <c>recurrent serve</c>: Kestrel on one address (loopback by
/// default), the page, the JSON API (<see cref="ServeApi"/>), and the guards around them: host
/// checks on loopback (no DNS rebinding), request size limits, JSON errors with a message and
/// no stack trace for every 4xx and 5xx, a content security policy that lets the page load
/// nothing from elsewhere.
/// </summary>
public static class ServeApp
{
    private static readonly string[] LoopbackHosts = ["localhost", "127.0.0.1", "[::1]"];

    public static WebApplication Build(ServedModel served, IPAddress host, int port, Action<IWebHostBuilder>? configure = null, TextWriter? log = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.Logging.ClearProviders();
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = served.Limits.MaxRequestBytes;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Listen(host, port);
        });
        // Host names are checked below, with a JSON answer; the framework's own filter lets every name through to that check.
        builder.Services.Configure<HostFilteringOptions>(o => o.AllowedHosts = ["*"]);
        configure?.Invoke(builder.WebHost);

        var app = builder.Build();
        var errors = log ?? Console.Error;
        bool loopbackOnly = IPAddress.IsLoopback(host);
        app.Use(async (ctx, next) =>
        {
            var headers = ctx.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";
            try
            {
                // On loopback, a page elsewhere cannot reach this server by pointing its own host name at 127.0.0.1 (DNS rebinding).
                if (loopbackOnly && !LoopbackHosts.Contains(ctx.Request.Host.Host))
                    throw new ApiException(400, $"This server answers only to the host names {string.Join(", ", LoopbackHosts)}.");
                await next(ctx);
            }
            catch (ApiException e)
            {
                await WriteErrorAsync(ctx, e.Status, e.Message);
            }
            catch (BadHttpRequestException e)
            {
                await WriteErrorAsync(ctx, e.StatusCode, e.StatusCode == 413 ? $"The request body is larger than {served.Limits.MaxRequestBytes} bytes." : "Bad request.");
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                // The client went away.
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                string message = e is ArgumentException a && a.ParamName is { } p ? a.Message.Split('\n')[0].Replace($" (Parameter '{p}')", "") : e.Message;
                await WriteErrorAsync(ctx, 400, message);
            }
            catch (Exception e)
            {
                errors.WriteLine($"recurrent serve: internal error on {ctx.Request.Method} {ctx.Request.Path}: {e.GetType().Name}: {e.Message}");
                await WriteErrorAsync(ctx, 500, "Internal error; the server's log has the details.");
            }
        });
        app.UseStatusCodePages(async status =>
        {
            var ctx = status.HttpContext;
            string message = ctx.Response.StatusCode switch
            {
                404 => $"Nothing here: {ctx.Request.Path}.",
                405 => $"{ctx.Request.Method} is not allowed on {ctx.Request.Path}.",
                _ => ReasonPhrases.GetReasonPhrase(ctx.Response.StatusCode),
            };
            await WriteErrorAsync(ctx, ctx.Response.StatusCode, message);
        });

        var assets = StaticAssets.All;
        app.MapGet("/", (HttpContext ctx) => Asset(ctx, assets, "index.html"));
        app.MapGet("/assets/{name}", (HttpContext ctx, string name) => Asset(ctx, assets, name));
        ServeApi.Map(app, served);
        return app;
    }

    /// <summary>The address a started application listens on, e.g. http://127.0.0.1:5080.</summary>
    public static string Address(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();

    private static IResult Asset(HttpContext ctx, IReadOnlyDictionary<string, (byte[] Content, string Type)> assets, string name)
    {
        if (!assets.TryGetValue(name, out var file)) throw new ApiException(404, $"Nothing here: {ctx.Request.Path}.");
        ctx.Response.Headers.CacheControl = "no-cache";
        return Results.Bytes(file.Content, file.Type);
    }

    public static async Task WriteErrorAsync(HttpContext ctx, int status, string message)
    {
        if (ctx.Response.HasStarted) return;
        ctx.Response.Clear();
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.WriteAsync(JsonSerializer.Serialize(new { error = message, status }, ServeApi.Json));
    }
}
