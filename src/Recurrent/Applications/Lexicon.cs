using System.Text.Json;

namespace Recurrent.Applications;

/// <summary>
/// Strings ↔ ids for the inputs of a classifier or tagger: id 0 is <see cref="Unknown"/>, which
/// every string outside the lexicon maps to; the rest are the strings seen at least
/// <c>minCount</c> times in the training data, most frequent first (ties in ordinal order).
/// </summary>
public sealed class Lexicon
{
    public const string Unknown = "<unk>";
    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    public Lexicon(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count == 0 || tokens[0] != Unknown) throw new ArgumentException($"A lexicon starts with {Unknown}.", nameof(tokens));
        _tokens = [.. tokens];
        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Length; i++)
            if (!_ids.TryAdd(_tokens[i], i)) throw new ArgumentException($"The lexicon lists '{_tokens[i]}' twice.", nameof(tokens));
    }

    public int Count => _tokens.Length;
    public IReadOnlyList<string> Tokens => _tokens;
    public string this[int id] => _tokens[id];

    /// <summary>The id of <paramref name="token"/>, or 0 (<see cref="Unknown"/>).</summary>
    public int Id(string token) => _ids.GetValueOrDefault(token);

    public bool Contains(string token) => _ids.ContainsKey(token);

    public static Lexicon Build(IEnumerable<string> tokens, int minCount = 1)
    {
        if (minCount < 1) throw new ArgumentOutOfRangeException(nameof(minCount), minCount, "The minimum count must be at least 1.");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in tokens) counts[t] = counts.GetValueOrDefault(t) + 1;
        return new Lexicon([Unknown, .. counts.Where(kv => kv.Value >= minCount && kv.Key != Unknown)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key)]);
    }

    public string ToJson() => JsonSerializer.Serialize(_tokens);

    public static Lexicon FromJson(string json) => new(JsonSerializer.Deserialize<string[]>(json) ?? throw new JsonException("The lexicon is null."));
}
