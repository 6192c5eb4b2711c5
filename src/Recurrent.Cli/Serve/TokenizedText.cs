using System.Text;
using Recurrent.Text;

namespace Recurrent.Cli.Serve;

/// <summary>
/// A text as the model reads it: the token ids, and for each token the piece of the text it came
/// from and where that piece starts (a UTF-16 offset, as a browser counts; −1 for the start token
/// an empty text is read as).
/// </summary>
public sealed record TokenizedText(int[] Ids, string[] Pieces, int[] Offsets)
{
    public int Count => Ids.Length;

    /// <summary>Tokenizes like <see cref="Generation.TextGenerator.EncodeContext"/>; a character outside a character vocabulary is a 400.</summary>
    public static TokenizedText Of(Vocabulary vocabulary, string text)
    {
        var ids = new List<int>();
        var pieces = new List<string>();
        var offsets = new List<int>();
        if (vocabulary is WordVocabulary words)
        {
            int cursor = 0;
            foreach (var word in WordVocabulary.Tokenize(text, endOfLineTokens: false))
            {
                int at = text.IndexOf(word, cursor, StringComparison.Ordinal);
                ids.Add(words.TryGetId(word, out int id) ? id : words.UnknownId);
                pieces.Add(word);
                offsets.Add(at);
                cursor = at + word.Length;
            }
        }
        else
        {
            int offset = 0, position = 0;
            foreach (var rune in text.EnumerateRunes())
            {
                var piece = rune.ToString();
                if (!vocabulary.TryGetId(piece, out int id))
                    throw new ApiException(400, $"Character {Describe(rune)} at position {position} is not in the model's vocabulary.");
                ids.Add(id);
                pieces.Add(piece);
                offsets.Add(offset);
                offset += rune.Utf16SequenceLength;
                position++;
            }
        }
        if (ids.Count == 0)
        {
            string start = vocabulary is WordVocabulary ? WordVocabulary.EndOfSentence : "\n";
            ids.Add(vocabulary.TryGetId(start, out int id) ? id : 0);
            pieces.Add(vocabulary.TokenOf(ids[0]));
            offsets.Add(-1);
        }
        return new TokenizedText([.. ids], [.. pieces], [.. offsets]);
    }

    private static string Describe(Rune r) => Rune.IsControl(r) || Rune.IsWhiteSpace(r) ? $"U+{r.Value:X4}" : $"'{r}' (U+{r.Value:X4})";
}
