namespace Recurrent.Tests;

/// <summary>Paths inside the repository, found by walking up from the test binaries to the folder holding Recurrent.slnx.</summary>
public static class TestPaths
{
    private static readonly Lazy<string> Root = new(FindRepoRoot);

    /// <summary>The repository root (the folder containing <c>Recurrent.slnx</c>).</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>A path under <c>tests/fixtures</c>, e.g. <c>Fixture("rnn/lstm_large.safetensors")</c>.</summary>
    public static string Fixture(string relative) =>
        Path.Combine(RepoRoot, "tests", "fixtures", relative.Replace('/', Path.DirectorySeparatorChar));

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Recurrent.slnx")))
                return dir.FullName;
        throw new InvalidOperationException($"No folder containing Recurrent.slnx above {AppContext.BaseDirectory}.");
    }
}
