namespace Recurrent.Cli.Serve;

/// <summary>
/// What one request may ask of <c>recurrent serve</c>. Every limit is checked before any work
/// is done, and a request over one gets a 4xx answer that names the limit.
/// </summary>
public sealed record ServeLimits
{
    /// <summary>Largest request body, in bytes (Kestrel refuses larger ones too).</summary>
    public int MaxRequestBytes { get; init; } = 64 * 1024;
    /// <summary>Longest text (UTF-16 characters) for next-token prediction and as a generation's prime.</summary>
    public int MaxTextChars { get; init; } = 2000;
    /// <summary>Most tokens a text may have for the look-inside views (states, gates, gradients, units).</summary>
    public int MaxInspectTokens { get; init; } = 400;
    /// <summary>Most tokens one generation may produce.</summary>
    public int MaxGenerateTokens { get; init; } = 2000;
    /// <summary>Most candidates a next-token list may hold.</summary>
    public int MaxTopK { get; init; } = 50;
    /// <summary>Generations streamed at once; one more is answered 429.</summary>
    public int MaxConcurrentGenerations { get; init; } = 8;
    /// <summary>Inspections run at once (each has its own copy of the weights); more wait their turn.</summary>
    public int Inspectors { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 4);
    /// <summary>How many tokens of the reference text are read for "find units like this".</summary>
    public int ReferenceTokens { get; init; } = 10_000;
    /// <summary>Most units one "find units" request may select, and most matches it returns.</summary>
    public int MaxUnits { get; init; } = 20;
    public int MaxMatches { get; init; } = 20;
    /// <summary>Least time between two streamed tokens (zero: as fast as the model goes); a slower pace for demonstrations and tests of stopping.</summary>
    public TimeSpan TokenInterval { get; init; } = TimeSpan.Zero;

    public static ServeLimits Default { get; } = new();
}

/// <summary>A request the server refuses: the status code (4xx) and a message for the person who sent it.</summary>
public sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
