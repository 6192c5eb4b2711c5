namespace Recurrent.Tests;

/// <summary>
/// The C# of a documentation page against the code a test compiles: the page's ```csharp blocks
/// and a test file's marked regions, both dedented, so that a doc test can require them equal.
/// </summary>
internal static class DocCode
{
    /// <summary>The page's ```csharp blocks in order, without their <c>using</c> lines (a test file has them at its top), dedented.</summary>
    public static List<string> CsharpBlocks(string page)
    {
        page = page.ReplaceLineEndings("\n");
        var blocks = new List<string>();
        const string fence = "```csharp\n";
        for (int open = page.IndexOf(fence, StringComparison.Ordinal); open >= 0; open = page.IndexOf(fence, open + 1, StringComparison.Ordinal))
        {
            int start = open + fence.Length;
            var lines = page[start..page.IndexOf("```", start, StringComparison.Ordinal)].Split('\n')
                .Where(l => !l.StartsWith("using ", StringComparison.Ordinal)).SkipWhile(string.IsNullOrWhiteSpace);
            blocks.Add(Dedent(string.Join('\n', lines)));
        }
        return blocks;
    }

    /// <summary>
    /// The regions of <paramref name="source"/> from the line after each line that starts with
    /// <paramref name="begin"/> (after indentation) up to the next line that starts with
    /// <paramref name="end"/>, dedented. Lines that merely contain a marker (its constant) do not count.
    /// </summary>
    public static List<string> Regions(string source, string begin, string end)
    {
        source = source.ReplaceLineEndings("\n");
        var regions = new List<string>();
        for (int from = LineStarting(source, begin, 0); from >= 0; from = LineStarting(source, begin, from + 1))
        {
            int start = source.IndexOf('\n', from) + 1;
            regions.Add(Dedent(source[start..LineStarting(source, end, start)]));
        }
        return regions;
    }

    /// <summary>The index of the first occurrence of <paramref name="marker"/> at or after <paramref name="from"/> that only indentation precedes on its line; −1 if none.</summary>
    private static int LineStarting(string text, string marker, int from)
    {
        for (int at = text.IndexOf(marker, from, StringComparison.Ordinal); at >= 0; at = text.IndexOf(marker, at + 1, StringComparison.Ordinal))
        {
            int lineStart = text.LastIndexOf('\n', Math.Max(at - 1, 0)) + 1;
            if (string.IsNullOrWhiteSpace(text[lineStart..at])) return at;
        }
        return -1;
    }

    /// <summary>The text without trailing blank space and without the indentation its lines share.</summary>
    public static string Dedent(string code)
    {
        var lines = code.Replace("\r\n", "\n").TrimEnd().Split('\n');
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }
}
