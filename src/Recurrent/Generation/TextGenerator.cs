using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;

namespace Recurrent.Generation;

/// <summary>
/// Runs a trained language model as a generator, batch 1, through a <see cref="LanguageModelStepper"/>:
/// the prime text is fed token by token, then one token at a time is sampled and fed back with the
/// state carried. Each call reads the model's weights as they are when it starts.
/// </summary>
/// <param name="model">A trained language model (next-token prediction at every step).</param>
/// <param name="vocabulary">The vocabulary the model was trained with: token id i is output i of the model.</param>
public sealed class TextGenerator(SequenceModel model, Vocabulary vocabulary)
{
    /// <summary>The language model that generates (shared, not copied).</summary>
    public SequenceModel Model { get; } = model;
    /// <summary>Turns text into the model's token ids and sampled ids back into text (characters or words).</summary>
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
        return GenerateTokens(context, length, sampler, rng);
    }

    private IEnumerable<string> GenerateTokens(int[] context, int length, Sampler sampler, Rng rng)
    {
        var stepper = new LanguageModelStepper(Model);
        stepper.Prime(context);
        for (int i = 0; i < length; i++)
        {
            int next = sampler.Sample(stepper.Logits.Span, rng);
            yield return Vocabulary.Render(next);
            if (i + 1 < length) stepper.Step(next);
        }
    }

    /// <summary>The k most likely next tokens after <paramref name="context"/>, with probabilities.</summary>
    public IReadOnlyList<(string Token, double Probability)> NextTokens(string context, int k)
    {
        var ids = EncodeContext(context);
        var stepper = new LanguageModelStepper(Model);
        return Sampler.TopTokens(stepper.Prime(ids), k)
            .Select(t => (Vocabulary.TokenOf(t.Id), t.Probability)).ToList();
    }
}
