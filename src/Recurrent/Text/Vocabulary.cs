using System.Text;
using System.Text.Json;

namespace Recurrent.Text;

/// <summary>Whether a model reads characters (Unicode scalar values) or whitespace-separated words.</summary>
public enum TokenLevel
{
    /// <summary>One token per character (Unicode scalar value): <see cref="CharVocabulary"/>.</summary>
    Char,
    /// <summary>One token per whitespace-separated word, plus <c>&lt;eos&gt;</c> at each line's end: <see cref="WordVocabulary"/>.</summary>
    Word,
}

/// <summary>
/// A bijection between tokens and ids 0..Count−1. Stored in checkpoints as JSON
/// (<c>{"level":"char","tokens":[...]}</c>), so a model always decodes with the vocabulary it was trained on.
/// </summary>
public abstract class Vocabulary
{
    private readonly string[] _tokens;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Stores the tokens; token <c>tokens[i]</c> gets id <c>i</c>.</summary>
    /// <param name="tokens">The tokens in id order: at least one, no duplicates (compared ordinally). The list is copied.</param>
    /// <exception cref="ArgumentException"><paramref name="tokens"/> is empty or holds a token twice.</exception>
    protected Vocabulary(IReadOnlyList<string> tokens)
    {
        if (tokens.Count < 1) throw new ArgumentException("A vocabulary needs at least one token.", nameof(tokens));
        _tokens = tokens.ToArray();
        _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Length; i++)
            if (!_ids.TryAdd(_tokens[i], i)) throw new ArgumentException($"Token '{_tokens[i]}' appears twice in the vocabulary.", nameof(tokens));
    }

    /// <summary>Whether the tokens are characters or words; saved as <c>"level"</c> in the JSON.</summary>
    public abstract TokenLevel Level { get; }
    /// <summary>The number of tokens; ids run from 0 to <c>Count − 1</c> (a language model's vocabulary size).</summary>
    public int Count => _tokens.Length;
    /// <summary>All tokens in id order (<c>Tokens[id]</c> is the token of <c>id</c>).</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>The token with id <paramref name="id"/>, as stored (a word vocabulary's <c>&lt;eos&gt;</c> is returned as is; see <see cref="Render"/> for output text).</summary>
    /// <param name="id">A token id, 0..<see cref="Count"/> − 1.</param>
    /// <returns>The token string.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside 0..<see cref="Count"/> − 1.</exception>
    public string TokenOf(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"Token id must be in 0..{_tokens.Length - 1}.");

    /// <summary>Looks up the id of a token (exact, ordinal match).</summary>
    /// <param name="token">The token, e.g. one character or one word.</param>
    /// <param name="id">The token's id when found; 0 otherwise.</param>
    /// <returns>True if the vocabulary holds <paramref name="token"/>.</returns>
    public bool TryGetId(string token, out int id) => _ids.TryGetValue(token, out id);

    /// <summary>Splits text into tokens (characters or words) and maps them to ids.</summary>
    public abstract int[] Encode(string text);

    /// <summary>Joins the tokens of <paramref name="ids"/> back into text.</summary>
    public abstract string Decode(ReadOnlySpan<int> ids);

    /// <summary>The text of one token as it appears in generated output.</summary>
    public abstract string Render(int id);

    /// <summary>The vocabulary as compact JSON, <c>{"level":"char"|"word","tokens":[...]}</c> with the tokens in id order, as checkpoints store it under <c>"vocabulary"</c>.</summary>
    /// <returns>The JSON text that <see cref="FromJson"/> reads back.</returns>
    public string ToJson() => JsonSerializer.Serialize(new VocabularyJson(Level == TokenLevel.Char ? "char" : "word", _tokens));

    /// <summary>Reads a vocabulary written by <see cref="ToJson"/>.</summary>
    /// <param name="json">JSON with <c>"level"</c> (<c>"char"</c> or <c>"word"</c>) and <c>"tokens"</c> (the tokens in id order).</param>
    /// <returns>A <see cref="CharVocabulary"/> or a <see cref="WordVocabulary"/>, by the level.</returns>
    /// <exception cref="FormatException">The text is not valid JSON, lacks <c>"level"</c> or <c>"tokens"</c>, names an unknown level, or the tokens are invalid for the level (none, duplicated, not single characters, a word vocabulary without <c>&lt;unk&gt;</c> and <c>&lt;eos&gt;</c>, ...).</exception>
    public static Vocabulary FromJson(string json)
    {
        VocabularyJson? data;
        try { data = JsonSerializer.Deserialize<VocabularyJson>(json); }
        catch (JsonException e) { throw new FormatException("The vocabulary is not valid JSON: " + e.Message, e); }
        if (data?.tokens is null || data.level is null) throw new FormatException("The vocabulary JSON needs 'level' and 'tokens'.");
        try
        {
            return data.level switch
            {
                "char" => new CharVocabulary(data.tokens),
                "word" => new WordVocabulary(data.tokens),
                _ => throw new FormatException($"Unknown vocabulary level '{data.level}' (expected 'char' or 'word')."),
            };
        }
        catch (ArgumentException e) { throw new FormatException("Invalid vocabulary: " + e.Message, e); }
    }

    private sealed record VocabularyJson(string? level, string[]? tokens);
}

