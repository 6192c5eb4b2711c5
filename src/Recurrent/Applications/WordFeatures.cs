using System.Text;
using System.Text.Json.Serialization;

namespace Recurrent.Applications;

/// <summary>
/// How a <see cref="SequenceTagger"/> reads each word besides the word itself: its suffixes of
/// length 1..<see cref="Suffixes"/>, prefixes of length 1..<see cref="Prefixes"/> and its
/// <see cref="WordFeatures.Shape"/>, each through its own lexicon and embedding, concatenated with
/// the word's embedding. These let the tagger handle rare and unseen words ("-ly", "-ed", "Xx",
/// "d.d"). The word itself is looked up lowercased with digits folded to 0
/// (<see cref="WordFeatures.Key"/>); affixes are taken from that key, the shape from the word as written.
/// </summary>
public sealed record TaggerFeatures
{
    /// <summary>Word keys seen fewer times than this in the training data map to &lt;unk&gt; (2: the &lt;unk&gt; embedding learns from the words seen once).</summary>
    public int MinCount { get; init; } = 2;
    /// <summary>Suffix fields: lengths 1..this (0: none).</summary>
    public int Suffixes { get; init; } = 3;
    /// <summary>Prefix fields: lengths 1..this (0: none).</summary>
    public int Prefixes { get; init; } = 1;
    /// <summary>A word-shape field (capitalisation, digits, punctuation).</summary>
    public bool Shape { get; init; } = true;
    /// <summary>Embedding size of each suffix and prefix field.</summary>
    public int AffixEmbeddingSize { get; init; } = 16;
    /// <summary>Embedding size of the shape field.</summary>
    public int ShapeEmbeddingSize { get; init; } = 8;
    /// <summary>Training only: each word id is replaced by &lt;unk&gt; with this probability (its other fields stay), so the model learns to tag from affixes and shape alone.</summary>
    public float WordDropout { get; init; }

    /// <summary>The field names in input order: suffix1.., prefix1.., shape.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> FieldNames =>
        [.. Enumerable.Range(1, Suffixes).Select(n => $"suffix{n}"), .. Enumerable.Range(1, Prefixes).Select(n => $"prefix{n}"), .. Shape ? new[] { "shape" } : []];

    /// <summary>The embedding size of field <paramref name="field"/>: <see cref="ShapeEmbeddingSize"/> for the shape field, <see cref="AffixEmbeddingSize"/> for a suffix or prefix field.</summary>
    /// <param name="field">The 0-based index of the field in <see cref="FieldNames"/> order (not range-checked: any other index counts as an affix).</param>
    /// <returns>The number of embedding dimensions of that field.</returns>
    public int EmbeddingSize(int field) => Shape && field == Suffixes + Prefixes ? ShapeEmbeddingSize : AffixEmbeddingSize;

    /// <summary>The strings of every field of <paramref name="word"/>, in <see cref="FieldNames"/> order.</summary>
    public string[] Extract(string word)
    {
        var key = WordFeatures.Key(word);
        var fields = new string[Suffixes + Prefixes + (Shape ? 1 : 0)];
        for (int n = 1; n <= Suffixes; n++) fields[n - 1] = WordFeatures.Suffix(key, n);
        for (int n = 1; n <= Prefixes; n++) fields[Suffixes + n - 1] = WordFeatures.Prefix(key, n);
        if (Shape) fields[^1] = WordFeatures.Shape(word);
        return fields;
    }

    /// <summary>Throws naming the first invalid field and what is allowed.</summary>
    public void Validate()
    {
        if (MinCount < 1) throw new ArgumentOutOfRangeException(nameof(MinCount), MinCount, "The minimum word count must be at least 1.");
        if (Suffixes is < 0 or > 10) throw new ArgumentOutOfRangeException(nameof(Suffixes), Suffixes, "Suffix lengths must be 0..10.");
        if (Prefixes is < 0 or > 10) throw new ArgumentOutOfRangeException(nameof(Prefixes), Prefixes, "Prefix lengths must be 0..10.");
        if (AffixEmbeddingSize is < 1 or > 1 << 16) throw new ArgumentOutOfRangeException(nameof(AffixEmbeddingSize), AffixEmbeddingSize, "The affix embedding size must be 1..65536.");
        if (ShapeEmbeddingSize is < 1 or > 1 << 16) throw new ArgumentOutOfRangeException(nameof(ShapeEmbeddingSize), ShapeEmbeddingSize, "The shape embedding size must be 1..65536.");
        if (!(WordDropout >= 0f && WordDropout < 1f)) throw new ArgumentOutOfRangeException(nameof(WordDropout), WordDropout, "Word dropout must be in [0, 1).");
    }
}

/// <summary>The string features of one word (pure functions, culture-invariant).</summary>
public static class WordFeatures
{
    /// <summary>The longest shape kept; longer shapes are cut and end in '~'.</summary>
    public const int MaxShapeLength = 8;

    /// <summary>The word's lexicon key: lowercased (invariant culture), every decimal digit replaced by '0' ("1,999" → "0,000").</summary>
    public static string Key(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var sb = new StringBuilder(word.Length);
        foreach (var r in word.EnumerateRunes()) sb.Append(Rune.IsDigit(r) ? "0" : Rune.ToLowerInvariant(r).ToString());
        return sb.ToString();
    }

    /// <summary>The last <paramref name="n"/> characters (Unicode scalars) of <paramref name="key"/>; a shorter key whole, marked with a leading '^'.</summary>
    public static string Suffix(string key, int n)
    {
        var runes = Runes(key);
        return runes.Length < n ? "^" + key : string.Concat(runes[^n..]);
    }

    /// <summary>The first <paramref name="n"/> characters (Unicode scalars) of <paramref name="key"/>; a shorter key whole, marked with a trailing '$'.</summary>
    public static string Prefix(string key, int n)
    {
        var runes = Runes(key);
        return runes.Length < n ? key + "$" : string.Concat(runes[..n]);
    }

    /// <summary>
    /// The word's shape: each character as its class — 'X' upper case, 'x' other letters, 'd' digit,
    /// and any other character as itself — with runs of one class collapsed, at most
    /// <see cref="MaxShapeLength"/> long: "Hello" → "Xx", "USA" → "X", "1,000" → "d,d", "e-mail" → "x-x", "McDonald's" → "XxXx'x".
    /// </summary>
    public static string Shape(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        var sb = new StringBuilder(MaxShapeLength + 1);
        string last = "";
        foreach (var r in word.EnumerateRunes())
        {
            string c = Rune.IsUpper(r) ? "X" : Rune.IsLetter(r) ? "x" : Rune.IsDigit(r) ? "d" : r.ToString();
            if (c == last) continue;
            if (sb.Length >= MaxShapeLength) { sb.Append('~'); break; }
            sb.Append(c);
            last = c;
        }
        return sb.ToString();
    }

    private static string[] Runes(string s) => s.EnumerateRunes().Select(r => r.ToString()).ToArray();
}
