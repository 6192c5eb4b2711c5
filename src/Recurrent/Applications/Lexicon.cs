using System.Text.Json;

namespace Recurrent.Applications;

/// <summary>
/// Strings ↔ ids for the inputs of a classifier or tagger: id 0 is <see cref="Unknown"/>, which
/// every string outside the lexicon maps to; the rest are the strings seen at least
/// <c>minCount</c> times in the training data, most frequent first (ties in ordinal order).
/// </summary>
public sealed class Lexicon
{
    /// <summary>The token of id 0, <c>"&lt;unk&gt;"</c>, that stands for every string outside the lexicon.</summary>
    public const string Unknown = "<unk>";
    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    /// <summary>A lexicon whose token of id i is <c>tokens[i]</c> (the tokens are copied).</summary>
    /// <param name="tokens">The tokens in id order; the first must be <see cref="Unknown"/>. Compared ordinally.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tokens"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="tokens"/> is empty, does not start with <see cref="Unknown"/>, or lists a token twice.</exception>
    public Lexicon(IReadOnlyList<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count == 0 || tokens[0] != Unknown) throw new ArgumentException($"A lexicon starts with {Unknown}.", nameof(tokens));
        _tokens = [.. tokens];
        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Length; i++)
            if (!_ids.TryAdd(_tokens[i], i)) throw new ArgumentException($"The lexicon lists '{_tokens[i]}' twice.", nameof(tokens));
    }

    /// <summary>The number of ids, <see cref="Unknown"/> included (at least 1): the vocabulary size of an embedding over this lexicon.</summary>
    public int Count => _tokens.Length;
    /// <summary>Every token in id order; <c>Tokens[0]</c> is <see cref="Unknown"/>.</summary>
    public IReadOnlyList<string> Tokens => _tokens;
    /// <summary>The token of id <paramref name="id"/>.</summary>
    /// <param name="id">An id in 0 … <see cref="Count"/> − 1.</param>
    /// <returns>The token; <see cref="Unknown"/> for id 0.</returns>
    /// <exception cref="IndexOutOfRangeException"><paramref name="id"/> is negative or at least <see cref="Count"/>.</exception>
    public string this[int id] => _tokens[id];

    /// <summary>The id of <paramref name="token"/>, or 0 (<see cref="Unknown"/>).</summary>
    public int Id(string token) => _ids.GetValueOrDefault(token);

    /// <summary>Whether <paramref name="token"/> has an id of its own (ordinal comparison); true for <see cref="Unknown"/> itself.</summary>
    /// <param name="token">The string to look up.</param>
    /// <returns>True when the lexicon lists <paramref name="token"/>.</returns>
    public bool Contains(string token) => _ids.ContainsKey(token);

    /// <summary>
    /// A lexicon of the strings that occur at least <paramref name="minCount"/> times in
    /// <paramref name="tokens"/>: id 0 is <see cref="Unknown"/>, then the strings by descending count,
    /// ties in ordinal order. An occurrence of <see cref="Unknown"/> itself in the data is not listed twice.
    /// </summary>
    /// <param name="tokens">Every occurrence in the training data (repeats count).</param>
    /// <param name="minCount">The fewest occurrences a string needs to get an id; at least 1 (default 1: every string seen).</param>
    /// <returns>The new lexicon.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minCount"/> is less than 1.</exception>
    public static Lexicon Build(IEnumerable<string> tokens, int minCount = 1)
    {
        if (minCount < 1) throw new ArgumentOutOfRangeException(nameof(minCount), minCount, "The minimum count must be at least 1.");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in tokens) counts[t] = counts.GetValueOrDefault(t) + 1;
        return new Lexicon([Unknown, .. counts.Where(kv => kv.Value >= minCount && kv.Key != Unknown)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key)]);
    }

    /// <summary>The tokens in id order as a JSON array of strings (what <see cref="FromJson"/> reads back).</summary>
    /// <returns>The JSON text.</returns>
    public string ToJson() => JsonSerializer.Serialize(_tokens);

    /// <summary>Reads a lexicon written by <see cref="ToJson"/>.</summary>
    /// <param name="json">A JSON array of strings whose first element is <see cref="Unknown"/>.</param>
    /// <returns>The lexicon.</returns>
    /// <exception cref="JsonException"><paramref name="json"/> is not a JSON array of strings, or is <c>null</c>.</exception>
    /// <exception cref="ArgumentException">The array is empty, does not start with <see cref="Unknown"/>, or lists a token twice.</exception>
    public static Lexicon FromJson(string json) => new(JsonSerializer.Deserialize<string[]>(json) ?? throw new JsonException("The lexicon is null."));
}
