using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using Recurrent.Cli.Serve;

namespace Recurrent.Tests;

/// <summary>
/// Where the browser tests find Chromium: $RECURRENT_CHROMIUM, else Debian's /usr/bin/chromium.
/// Without it they are skipped with a message that says how to install it, except under CI
/// (CI=true), where they run and fail: .ci/run installs Chromium so that they always run there.
/// </summary>
public static class Chromium
{
    public static string Path => Environment.GetEnvironmentVariable("RECURRENT_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? SkipReason => File.Exists(Path) || InCi ? null
        : $"Chromium not found at {Path}: install it (Debian/Ubuntu: apt-get install -y chromium) or set RECURRENT_CHROMIUM to its path to run the browser tests.";
}

/// <summary>A fact that needs Chromium (see <see cref="Chromium"/>).</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (Chromium.SkipReason is { } reason) Skip = reason;
    }
}

/// <summary>
/// A real server (Kestrel on 127.0.0.1, a free port) on the tiny model and one headless Chromium
/// driven by Playwright. RECURRENT_SERVE_MODEL (and RECURRENT_SERVE_REFERENCE) serve another
/// model instead, e.g. the tiny-Shakespeare run for the screenshots in docs/. Tokens are streamed at
/// most one per 4 ms, so that a generation can be stopped halfway. Screenshots go to
/// RECURRENT_SCREENSHOTS, else to screenshots/ beside the test binaries.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private WebApplication? _app;
    private IPlaywright? _playwright;
    public IBrowser Browser { get; private set; } = null!;
    public string Url { get; private set; } = "";
    public string Screenshots { get; } = Environment.GetEnvironmentVariable("RECURRENT_SCREENSHOTS") is { Length: > 0 } dir
        ? System.IO.Path.GetFullPath(dir) : System.IO.Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        if (Chromium.SkipReason is not null) return;
        if (!File.Exists(Chromium.Path))
            throw new FileNotFoundException($"CI=true and Chromium is not at {Chromium.Path}: the browser tests must run in CI (.ci/run installs it with apt-get install -y chromium).");
        var model = Environment.GetEnvironmentVariable("RECURRENT_SERVE_MODEL");
        var served = model is { Length: > 0 }
            ? ServedModel.Load(model, Environment.GetEnvironmentVariable("RECURRENT_SERVE_REFERENCE"), ServeLimits.Default with { TokenInterval = TimeSpan.FromMilliseconds(4) })
            : ServeTestModel.Load(ServeLimits.Default with { TokenInterval = TimeSpan.FromMilliseconds(4) });
        _app = ServeApp.Build(served, IPAddress.Loopback, 0);
        await _app.StartAsync();
        Url = ServeApp.Address(_app);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium.Path, Headless = true });
        Directory.CreateDirectory(Screenshots);
    }

    public async Task<IPage> OpenAsync()
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1500, Height = 1000 } });
        page.SetDefaultTimeout(15_000);
        await page.GotoAsync(Url);
        await page.WaitForSelectorAsync("body[data-ready=true]");
        return page;
    }

    public Task ShotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = System.IO.Path.Combine(Screenshots, name), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        if (_app is not null) await _app.DisposeAsync();
    }
}

