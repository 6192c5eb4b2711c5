using System.Globalization;

namespace Recurrent.Data;

/// <summary>Which CoNLL-U column gives the tags: UPOS (column 4, the 17 universal tags) or XPOS (column 5, language-specific, e.g. Penn Treebank).</summary>
public enum TagColumn
{
    /// <summary>Column 4, UPOS: the 17 universal part-of-speech tags (<c>NOUN</c>, <c>VERB</c>, …); the default.</summary>
    Upos,
    /// <summary>Column 5, XPOS: the treebank's language-specific tags (e.g. Penn Treebank <c>NN</c>, <c>VBD</c>).</summary>
    Xpos
}

/// <summary>One sentence for tagging: its words and one tag per word (same length).</summary>
/// <param name="Words">The word forms, in order (the FORM column of a CoNLL-U file).</param>
/// <param name="Tags">One tag per word, the same length as the words.</param>
public sealed record TaggedSentence(string[] Words, string[] Tags);

/// <summary>
/// Reads Universal Dependencies CoNLL-U files for sequence tagging (words → part-of-speech tags).
/// </summary>
public static class ConlluReader
{
    /// <summary>
    /// Reads the sentences of a CoNLL-U file (a <c>.gz</c> file is decompressed on the fly): the
    /// words are the FORM column, the tags the UPOS (or XPOS) column. A blank line ends a
    /// sentence (the last one needs none); lines starting with <c>#</c> are comments. The words of
    /// a sentence are exactly its lines with an integer ID: multiword-token lines (ID <c>3-4</c>,
    /// e.g. "don't" over "do" + "n't") and empty nodes (ID <c>5.1</c>) are skipped. Every other
    /// line must have 10 tab-separated columns, integer IDs must count up from 1 within each
    /// sentence, and FORM and the tag must be non-empty, the tag not <c>_</c> (unannotated).
    /// Words and tags are shared string instances (each distinct one is allocated once).
    /// </summary>
    public static IReadOnlyList<TaggedSentence> Read(string path, TagColumn tagColumn = TagColumn.Upos)
    {
        int tagField = tagColumn == TagColumn.Upos ? 3 : 4;
        string tagName = tagColumn == TagColumn.Upos ? "UPOS" : "XPOS";
        var sentences = new List<TaggedSentence>();
        var words = new List<string>();
        var tags = new List<string>();
        var pool = new StringPool();
        int sentenceLine = 0; // where the sentence being read began (0: between sentences)
        Span<Range> columns = stackalloc Range[11];
        using var reader = new LineReader(path);
        while (reader.TryReadLine(out var line))
        {
            if (line.IsWhiteSpace())
            {
                EndSentence();
                continue;
            }
            if (sentenceLine == 0) sentenceLine = reader.LineNumber;
            if (line[0] == '#') continue;
            int count = line.Split(columns, '\t');
            if (count != 10)
                throw reader.Error($"expected 10 tab-separated columns (CoNLL-U); found {(count > 10 ? "more than 10" : count)}.");
            var id = line[columns[0]];
            if (IsIdPair(id, '-') || IsIdPair(id, '.')) continue; // multiword token or empty node
            if (!int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
                throw reader.Error($"ID '{id}' is not a word number (1, 2, …), a multiword range (3-4) or an empty node (5.1).");
            if (number != words.Count + 1)
                throw reader.Error($"word ID {number} should be {words.Count + 1} (IDs count up from 1 within a sentence; a blank line ends a sentence).");
            var form = line[columns[1]];
            var tag = line[columns[tagField]];
            if (form.IsWhiteSpace()) throw reader.Error("empty FORM (column 2).");
            if (tag.IsWhiteSpace() || tag is "_")
                throw reader.Error($"word '{form}' has no {tagName} tag (column {tagField + 1} is '{tag}').");
            words.Add(pool.Get(form));
            tags.Add(pool.Get(tag));
        }
        EndSentence();
        if (sentences.Count == 0) throw new DataFormatException(path, 0, "has no sentences.");
        return sentences;

        void EndSentence()
        {
            if (sentenceLine != 0 && words.Count == 0)
                throw new DataFormatException(path, sentenceLine, "the sentence starting here has no words.");
            if (words.Count > 0) sentences.Add(new TaggedSentence(words.ToArray(), tags.ToArray()));
            words.Clear();
            tags.Clear();
            sentenceLine = 0;
        }
    }

    /// <summary>Whether <paramref name="id"/> is two numbers joined by <paramref name="separator"/> (<c>3-4</c>, <c>5.1</c>).</summary>
    private static bool IsIdPair(ReadOnlySpan<char> id, char separator)
    {
        int at = id.IndexOf(separator);
        return at > 0 && IsDigits(id[..at]) && IsDigits(id[(at + 1)..]);

        static bool IsDigits(ReadOnlySpan<char> s) => s.Length > 0 && !s.ContainsAnyExceptInRange('0', '9');
    }
}
