using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Recurrent.Diagnostics;
using Recurrent.Generation;
using Recurrent.Models;
using Recurrent.Numerics;

namespace Recurrent.Cli.Serve;

public sealed record NextRequest(string? Text, int? K);
public sealed record GenerateRequest(string? Text, int? Length, float? Temperature, int? TopK, float? TopP, ulong? Seed);
public sealed record InspectRequest(string? Text, int? Layer, int? Direction, string? Target);
public sealed record UnitsRequest(string? Text, int? Start, int? End, int? Layer, int? Direction, string? State, int? Units, double? MinFraction);

/// <summary>
/// The JSON API of <c>recurrent serve</c> (every body is JSON, names in snake_case):
/// <list type="bullet">
/// <item><c>GET /api/model</c>: the model card.</item>
/// <item><c>POST /api/next</c> {text, k}: the k most likely next tokens.</item>
/// <item><c>POST /api/generate</c> {text, length, temperature, top_k, top_p, seed}: a continuation as
/// server-sent events (<c>token</c> events, then <c>done</c>); closing the connection stops it.</item>
/// <item><c>POST /api/inspect</c> {text, layer, direction, target}: one layer's hidden states, gates
/// and cell state per step, the surprisal of each token, and the gradient of the next prediction
/// through time (‖dL/dh_t‖ per layer) and onto each input (‖∂ log p/∂x_t‖).</item>
/// <item><c>POST /api/units</c> {text, start, end, layer, direction, state, units, min_fraction}:
/// the units that fire selectively on tokens [start, end) and the places in the reference text
/// where they fire together.</item>
/// </list>
/// </summary>
public static class ServeApi
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.Strict,
        // Answers are application/json, never HTML, so quotes and non-ASCII letters can stay readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Map(IEndpointRouteBuilder app, ServedModel served)
    {
        app.MapGet("/api/model", () => Results.Json(served.Card, Json));
        app.MapPost("/api/next", Handler(ctx => Next(ctx, served)));
        app.MapPost("/api/generate", (HttpContext ctx) => Generate(ctx, served));
        app.MapPost("/api/inspect", Handler(ctx => Inspect(ctx, served)));
        app.MapPost("/api/units", Handler(ctx => Units(ctx, served)));
    }

    /// <summary>A handler whose result is written to the response (a bare HttpContext → Task would be taken for a RequestDelegate).</summary>
    private static Delegate Handler(Func<HttpContext, Task<IResult>> handle) => handle;

    private static async Task<IResult> Next(HttpContext ctx, ServedModel served)
    {
        var request = await ReadJsonAsync<NextRequest>(ctx, served.Limits);
        var text = CheckText(request.Text, served.Limits.MaxTextChars, "text");
        int k = request.K ?? 10;
        int maxK = Math.Min(served.Limits.MaxTopK, served.Vocabulary.Count);
        if (k < 1 || k > maxK) throw new ApiException(400, $"k is {k}; it must be between 1 and {maxK}.");
        var tokens = TokenizedText.Of(served.Vocabulary, text);
        var stepper = new LanguageModelStepper(served.Model);
        var logits = stepper.Prime(tokens.Ids);
        var top = Sampler.TopTokens(logits, k).Select(t => new { token = served.Vocabulary.TokenOf(t.Id), probability = t.Probability });
        return Results.Json(new { tokens = top, steps = tokens.Count }, Json);
    }

    /// <summary>Streams a continuation, token by token, until done, the client goes away or the server stops.</summary>
    private static async Task Generate(HttpContext ctx, ServedModel served)
    {
        var limits = served.Limits;
        var request = await ReadJsonAsync<GenerateRequest>(ctx, limits);
        var text = CheckText(request.Text, limits.MaxTextChars, "text");
        int length = request.Length ?? 200;
        if (length < 1 || length > limits.MaxGenerateTokens) throw new ApiException(400, $"length is {length}; it must be between 1 and {limits.MaxGenerateTokens}.");
        float temperature = request.Temperature ?? 0.8f;
        if (!(temperature >= 0 && temperature <= 10)) throw new ApiException(400, $"temperature is {temperature}; it must be between 0 (greedy) and 10.");
        int topK = request.TopK ?? 0;
        if (topK < 0 || topK > served.Vocabulary.Count) throw new ApiException(400, $"top_k is {topK}; it must be between 0 (off) and {served.Vocabulary.Count}.");
        float topP = request.TopP ?? 1f;
        if (!(topP > 0 && topP <= 1)) throw new ApiException(400, $"top_p is {topP}; it must be in (0, 1].");
        var tokens = TokenizedText.Of(served.Vocabulary, text);
        if (!served.GenerationSlots.Wait(0))
            throw new ApiException(429, $"{limits.MaxConcurrentGenerations} generations are running already; try again when one ends.");
        try
        {
            var stopping = ctx.RequestServices.GetService(typeof(Microsoft.Extensions.Hosting.IHostApplicationLifetime)) is Microsoft.Extensions.Hosting.IHostApplicationLifetime lifetime
                ? lifetime.ApplicationStopping : CancellationToken.None;
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
            var token = cancel.Token;
            ctx.Response.ContentType = "text/event-stream; charset=utf-8";
            ctx.Response.Headers.CacheControl = "no-cache";
            ctx.Response.Headers["X-Accel-Buffering"] = "no";
            var clock = Stopwatch.StartNew();
            var stepper = new LanguageModelStepper(served.Model);
            stepper.Prime(tokens.Ids);
            var sampler = new Sampler(temperature, topK, topP);
            var rng = new Rng(request.Seed ?? 1);
            int sent = 0;
            try
            {
                for (int i = 0; i < length; i++)
                {
                    token.ThrowIfCancellationRequested();
                    int next = sampler.Sample(stepper.Logits.Span, rng);
                    await WriteEventAsync(ctx, "token", new { index = i, text = served.Vocabulary.Render(next) }, token);
                    sent++;
                    if (i + 1 < length) stepper.Step(next);
                    if (limits.TokenInterval > TimeSpan.Zero) await Task.Delay(limits.TokenInterval, token);
                }
                await WriteEventAsync(ctx, "done", new { tokens = sent, seconds = clock.Elapsed.TotalSeconds }, token);
            }
            catch (OperationCanceledException)
            {
                // The tab closed the stream or the server is stopping: nothing more to send.
            }
        }
        finally
        {
            served.GenerationSlots.Release();
        }
    }

    private static async Task WriteEventAsync(HttpContext ctx, string name, object data, CancellationToken cancel)
    {
        var payload = $"event: {name}\ndata: {JsonSerializer.Serialize(data, Json)}\n\n";
        await ctx.Response.WriteAsync(payload, Encoding.UTF8, cancel);
        await ctx.Response.Body.FlushAsync(cancel);
    }

    private static async Task<IResult> Inspect(HttpContext ctx, ServedModel served)
    {
        var request = await ReadJsonAsync<InspectRequest>(ctx, served.Limits);
        var tokens = InspectText(request.Text, served);
        var config = served.Model.Config;
        int layer = CheckLayer(request.Layer, request.Direction, config, out int direction);
        int? target = null;
        if (request.Target is { } t)
            target = served.Vocabulary.TryGetId(t, out int id) ? id : throw new ApiException(400, $"target '{t}' is not a token of the model's vocabulary.");
        TextInspection result;
        using (var lease = await served.RentInspectorAsync(ctx.RequestAborted))
            result = lease.Inspector.Inspect(tokens.Ids, target);
        var trace = result.Layers[layer * config.Directions + direction];
        var next = Sampler.TopTokens(result.NextLogProbabilities, Math.Min(10, served.Vocabulary.Count));
        return Results.Json(new
        {
            tokens = tokens.Pieces,
            offsets = tokens.Offsets,
            steps = result.Steps,
            layer,
            direction,
            layers = config.Layers,
            directions = config.Directions,
            units = trace.Units,
            cell_type = ModelCard.CellName(config.Cell),
            hidden = Round(trace.Hidden),
            cell = trace.Cell is null ? null : Round(trace.Cell),
            gates = trace.Gates.ToDictionary(g => g.Name, g => Round(g.Values)),
            surprisal = result.Surprisal.Select(s => float.IsFinite(s) ? (float?)MathF.Round(s, 4) : null),
            next = next.Select(n => new { token = served.Vocabulary.TokenOf(n.Id), probability = Math.Exp(result.NextLogProbabilities[n.Id]) }),
            target = new { token = served.Vocabulary.TokenOf(result.Target), probability = Math.Exp(result.TargetLogProbability) },
            gradients = new
            {
                hidden = result.HiddenGradients.Select(g => new { layer = g.Layer, direction = g.Direction, norms = g.Norms.Select(Finite) }),
                saliency = result.Saliency.Select(Finite),
            },
        }, Json);
    }

    private static async Task<IResult> Units(HttpContext ctx, ServedModel served)
    {
        var limits = served.Limits;
        var request = await ReadJsonAsync<UnitsRequest>(ctx, limits);
        var tokens = InspectText(request.Text, served);
        var config = served.Model.Config;
        int layer = CheckLayer(request.Layer, request.Direction, config, out int direction);
        int k = layer * config.Directions + direction;
        bool cell = (request.State ?? "hidden") switch
        {
            "hidden" => false,
            "cell" when config.Cell == Layers.CellType.Lstm => true,
            "cell" => throw new ApiException(400, "state 'cell' needs an LSTM; this model's cell has only a hidden state."),
            var other => throw new ApiException(400, $"state is '{other}'; it must be 'hidden' or 'cell'."),
        };
        int start = request.Start ?? throw new ApiException(400, "start is missing: the first token of the selected span."),
            end = request.End ?? throw new ApiException(400, "end is missing: the token after the selected span.");
        if (start < 0 || end > tokens.Count || start >= end)
            throw new ApiException(400, $"The span [{start}, {end}) must be a non-empty part of the text's {tokens.Count} tokens.");
        int count = request.Units ?? 5;
        if (count < 1 || count > Math.Min(limits.MaxUnits, config.HiddenSize)) throw new ApiException(400, $"units is {count}; it must be between 1 and {Math.Min(limits.MaxUnits, config.HiddenSize)}.");
        double minFraction = request.MinFraction ?? 1.0;
        if (!(minFraction > 0 && minFraction <= 1)) throw new ApiException(400, $"min_fraction is {minFraction}; it must be in (0, 1].");

        LayerTrace trace;
        using (var lease = await served.RentInspectorAsync(ctx.RequestAborted))
            trace = lease.Inspector.Inspect(tokens.Ids, gradients: false).Layers[k];
        var states = cell ? trace.Cell! : trace.Hidden;
        var referenceTask = served.ReferenceStatesAsync();
        var reference = referenceTask is null ? null : await referenceTask.WaitAsync(ctx.RequestAborted);
        if (reference is null && end - start == tokens.Count)
            throw new ApiException(400, "The span covers the whole text and there is no reference text to compare with; select a part of the text.");
        var units = UnitSearch.Rank(states, trace.Units, start, end, count, reference?.Baseline(k, cell));
        var textFiring = UnitSearch.FiringFraction(states, trace.Units, units);

        object? matches = null;
        if (reference is not null)
        {
            var refStates = reference.States(k, cell);
            var firing = UnitSearch.FiringFraction(refStates, trace.Units, units);
            var pieces = served.ReferenceText!.Pieces;
            const int context = 30;
            // The best matches whose contexts do not overlap a better one's.
            var found = new List<UnitMatch>();
            foreach (var m in UnitSearch.FindMatches(refStates, trace.Units, units, end - start, 4 * limits.MaxMatches, minFraction))
            {
                if (found.Count == limits.MaxMatches) break;
                if (found.All(f => m.End + context <= f.Start - context || f.End + context <= m.Start - context)) found.Add(m);
            }
            matches = found.Select(m =>
            {
                int from = Math.Max(0, m.Start - context), to = Math.Min(pieces.Length, m.End + context);
                return new
                {
                    start = m.Start, end = m.End, score = Math.Round(m.Score, 4), context_start = from,
                    tokens = pieces[from..to], firing = firing[from..to].Select(f => MathF.Round(f, 3)),
                };
            }).ToList();
        }
        return Results.Json(new
        {
            layer, direction, state = cell ? "cell" : "hidden", start, end,
            baseline = reference is null ? "the rest of the text" : "the reference text",
            units = units.Select(u => new { unit = u.Unit, score = Math.Round(u.Score, 4), sign = u.Sign, span_mean = u.SpanMean, baseline_mean = u.BaselineMean, threshold = u.Threshold }),
            text_firing = textFiring.Select(f => MathF.Round(f, 3)),
            reference = reference is null ? null : new { source = served.ReferenceSource, tokens = served.ReferenceText!.Count, min_fraction = minFraction, matches },
        }, Json);
    }

    private static TokenizedText InspectText(string? text, ServedModel served)
    {
        var limits = served.Limits;
        var checkedText = CheckText(text, limits.MaxTextChars, "text");
        var tokens = TokenizedText.Of(served.Vocabulary, checkedText);
        if (tokens.Count > limits.MaxInspectTokens)
            throw new ApiException(400, $"The text has {tokens.Count} tokens; the look-inside views read at most {limits.MaxInspectTokens}.");
        return tokens;
    }

    private static int CheckLayer(int? layer, int? direction, SequenceModelConfig config, out int d)
    {
        int l = layer ?? config.Layers - 1;
        if (l < 0 || l >= config.Layers) throw new ApiException(400, $"layer is {l}; this model has layers 0..{config.Layers - 1}.");
        d = direction ?? 0;
        if (d < 0 || d >= config.Directions) throw new ApiException(400, $"direction is {d}; this model has {config.Directions} direction(s).");
        return l;
    }

    private static string CheckText(string? text, int max, string name)
    {
        if (text is null) throw new ApiException(400, $"{name} is missing: send {{\"{name}\": \"...\"}}.");
        if (text.Length > max) throw new ApiException(400, $"{name} has {text.Length} characters; at most {max} are allowed.");
        return text;
    }

    /// <summary>Four decimals are plenty for a picture and keep the JSON small.</summary>
    private static float[] Round(float[] values)
    {
        var r = new float[values.Length];
        for (int i = 0; i < r.Length; i++) r[i] = float.IsFinite(values[i]) ? MathF.Round(values[i], 4) : 0f;
        return r;
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    /// <summary>Reads a JSON body of at most <see cref="ServeLimits.MaxRequestBytes"/>: 415 for another content type, 413 when larger, 400 when it does not parse.</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpContext ctx, ServeLimits limits) where T : class
    {
        var request = ctx.Request;
        if (!request.HasJsonContentType()) throw new ApiException(415, "Send the request body as JSON (Content-Type: application/json).");
        if (request.ContentLength > limits.MaxRequestBytes) throw new ApiException(413, $"The request body is larger than {limits.MaxRequestBytes} bytes.");
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limits.MaxRequestBytes) throw new ApiException(413, $"The request body is larger than {limits.MaxRequestBytes} bytes.");
                buffer.Write(chunk, 0, read);
            }
        }
        catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == 413)
        {
            throw new ApiException(413, $"The request body is larger than {limits.MaxRequestBytes} bytes.");
        }
        if (buffer.Length == 0) throw new ApiException(400, "The request body is empty; send a JSON object.");
        try
        {
            return JsonSerializer.Deserialize<T>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Json)
                ?? throw new ApiException(400, "The request body is null; send a JSON object.");
        }
        catch (JsonException e)
        {
            string where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "" : $" at {e.Path}";
            string why = e.Message.Contains("could not be mapped", StringComparison.Ordinal) ? "an unknown field"
                : e.Message.Contains("could not be converted", StringComparison.Ordinal) ? "a value of the wrong type"
                : "malformed JSON";
            throw new ApiException(400, $"The request body has {why}{where}.");
        }
    }
}
