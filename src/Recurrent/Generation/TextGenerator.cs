using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;

namespace Recurrent.Generation;

/// <summary>
/// Runs a trained language model as a generator: the prime text is read in one forward pass,
/// then one token at a time is sampled and fed back with the state carried (batch 1).
/// </summary>
public sealed class TextGenerator(LanguageModel model, Vocabulary vocabulary)
{
    public LanguageModel Model { get; } = model;
    public Vocabulary Vocabulary { get; } = vocabulary;

    /// <summary>Ids of a prime/context; an empty text starts from a line break (char) or &lt;eos&gt; (word).</summary>
    public int[] EncodeContext(string text)
    {
        int[] ids = Vocabulary switch
        {
            WordVocabulary w => w.EncodePrompt(text),
            _ => Vocabulary.Encode(text),
        };
        if (ids.Length > 0) return ids;
        if (Vocabulary.TryGetId(Vocabulary is WordVocabulary ? WordVocabulary.EndOfSentence : "\n", out int start)) return [start];
        return [0];
    }

    /// <summary>Yields the text of each generated token as soon as it is sampled.</summary>
    public IEnumerable<string> Generate(string prime, int length, Sampler sampler, Rng rng)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "Length must be at least 0.");
        var context = EncodeContext(prime);
        var state = Model.NewState(1);
        var logits = Model.Forward(context, context.Length, 1, state);
        int V = Model.Config.VocabularySize;
        var last = logits.Data.AsMemory((context.Length - 1) * V, V);
        var one = new int[1];
        for (int i = 0; i < length; i++)
        {
            int next = sampler.Sample(last.Span, rng);
            yield return Vocabulary.Render(next);
            one[0] = next;
            logits = Model.Forward(one, 1, 1, state);
            last = logits.Data.AsMemory(0, V);
        }
    }

    /// <summary>The k most likely next tokens after <paramref name="context"/>, with probabilities.</summary>
    public IReadOnlyList<(string Token, double Probability)> NextTokens(string context, int k)
    {
        var ids = EncodeContext(context);
        var state = Model.NewState(1);
        var logits = Model.Forward(ids, ids.Length, 1, state);
        int V = Model.Config.VocabularySize;
        return Sampler.TopTokens(logits.Span.Slice((ids.Length - 1) * V, V), k)
            .Select(t => (Vocabulary.TokenOf(t.Id), t.Probability)).ToList();
    }
}
