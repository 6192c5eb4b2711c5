using System.Text;
using Recurrent.Numerics;

namespace Recurrent.Text;

/// <summary>
/// The built-in corpus of <c>recurrent demo</c>: sentences of a small English grammar whose main
/// verb agrees in number with a subject that can sit several words back, across a relative
/// clause or a prepositional phrase whose own noun has the other number:
///   the dogs that the girl sees run .      the old cat near the rivers sleeps .
/// An n-gram model sees "the girl sees" right before the verb; only a model that remembers the
/// subject gets the agreement right. Generated from a seed, one sentence per line.
/// </summary>
public static class DemoCorpus
{
    /// <summary>(singular, plural) pairs.</summary>
    public static readonly (string One, string Many)[] Nouns =
    [
        ("dog", "dogs"), ("cat", "cats"), ("girl", "girls"), ("boy", "boys"), ("teacher", "teachers"),
        ("farmer", "farmers"), ("bird", "birds"), ("child", "children"), ("king", "kings"), ("horse", "horses"),
    ];

    /// <summary>Nouns of the prepositional phrases ("near the rivers"), (singular, plural) pairs; never the subject.</summary>
    public static readonly (string One, string Many)[] PlaceNouns =
    [
        ("river", "rivers"), ("house", "houses"), ("tree", "trees"), ("school", "schools"), ("hill", "hills"),
    ];

    /// <summary>Intransitive verbs, (agrees with singular, agrees with plural).</summary>
    public static readonly (string One, string Many)[] Verbs =
    [
        ("runs", "run"), ("sleeps", "sleep"), ("sings", "sing"), ("waits", "wait"), ("laughs", "laugh"), ("barks", "bark"),
    ];

    /// <summary>Verbs of the relative clauses ("that the girl sees"), (agrees with singular, agrees with plural); they agree with the clause's own noun, not the subject.</summary>
    public static readonly (string One, string Many)[] TransitiveVerbs =
    [
        ("sees", "see"), ("likes", "like"), ("follows", "follow"), ("knows", "know"),
    ];

    /// <summary>Adjectives, one of which precedes the subject noun in about a third of the sentences.</summary>
    public static readonly string[] Adjectives = ["old", "small", "happy", "quiet", "clever"];
    /// <summary>Prepositions that open a prepositional phrase after the subject.</summary>
    public static readonly string[] Prepositions = ["near", "behind", "beside"];

    /// <summary>A one-line description of the corpus (a noun phrase, lower case, with an example sentence), as <c>recurrent demo</c> prints it.</summary>
    public const string Description =
        "a generated corpus of English-like sentences whose verb agrees with a subject across a relative clause or prepositional phrase " +
        "(\"the dogs that the girl sees run .\")";

    /// <summary>Generates <paramref name="sentences"/> lines from <paramref name="rng"/>.</summary>
    public static string Generate(int sentences, Rng rng)
    {
        if (sentences < 1) throw new ArgumentOutOfRangeException(nameof(sentences), sentences, "Need at least one sentence.");
        var sb = new StringBuilder();
        for (int i = 0; i < sentences; i++) sb.Append(Sentence(rng)).Append('\n');
        return sb.ToString();
    }

    /// <summary>One sentence: the [adj] NOUN [that the NOUN2 TVERB2 | PREP the PLACE2] VERB .</summary>
    public static string Sentence(Rng rng)
    {
        var words = new List<string> { "the" };
        bool plural = rng.NextInt(2) == 1;
        if (rng.NextInt(3) == 0) words.Add(Pick(Adjectives, rng));
        var noun = Nouns[rng.NextInt(Nouns.Length)];
        words.Add(plural ? noun.Many : noun.One);
        switch (rng.NextInt(3))
        {
            case 0:
                // Relative clause whose subject usually has the other number: the agreement cue is far back.
                bool innerPlural = rng.NextInt(4) == 0 ? plural : !plural;
                var inner = Nouns[rng.NextInt(Nouns.Length)];
                var tv = TransitiveVerbs[rng.NextInt(TransitiveVerbs.Length)];
                words.AddRange(["that", "the", innerPlural ? inner.Many : inner.One, innerPlural ? tv.Many : tv.One]);
                break;
            case 1:
                bool placePlural = rng.NextInt(4) == 0 ? plural : !plural;
                var place = PlaceNouns[rng.NextInt(PlaceNouns.Length)];
                words.AddRange([Pick(Prepositions, rng), "the", placePlural ? place.Many : place.One]);
                break;
        }
        var verb = Verbs[rng.NextInt(Verbs.Length)];
        words.Add(plural ? verb.Many : verb.One);
        words.Add(".");
        return string.Join(' ', words);
    }

    /// <summary>Whether the main verb (the word before the final '.') agrees with the subject noun (the first noun).</summary>
    public static bool Agrees(string sentence)
    {
        var words = sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var subject = words.First(w => Nouns.Any(n => n.One == w || n.Many == w));
        bool plural = Nouns.Any(n => n.Many == subject);
        string verb = words[^2];
        return Verbs.Any(v => (plural ? v.Many : v.One) == verb);
    }

    private static string Pick(string[] items, Rng rng) => items[rng.NextInt(items.Length)];
}