/// <summary>
/// Characters as tokens. A character is a Unicode scalar value (<see cref="Rune"/>), not a UTF-16
/// unit, so an emoji or any astral character is one token. Ids are sorted by code point.
/// </summary>
public sealed class CharVocabulary : Vocabulary
{
    /// <summary>A character vocabulary with the given tokens in id order (use <see cref="Build"/> to collect them from text).</summary>
    /// <param name="tokens">The characters, each a string holding exactly one Unicode scalar value (one UTF-16 unit or a surrogate pair); at least one, no duplicates.</param>
    /// <exception cref="ArgumentException"><paramref name="tokens"/> is empty, holds a token twice, or holds a token that is not a single Unicode scalar value.</exception>
    public CharVocabulary(IReadOnlyList<string> tokens) : base(tokens)
    {
        foreach (var t in tokens)
            if (Rune.DecodeFromUtf16(t, out _, out int used) != System.Buffers.OperationStatus.Done || used != t.Length)
                throw new ArgumentException($"Character tokens must be single Unicode scalar values; got '{t}'.", nameof(tokens));
    }

    /// <summary>Always <see cref="TokenLevel.Char"/>.</summary>
    public override TokenLevel Level => TokenLevel.Char;

    /// <summary>The sorted set of characters in <paramref name="text"/>.</summary>
    public static CharVocabulary Build(string text)
    {
        var set = new SortedSet<int>();
        foreach (var rune in text.EnumerateRunes()) set.Add(rune.Value);
        if (set.Count == 0) throw new ArgumentException("Cannot build a character vocabulary from empty text.", nameof(text));
        return new CharVocabulary(set.Select(v => new Rune(v).ToString()).ToList());
    }

    /// <summary>Encodes every character; a character outside the vocabulary is an error naming it and its position.</summary>
    public override int[] Encode(string text)
    {
        var ids = new List<int>(text.Length);
        int position = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (!TryGetId(rune.ToString(), out int id))
                throw new ArgumentException($"Character {Describe(rune)} at position {position} is not in the model's vocabulary.");
            ids.Add(id);
            position++;
        }
        return ids.ToArray();
    }

    /// <summary>Concatenates the characters of <paramref name="ids"/>, with nothing between them.</summary>
    /// <param name="ids">Token ids, each 0..<see cref="Vocabulary.Count"/> − 1.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is out of range.</exception>
    public override string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder(ids.Length);
        foreach (int id in ids) sb.Append(TokenOf(id));
        return sb.ToString();
    }

    /// <summary>The character itself (as <see cref="Vocabulary.TokenOf"/>).</summary>
    /// <param name="id">A token id, 0..<see cref="Vocabulary.Count"/> − 1.</param>
    /// <returns>The character as a string.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is out of range.</exception>
    public override string Render(int id) => TokenOf(id);

    private static string Describe(Rune r) => Rune.IsControl(r) || Rune.IsWhiteSpace(r) ? $"U+{r.Value:X4}" : $"'{r}' (U+{r.Value:X4})";
}

/// <summary>
/// Words as tokens, as PyTorch's word_language_model reads PTB: each line split on whitespace,
/// with <c>&lt;eos&gt;</c> appended at each line's end. Words outside the vocabulary map to
/// <c>&lt;unk&gt;</c>.
/// </summary>
public sealed class WordVocabulary : Vocabulary
{
    /// <summary>The token that stands for every word outside the vocabulary: <c>&lt;unk&gt;</c>.</summary>
    public const string Unknown = "<unk>";
    /// <summary>The token appended at the end of every line: <c>&lt;eos&gt;</c>; rendered as a line break.</summary>
    public const string EndOfSentence = "<eos>";

    /// <summary>A word vocabulary with the given tokens in id order (use <see cref="Build"/> to collect them from a corpus).</summary>
    /// <param name="tokens">The words: non-empty, without whitespace, no duplicates, and including <see cref="Unknown"/> and <see cref="EndOfSentence"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="tokens"/> is empty, holds a token twice, lacks <c>&lt;unk&gt;</c> or <c>&lt;eos&gt;</c>, or holds an empty token or one containing whitespace.</exception>
    public WordVocabulary(IReadOnlyList<string> tokens) : base(tokens)
    {
        if (!TryGetId(Unknown, out _) || !TryGetId(EndOfSentence, out _))
            throw new ArgumentException($"A word vocabulary must contain {Unknown} and {EndOfSentence}.", nameof(tokens));
        foreach (var t in tokens)
            if (t.Length == 0 || t.Any(char.IsWhiteSpace)) throw new ArgumentException($"Word tokens cannot be empty or contain whitespace; got '{t}'.", nameof(tokens));
    }

