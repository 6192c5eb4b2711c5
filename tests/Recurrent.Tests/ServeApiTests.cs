using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Recurrent.Cli.Serve;
using Recurrent.Diagnostics;
using Recurrent.Generation;
using Recurrent.Numerics;

namespace Recurrent.Tests;

/// <summary>One in-process server (ASP.NET Core's test host) on the tiny model, shared by the API tests.</summary>
public sealed class ServeApiFixture : IAsyncLifetime
{
    public ServedModel Served { get; private set; } = null!;
    public WebApplication App { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Served = ServeTestModel.Load();
        App = await ServeTestModel.StartTestServerAsync(Served);
        Client = App.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await App.DisposeAsync();
    }
}

public class ServeApiTests(ServeApiFixture fixture) : IClassFixture<ServeApiFixture>
{
    private HttpClient Client => fixture.Client;
    private ServedModel Served => fixture.Served;

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private async Task<JsonElement> PostOk(string path, object body)
    {
        var response = await Client.PostAsync(path, Json(body));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task ModelCardHasShapeVocabularyCurveAndCommand()
    {
        var card = JsonDocument.Parse(await Client.GetStringAsync("/api/model")).RootElement;
        Assert.Equal("run", card.GetProperty("name").GetString());
        Assert.Equal("best.ckpt", card.GetProperty("checkpoint").GetString());
        Assert.Equal("lstm", card.GetProperty("cell").GetString());
        Assert.Equal(2, card.GetProperty("layers").GetInt32());
        Assert.Equal(24, card.GetProperty("hidden_size").GetInt32());
        Assert.Equal(Served.Model.ParameterCount, card.GetProperty("parameters").GetInt64());
        Assert.Equal(Served.Vocabulary.Count, card.GetProperty("vocabulary_size").GetInt32());
        Assert.Equal(Served.Vocabulary.Tokens, card.GetProperty("vocabulary_tokens").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(["i", "f", "g", "o"], card.GetProperty("gate_names").EnumerateArray().Select(t => t.GetString()!));
        var curve = card.GetProperty("curve").EnumerateArray().ToList();
        Assert.Equal(File.ReadAllLines(Path.Combine(ServeTestModel.Run, "metrics.jsonl")).Length, curve.Count);
        Assert.True(curve[^1].GetProperty("valid_loss").GetDouble() < curve[0].GetProperty("valid_loss").GetDouble(), "the tiny model learns");
        Assert.True(card.GetProperty("valid_loss").GetDouble() > 0);
        Assert.Equal(ServeTestModel.RecordedCommand, card.GetProperty("command").GetString());
        Assert.True(card.GetProperty("command_recorded").GetBoolean());
        Assert.Equal(8, card.GetProperty("training").GetProperty("batch").GetInt32());
        Assert.Equal("corpus.txt", card.GetProperty("reference").GetString());
        Assert.Equal(2000, card.GetProperty("limits").GetProperty("max_text_chars").GetInt32());
    }

    [Fact]
    public async Task PageAndAssetsComeFromTheToolWithAStrictPolicy()
    {
        var page = await Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("/assets/app.js", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", ""));
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        foreach (var (name, type) in new[] { ("app.js", "text/javascript"), ("app.css", "text/css") })
        {
            var asset = await Client.GetAsync("/assets/" + name);
            Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
            Assert.Equal(type, asset.Content.Headers.ContentType!.MediaType);
            Assert.DoesNotContain("https://", await asset.Content.ReadAsStringAsync());
        }
    }

    [Theory]
    [InlineData("/best.ckpt")]
    [InlineData("/metrics.jsonl")]
    [InlineData("/assets/..%2fbest.ckpt")]
    [InlineData("/assets/..%2F..%2Frun%2Fbest.ckpt")]
    [InlineData("/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd")]
    [InlineData("/assets/../../best.ckpt")]
    [InlineData("/assets/")]
    [InlineData("/api/../best.ckpt")]
    [InlineData("/run/best.ckpt")]
    public async Task NoPathLeavesTheAssetTable(string path)
    {
        var response = await Client.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(HttpStatusCode.NotFound == response.StatusCode, $"{(int)response.StatusCode} {body}");
        Assert.Contains("\"error\"", body);
        Assert.DoesNotContain("safetensors", body);
        Assert.DoesNotContain("root:", body);
    }

    [Fact]
    public async Task NextTokensAreTheGeneratorsNextTokens()
    {
        var answer = await PostOk("/api/next", new { text = "to be or not to b", k = 5 });
        var expected = new TextGenerator(Served.Model, Served.Vocabulary).NextTokens("to be or not to b", 5);
        var got = answer.GetProperty("tokens").EnumerateArray().Select(t => (t.GetProperty("token").GetString()!, t.GetProperty("probability").GetDouble())).ToList();
        Assert.Equal(expected.Select(e => e.Token), got.Select(g => g.Item1));
        for (int i = 0; i < 5; i++) Assert.Equal(expected[i].Probability, got[i].Item2, 1e-9);
        Assert.Contains("e", got.Select(g => g.Item1));
        Assert.Equal(17, answer.GetProperty("steps").GetInt32());
        // An empty text is read as a line break, as `recurrent next` does.
        var empty = await PostOk("/api/next", new { text = "" });
        Assert.Equal(10, empty.GetProperty("tokens").GetArrayLength());
    }

    /// <summary>Reads a server-sent event stream to its end: the token texts and the done event.</summary>
    private static async Task<(List<string> Tokens, JsonElement? Done)> ReadEvents(HttpResponseMessage response)
    {
        var tokens = new List<string>();
        JsonElement? done = null;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        string? name = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var data = JsonDocument.Parse(line[6..]).RootElement;
                if (name == "token") { Assert.Equal(tokens.Count, data.GetProperty("index").GetInt32()); tokens.Add(data.GetProperty("text").GetString()!); }
                else if (name == "done") done = data;
            }
        }
        return (tokens, done);
    }

    private Task<HttpResponseMessage> StartGeneration(object body, CancellationToken cancel = default) =>
        Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/generate") { Content = Json(body) }, HttpCompletionOption.ResponseHeadersRead, cancel);

    [Fact]
    public async Task GenerationStreamsTheGeneratorsTokens()
    {
        using var response = await StartGeneration(new { text = "to be", length = 60, temperature = 0.9, top_k = 5, top_p = 0.95, seed = 11 });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var (tokens, done) = await ReadEvents(response);
        var expected = new TextGenerator(Served.Model, Served.Vocabulary).Generate("to be", 60, new Sampler(0.9f, 5, 0.95f), new Rng(11)).ToList();
        Assert.Equal(expected, tokens);
        Assert.Equal(60, done!.Value.GetProperty("tokens").GetInt32());
    }

    [Fact]
    public async Task ClosingTheStreamStopsTheGeneration()
    {
        int free = Served.GenerationSlots.CurrentCount;
        using var cancel = new CancellationTokenSource();
        var response = await StartGeneration(new { text = "to", length = 2000, seed = 1 }, cancel.Token);
        var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
        var first = new byte[16];
        Assert.True(await stream.ReadAsync(first, cancel.Token) > 0);
        cancel.Cancel();
        response.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Served.GenerationSlots.CurrentCount < free && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(free, Served.GenerationSlots.CurrentCount);
    }

    [Fact]
    public async Task GenerationsBeyondTheLimitGet429()
    {
        var served = ServeTestModel.Load(ServeLimits.Default with { MaxConcurrentGenerations = 1 });
        await using var app = await ServeTestModel.StartTestServerAsync(served);
        using var client = app.GetTestClient();
        using var cancel = new CancellationTokenSource();
        var first = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/generate") { Content = Json(new { text = "to", length = 2000 }) },
            HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var second = await client.PostAsync("/api/generate", Json(new { text = "to", length = 5 }));
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Contains("generations are running", await second.Content.ReadAsStringAsync());
        cancel.Cancel();
        first.Dispose();
    }

    [Fact]
    public async Task InspectReturnsTheInspectorsStatesGatesAndGradients()
    {
        const string text = "to be or not";
        var answer = await PostOk("/api/inspect", new { text, layer = 0 });
        var expected = new ModelInspector(Served.Model).Inspect(Served.Vocabulary.Encode(text));
        int T = text.Length, H = 24;
        Assert.Equal(T, answer.GetProperty("steps").GetInt32());
        Assert.Equal(text.Select(c => c.ToString()), answer.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal(Enumerable.Range(0, T), answer.GetProperty("offsets").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal(0, answer.GetProperty("layer").GetInt32());
        void Near(float[] want, JsonElement got)
        {
            var values = got.EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(T * H, values.Length);
            for (int i = 0; i < values.Length; i++) Assert.Equal(want[i], values[i], 1e-4);
        }
        Near(expected.Layers[0].Hidden, answer.GetProperty("hidden"));
        Near(expected.Layers[0].Cell!, answer.GetProperty("cell"));
        foreach (var gate in expected.Layers[0].Gates) Near(gate.Values, answer.GetProperty("gates").GetProperty(gate.Name));
        var surprisal = answer.GetProperty("surprisal").EnumerateArray().ToList();
        Assert.Equal(JsonValueKind.Null, surprisal[0].ValueKind);
        Assert.Equal(expected.Surprisal[5], surprisal[5].GetSingle(), 1e-3);
        var gradients = answer.GetProperty("gradients");
        var hidden = gradients.GetProperty("hidden").EnumerateArray().ToList();
        Assert.Equal(2, hidden.Count);
        Assert.Equal(expected.HiddenGradients[1].Norms[^1], hidden[1].GetProperty("norms")[T - 1].GetDouble(), 1e-9);
        Assert.Equal(expected.Saliency, gradients.GetProperty("saliency").EnumerateArray().Select(v => v.GetDouble()));
        Assert.Equal(Served.Vocabulary.TokenOf(expected.Target), answer.GetProperty("target").GetProperty("token").GetString());

        // The top layer by default; a chosen target changes the gradients, not the states.
        var top = await PostOk("/api/inspect", new { text, target = "q" });
        Assert.Equal(1, top.GetProperty("layer").GetInt32());
        Assert.Equal("q", top.GetProperty("target").GetProperty("token").GetString());
        Assert.NotEqual(gradients.GetProperty("saliency").ToString(), top.GetProperty("gradients").GetProperty("saliency").ToString());
    }

    [Fact]
    public async Task UnitsSelectiveForASpanFireAgainInTheReference()
    {
        const string text = "to be or not to be, that is the question.";
        int start = text.IndexOf("question", StringComparison.Ordinal);
        var answer = await PostOk("/api/units", new { text, start, end = start + 8, layer = 1, units = 3, min_fraction = 1.0 });
        var units = answer.GetProperty("units").EnumerateArray().ToList();
        Assert.Equal(3, units.Count);
        Assert.All(units, u => Assert.InRange(u.GetProperty("unit").GetInt32(), 0, 23));
        Assert.True(units[0].GetProperty("score").GetDouble() >= units[2].GetProperty("score").GetDouble());
        Assert.Equal("the reference text", answer.GetProperty("baseline").GetString());
        Assert.Equal(text.Length, answer.GetProperty("text_firing").GetArrayLength());
        var reference = answer.GetProperty("reference");
        Assert.Equal("corpus.txt", reference.GetProperty("source").GetString());
        var matches = reference.GetProperty("matches").EnumerateArray().ToList();
        Assert.NotEmpty(matches);
        // Each match is a run where all the units fire (its first and last steps at least; one-step gaps may join runs),
        // shown with 30 tokens of context either side, and no two contexts overlap.
        var refText = string.Concat(Served.ReferenceText!.Pieces);
        var spans = new List<(int Start, int End)>();
        foreach (var m in matches)
        {
            int s = m.GetProperty("start").GetInt32(), e = m.GetProperty("end").GetInt32(), from = m.GetProperty("context_start").GetInt32();
            Assert.Equal(Math.Max(0, s - 30), from);
            Assert.Equal(refText[from..Math.Min(refText.Length, e + 30)], string.Concat(m.GetProperty("tokens").EnumerateArray().Select(t => t.GetString())));
            var firing = m.GetProperty("firing").EnumerateArray().Select(f => f.GetSingle()).ToArray();
            Assert.Equal(1f, firing[s - from]);
            Assert.Equal(1f, firing[e - 1 - from]);
            Assert.All(spans, other => Assert.True(e + 30 <= other.Start - 30 || other.End + 30 <= s - 30, "contexts overlap"));
            spans.Add((s, e));
        }
        Assert.True(matches[0].GetProperty("score").GetDouble() >= matches[^1].GetProperty("score").GetDouble());

        var cell = await PostOk("/api/units", new { text, start, end = start + 8, state = "cell" });
        Assert.Equal("cell", cell.GetProperty("state").GetString());
    }

    public static TheoryData<string, string, string, int, string> BadRequests => new()
    {
        { "/api/next", "{}", "application/json", 400, "text is missing" },
        { "/api/next", """{"text":"to","k":0}""", "application/json", 400, "k is 0" },
        { "/api/next", """{"text":"to","k":999}""", "application/json", 400, "k is 999" },
        { "/api/next", """{"text":"to","kk":3}""", "application/json", 400, "unknown field" },
        { "/api/next", """{"text":5}""", "application/json", 400, "wrong type" },
        { "/api/next", """{"text":"to""", "application/json", 400, "malformed JSON" },
        { "/api/next", "", "application/json", 400, "empty" },
        { "/api/next", "null", "application/json", 400, "null" },
        { "/api/next", "text=to", "application/x-www-form-urlencoded", 415, "JSON" },
        { "/api/next", """{"text":"to be é"}""", "application/json", 400, "'é' (U+00E9) at position 6 is not in the model's vocabulary" },
        { "/api/next", "{\"text\":\"" + new string('t', 2001) + "\"}", "application/json", 400, "at most 2000" },
        { "/api/next", "{\"text\":\"" + new string('t', 70_000) + "\"}", "application/json", 413, "larger than 65536 bytes" },
        { "/api/generate", """{"text":"to","length":0}""", "application/json", 400, "length is 0" },
        { "/api/generate", """{"text":"to","length":5000}""", "application/json", 400, "length is 5000" },
        { "/api/generate", """{"text":"to","temperature":-1}""", "application/json", 400, "temperature" },
        { "/api/generate", """{"text":"to","top_p":0}""", "application/json", 400, "top_p" },
        { "/api/generate", """{"text":"to","top_k":1000}""", "application/json", 400, "top_k" },
        { "/api/generate", """{"text":"to","seed":-1}""", "application/json", 400, "wrong type" },
        { "/api/inspect", """{"text":"to","layer":2}""", "application/json", 400, "layer is 2" },
        { "/api/inspect", """{"text":"to","direction":1}""", "application/json", 400, "direction is 1" },
        { "/api/inspect", """{"text":"to","target":"zz"}""", "application/json", 400, "target 'zz'" },
        { "/api/inspect", "{\"text\":\"" + new string('t', 401) + "\"}", "application/json", 400, "at most 400" },
        { "/api/units", """{"text":"to be","end":2}""", "application/json", 400, "start is missing" },
        { "/api/units", """{"text":"to be","start":3,"end":3}""", "application/json", 400, "non-empty part" },
        { "/api/units", """{"text":"to be","start":3,"end":9}""", "application/json", 400, "non-empty part" },
        { "/api/units", """{"text":"to be","start":0,"end":2,"state":"gates"}""", "application/json", 400, "state is 'gates'" },
        { "/api/units", """{"text":"to be","start":0,"end":2,"units":0}""", "application/json", 400, "units is 0" },
        { "/api/units", """{"text":"to be","start":0,"end":2,"min_fraction":2}""", "application/json", 400, "min_fraction" },
        { "/api/nothing", "{}", "application/json", 404, "Nothing here" },
        { "/api/model", "{}", "application/json", 405, "POST is not allowed" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadRequestsGetA4xxWithAMessageAndNoStackTrace(string path, string body, string type, int status, string fragment)
    {
        var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        var response = await Client.PostAsync(path, content);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{path} {body[..Math.Min(60, body.Length)]}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
        Assert.Contains(fragment, error);
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Exception", text);
        Assert.DoesNotContain("System.", text);
    }

    [Fact]
    public async Task WrongMethodsAndForeignHostsAreRefused()
    {
        var get = await Client.GetAsync("/api/next");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Contains("GET is not allowed", await get.Content.ReadAsStringAsync());
        var foreign = new HttpRequestMessage(HttpMethod.Get, "/api/model");
        foreign.Headers.Host = "attacker.example";
        var refused = await Client.SendAsync(foreign);
        string why = await refused.Content.ReadAsStringAsync();
        Assert.True(HttpStatusCode.BadRequest == refused.StatusCode, why);
        Assert.Contains("host names", why);
    }

    [Fact]
    public async Task TwoTabsAtOnceGetWhatEachGetsAlone()
    {
        // Each "tab" sends its own texts; run every request alone first, then all of them at once, twice over.
        string[] texts = ["to be or not", "whether tis nobler", "the slings and arrows", "or to take arms", "a sea of troubles", "that is the question"];
        var requests = new List<(string Path, object Body)>();
        foreach (var t in texts)
        {
            requests.Add(("/api/next", new { text = t, k = 8 }));
            requests.Add(("/api/inspect", new { text = t, layer = 0 }));
            requests.Add(("/api/units", new { text = t, start = 1, end = 4 }));
            requests.Add(("/api/generate", new { text = t, length = 40, seed = 3 }));
        }
        async Task<string> Send((string Path, object Body) r)
        {
            using var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, r.Path) { Content = Json(r.Body) }, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsStringAsync();
        }
        static string Stable(string body) => body.Contains("event: done") ? body[..body.IndexOf("event: done", StringComparison.Ordinal)] : body;
        var alone = new List<string>();
        foreach (var r in requests) alone.Add(Stable(await Send(r)));
        var together = await Task.WhenAll(requests.Concat(requests).Select(r => Task.Run(() => Send(r))));
        for (int i = 0; i < together.Length; i++) Assert.Equal(alone[i % requests.Count], Stable(together[i]));
    }
}

/// <summary>The API on other kinds of language model: a word-level GRU and a character-level vanilla RNN (untrained, no files, no reference text).</summary>
public class ServeOtherModelsTests
{
    private static async Task<(WebApplication App, HttpClient Client)> Start(Recurrent.Models.SequenceModel model, Recurrent.Text.Vocabulary vocabulary)
    {
        var served = new ServedModel(model, vocabulary, ModelCard.Create("test", model, vocabulary), ServeLimits.Default);
        var app = await ServeTestModel.StartTestServerAsync(served);
        return (app, app.GetTestClient());
    }

    private static async Task<JsonElement> Post(HttpClient client, string path, object body)
    {
        var response = await client.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task AWordLevelGruShowsWordsAndItsGates()
    {
        var vocabulary = Recurrent.Text.WordVocabulary.Build(Recurrent.Text.WordVocabulary.Tokenize("the cat sat on the mat\nthe dog sat\n"));
        var model = new Recurrent.Models.SequenceModel(Recurrent.Models.SequenceModelConfig.LanguageModel(Recurrent.Layers.CellType.Gru, vocabulary.Count, 4, 6), new Rng(2));
        var (app, client) = await Start(model, vocabulary);
        await using var _ = app;
        const string text = "the  cat sat\non a mat";
        var inspect = await Post(client, "/api/inspect", new { text });
        Assert.Equal(["the", "cat", "sat", "on", "a", "mat"], inspect.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal([0, 5, 9, 13, 16, 18], inspect.GetProperty("offsets").EnumerateArray().Select(t => t.GetInt32()));
        Assert.Equal(["r", "z", "n"], inspect.GetProperty("gates").EnumerateObject().Select(g => g.Name));
        Assert.Equal(JsonValueKind.Null, inspect.GetProperty("cell").ValueKind);
        var units = await Post(client, "/api/units", new { text, start = 1, end = 3, units = 2 });
        Assert.Equal("the rest of the text", units.GetProperty("baseline").GetString());
        Assert.Equal(JsonValueKind.Null, units.GetProperty("reference").ValueKind);
        var next = await Post(client, "/api/next", new { text = "the dog", k = 3 });
        Assert.Equal(3, next.GetProperty("tokens").GetArrayLength());
        var refused = await client.PostAsync("/api/units", new StringContent("""{"text":"the cat","start":0,"end":2,"state":"cell"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("needs an LSTM", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AVanillaRnnShowsItsPreActivation()
    {
        var vocabulary = Recurrent.Text.CharVocabulary.Build("abc ");
        var model = new Recurrent.Models.SequenceModel(Recurrent.Models.SequenceModelConfig.LanguageModel(Recurrent.Layers.CellType.RnnTanh, vocabulary.Count, 3, 5, layers: 2), new Rng(4));
        var (app, client) = await Start(model, vocabulary);
        await using var _ = app;
        var inspect = await Post(client, "/api/inspect", new { text = "abc cab", layer = 0 });
        Assert.Equal(["a"], inspect.GetProperty("gates").EnumerateObject().Select(g => g.Name));
        Assert.Equal("rnn", inspect.GetProperty("cell_type").GetString());
        Assert.Equal(2, inspect.GetProperty("gradients").GetProperty("hidden").GetArrayLength());
        var card = JsonDocument.Parse(await client.GetStringAsync("/api/model")).RootElement;
        Assert.Equal(JsonValueKind.Null, card.GetProperty("command").ValueKind);
        Assert.Empty(card.GetProperty("curve").EnumerateArray());
    }
}