/// <summary>The page in a real browser: type, predict, generate, look inside.</summary>
public class ServeBrowserTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private const string Text = "HAMLET:\nto be or not to be, that is the question:\nwhether tis nobler in the mind to suffer";

    private static async Task TypeAsync(IPage page, string text)
    {
        await page.FillAsync("#text", "");
        await page.FillAsync("#text", text);
    }

    private static Task<string> TopKAsync(IPage page) => page.InnerTextAsync("#topk");

    [BrowserFact]
    public async Task TypingUpdatesTheTopKList()
    {
        var page = await fixture.OpenAsync();
        await TypeAsync(page, "to be or not to b");
        await page.WaitForFunctionAsync("() => document.querySelector('#topk').dataset.context === 'to be or not to b'");
        var first = await TopKAsync(page);
        Assert.Equal(10, await page.Locator("#topk li").CountAsync());
        await page.FocusAsync("#text");
        await page.Keyboard.TypeAsync("e");
        await page.WaitForFunctionAsync("() => document.querySelector('#topk').dataset.context === 'to be or not to be'");
        var second = await TopKAsync(page);
        Assert.NotEqual(first, second);
        // Clicking a candidate adds it to the text.
        string token = await page.Locator("#topk li .tok").First.InnerTextAsync();
        await page.Locator("#topk li").First.ClickAsync();
        string added = token switch { "␣" => " ", "⏎" => "\n", _ => token };
        Assert.Equal("to be or not to be" + added, await page.InputValueAsync("#text"));
        await fixture.ShotAsync(page, "serve-type.png");
    }

    [BrowserFact]
    public async Task GenerationStreamsAndStops()
    {
        var page = await fixture.OpenAsync();
        await TypeAsync(page, "to be");
        await page.FillAsync("#gen-length", "2000");
        await page.ClickAsync("#generate");
        await page.WaitForFunctionAsync("() => document.querySelector('#output').textContent.length > 'to be'.length + 20");
        Assert.Equal("streaming", await page.GetAttributeAsync("#output", "data-state"));
        await page.ClickAsync("#stop");
        await page.WaitForFunctionAsync("() => document.querySelector('#output').dataset.state === 'stopped'");
        int stoppedAt = (await page.InnerTextAsync("#output")).Length;
        Assert.True(stoppedAt < "to be".Length + 2000, "the stream stopped early");

        await page.FillAsync("#gen-length", "120");
        await page.ClickAsync("#generate");
        await page.WaitForFunctionAsync("() => document.querySelector('#output').dataset.state === 'done'");
        Assert.Contains("120 tokens", await page.InnerTextAsync("#gen-status"));
        Assert.False(await page.IsDisabledAsync("#append"));
        await fixture.ShotAsync(page, "serve-generate.png");
    }

    [BrowserFact]
    public async Task HeatmapAndGatesShowTheText()
    {
        var page = await fixture.OpenAsync();
        await TypeAsync(page, Text);
        await page.WaitForFunctionAsync($"() => document.body.dataset.rendered === 'hidden' && document.querySelectorAll('#unit-text span').length === {Text.Length}");
        var box = await page.Locator("#heatmap").BoundingBoxAsync();
        Assert.True(box!.Width > 200 && box.Height > 20, $"heatmap {box.Width}×{box.Height}");
        // Click the heatmap's lower half: another unit is picked and the text is coloured by it.
        await page.Locator("#heatmap").ClickAsync(new LocatorClickOptions { Position = new Position { X = 30, Y = box.Height * 0.7f } });
        await page.WaitForFunctionAsync("() => document.querySelector('#unit').value !== '0'");
        Assert.NotEqual("0", await page.InnerTextAsync("#unit-name"));
        await fixture.ShotAsync(page, "serve-hidden.png");

        await page.ClickAsync("#tabs button[data-tab=gates]");
        await page.WaitForFunctionAsync("() => document.body.dataset.rendered === 'gates'");
        var strips = await page.Locator("#gate-strips .strip .label").AllInnerTextsAsync();
        Assert.Contains("input gate i", strips);
        Assert.Contains("forget gate f", strips);
        Assert.Contains("output gate o", strips);
        Assert.Contains(strips, s => s.StartsWith("cell state c", StringComparison.Ordinal));
        Assert.Equal(4, await page.Locator("#gate-maps canvas").CountAsync());
        Assert.Equal(Text.Length, await page.Locator("#gate-strips .strip").First.Locator("span").CountAsync());
        await fixture.ShotAsync(page, "serve-gates.png");
    }

    [BrowserFact]
    public async Task SelectingASpanFindsUnitsAndMatches()
    {
        var page = await fixture.OpenAsync();
        await TypeAsync(page, Text);
        await page.ClickAsync("#tabs button[data-tab=units]");
        await page.WaitForFunctionAsync($"() => document.querySelectorAll('#span-text span').length === {Text.Length}");
        // Drag across the speaker's name in the token strip.
        await page.Locator("#span-text span[data-index='0']").HoverAsync();
        await page.Mouse.DownAsync();
        await page.Locator("#span-text span[data-index='5']").HoverAsync();
        await page.Mouse.UpAsync();
        Assert.Equal(6, await page.Locator("#span-text span.sel").CountAsync());
        await page.ClickAsync("#find-units");
        await page.WaitForSelectorAsync("#units-table tr[data-unit]");
        Assert.Equal(5, await page.Locator("#units-table tr[data-unit]").CountAsync());
        await page.WaitForSelectorAsync("#matches li");
        Assert.True(await page.Locator("#matches li").CountAsync() >= 1);
        await fixture.ShotAsync(page, "serve-units.png");

        // A unit's row opens the heatmap with the text coloured by that unit.
        string unit = (await page.GetAttributeAsync("#units-table tr[data-unit]", "data-unit"))!;
        await page.ClickAsync("#units-table tr[data-unit]");
        await page.WaitForFunctionAsync($"() => document.body.dataset.rendered === 'hidden' && document.querySelector('#unit-name').textContent === '{unit}'");
        await fixture.ShotAsync(page, "serve-unit.png");
        await page.ClickAsync("#tabs button[data-tab=units]");

        // The text box's selection works too.
        await page.EvaluateAsync($"() => {{ const t = document.querySelector('#text'); t.setSelectionRange({Text.IndexOf("nobler", StringComparison.Ordinal)}, {Text.IndexOf("nobler", StringComparison.Ordinal) + 6}); }}");
        await page.ClickAsync("#use-selection");
        await page.WaitForFunctionAsync("() => document.querySelector('#span-label').textContent.includes('nobler')");
        await page.WaitForFunctionAsync("() => !document.querySelector('#units-result').textContent.includes('ranking units')");
        Assert.True(await page.Locator("#units-table tr[data-unit]").CountAsync() == 5, await page.InnerTextAsync("#units-result"));
    }

    [BrowserFact]
    public async Task GradientsAndTheModelCard()
    {
        var page = await fixture.OpenAsync();
        await TypeAsync(page, Text);
        await page.ClickAsync("#tabs button[data-tab=gradients]");
        await page.WaitForFunctionAsync("() => document.body.dataset.rendered === 'gradients'");
        Assert.True(await page.Locator("#grad-plot svg path").CountAsync() >= 2, "one line per layer");
        Assert.True(await page.Locator("#saliency-plot svg rect").CountAsync() >= Text.Length - 1);
        Assert.Contains("Backpropagation through time", await page.InnerTextAsync("#lesson"));
        // Another target: the gradients are taken again.
        var options = await page.Locator("#target option").AllAsync();
        Assert.True(options.Count >= 2);
        string second = (await options[1].GetAttributeAsync("value"))!;
        await page.SelectOptionAsync("#target", second);
        await page.WaitForFunctionAsync($"() => document.querySelector('#target').value === {System.Text.Json.JsonSerializer.Serialize(second)} && document.body.dataset.rendered === 'gradients'");
        await fixture.ShotAsync(page, "serve-gradients.png");

        await page.ClickAsync("#tabs button[data-tab=card]");
        await page.WaitForSelectorAsync("#card table");
        string card = await page.InnerTextAsync("#card");
        Assert.Contains("parameters", card);
        Assert.Contains("validation loss", card);
        Assert.True(await page.Locator("#curve svg path").CountAsync() >= 2, "train and validation curves");
        await fixture.ShotAsync(page, "serve-card.png");
    }
}