    /// <summary>Always <see cref="TokenLevel.Word"/>.</summary>
    public override TokenLevel Level => TokenLevel.Word;
    /// <summary>The id of <see cref="Unknown"/> (1 in a vocabulary from <see cref="Build"/>).</summary>
    public int UnknownId => TryGetId(Unknown, out int id) ? id : throw new InvalidOperationException();
    /// <summary>The id of <see cref="EndOfSentence"/> (0 in a vocabulary from <see cref="Build"/>).</summary>
    public int EndOfSentenceId => TryGetId(EndOfSentence, out int id) ? id : throw new InvalidOperationException();

    /// <summary>Words of <paramref name="text"/>, with <c>&lt;eos&gt;</c> after every line (as PyTorch reads PTB line by line).</summary>
    public static IEnumerable<string> Tokenize(string text, bool endOfLineTokens = true)
    {
        var lines = text.Split('\n');
        int count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length; // a final newline ends the last line
        for (int i = 0; i < count; i++)
        {
            var line = lines[i];
            foreach (var w in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)) yield return w;
            if (endOfLineTokens) yield return EndOfSentence;
        }
    }

    /// <summary>
    /// Words seen at least <paramref name="minCount"/> times, the <paramref name="maxSize"/> most
    /// frequent (ties in ordinal order), plus &lt;unk&gt; and &lt;eos&gt;; ids by frequency.
    /// </summary>
    public static WordVocabulary Build(IEnumerable<string> words, int minCount = 1, int maxSize = 0)
    {
        if (minCount < 1) throw new ArgumentOutOfRangeException(nameof(minCount), minCount, "Minimum count must be at least 1.");
        if (maxSize < 0) throw new ArgumentOutOfRangeException(nameof(maxSize), maxSize, "Maximum size must be 0 (no limit) or at least 3.");
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var w in words) counts[w] = counts.GetValueOrDefault(w) + 1;
        var ordered = counts.Where(kv => kv.Value >= minCount && kv.Key != Unknown && kv.Key != EndOfSentence)
            .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
        var tokens = new List<string> { EndOfSentence, Unknown };
        tokens.AddRange(maxSize > 0 ? ordered.Take(Math.Max(0, maxSize - 2)) : ordered);
        return new WordVocabulary(tokens);
    }

    /// <summary>Splits <paramref name="text"/> into words as <see cref="Tokenize"/> does (with <c>&lt;eos&gt;</c> after every line) and maps them to ids; unknown words become <see cref="UnknownId"/>.</summary>
    /// <param name="text">The text; lines are separated by '\n'.</param>
    /// <returns>One id per word and per line end.</returns>
    public override int[] Encode(string text) => Encode(Tokenize(text));

    /// <summary>Encodes a prime or query: words only, no &lt;eos&gt; at its end.</summary>
    public int[] EncodePrompt(string text) => Encode(Tokenize(text, endOfLineTokens: false));

    /// <summary>Maps already split words to ids; a word outside the vocabulary becomes <see cref="UnknownId"/>.</summary>
    /// <param name="words">The words, e.g. from <see cref="Tokenize"/>; <c>&lt;eos&gt;</c> maps to <see cref="EndOfSentenceId"/>.</param>
    /// <returns>One id per word.</returns>
    public int[] Encode(IEnumerable<string> words)
    {
        int unk = UnknownId;
        return words.Select(w => TryGetId(w, out int id) ? id : unk).ToArray();
    }

    /// <summary>Concatenates the <see cref="Render"/> text of every id: each word followed by a space, <c>&lt;eos&gt;</c> as a line break.</summary>
    /// <param name="ids">Token ids, each 0..<see cref="Vocabulary.Count"/> − 1.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is out of range.</exception>
    public override string Decode(ReadOnlySpan<int> ids)
    {
        var sb = new StringBuilder();
        foreach (int id in ids) sb.Append(Render(id));
        return sb.ToString();
    }

    /// <summary>The word followed by one space, or "\n" for <c>&lt;eos&gt;</c>.</summary>
    /// <param name="id">A token id, 0..<see cref="Vocabulary.Count"/> − 1.</param>
    /// <returns>The output text of the token.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is out of range.</exception>
    public override string Render(int id)
    {
        var t = TokenOf(id);
        return t == EndOfSentence ? "\n" : t + " ";
    }
}
