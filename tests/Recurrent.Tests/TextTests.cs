using System.Text;
using Recurrent.Generation;
using Recurrent.Numerics;
using Recurrent.Text;

namespace Recurrent.Tests;

public class TextTests
{
    [Fact]
    public void CharVocabularyTreatsAstralCharactersAsOneToken()
    {
        const string text = "naïve 😀 café\n😀";
        var vocab = CharVocabulary.Build(text);
        var ids = vocab.Encode(text);
        Assert.Equal(text.EnumerateRunes().Count(), ids.Length);
        Assert.Equal(text, vocab.Decode(ids));
        Assert.Contains("😀", vocab.Tokens);
        var again = Vocabulary.FromJson(vocab.ToJson());
        Assert.IsType<CharVocabulary>(again);
        Assert.Equal(vocab.Tokens, again.Tokens);
    }

    [Fact]
    public void UnknownCharacterIsNamedWithItsPosition()
    {
        var vocab = CharVocabulary.Build("abc");
        var e = Assert.Throws<ArgumentException>(() => vocab.Encode("abxc"));
        Assert.Contains("'x'", e.Message);
        Assert.Contains("position 2", e.Message);
    }

    [Fact]
    public void WordVocabularyAppliesMinCountMaxSizeAndUnknown()
    {
        var words = WordVocabulary.Tokenize("a b a c\na b a\nd\n").ToList();
        Assert.Equal(["a", "b", "a", "c", "<eos>", "a", "b", "a", "<eos>", "d", "<eos>"], words);
        var vocab = WordVocabulary.Build(words, minCount: 2);
        Assert.Equal(["<eos>", "<unk>", "a", "b"], vocab.Tokens);
        Assert.Equal(vocab.UnknownId, vocab.Encode("c")[0]);
        var capped = WordVocabulary.Build(words, maxSize: 3);
        Assert.Equal(["<eos>", "<unk>", "a"], capped.Tokens);
        var again = (WordVocabulary)Vocabulary.FromJson(vocab.ToJson());
        Assert.Equal(vocab.Tokens, again.Tokens);
        Assert.Equal("a b \n", vocab.Decode(vocab.Encode("a b")));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"level\":\"char\"}")]
    [InlineData("{\"level\":\"bytes\",\"tokens\":[\"a\"]}")]
    [InlineData("{\"level\":\"char\",\"tokens\":[\"ab\"]}")]
    [InlineData("{\"level\":\"word\",\"tokens\":[\"a\"]}")]
    [InlineData("{\"level\":\"char\",\"tokens\":[\"a\",\"a\"]}")]
    public void MalformedVocabularyJsonIsAFormatError(string json) => Assert.Throws<FormatException>(() => Vocabulary.FromJson(json));

    [Fact]
    public void InvalidUtf8NamesFileAndOffset()
    {
        var path = Path.Combine(Path.GetTempPath(), $"recurrent-bad-{Guid.NewGuid():N}.txt");
        File.WriteAllBytes(path, [(byte)'o', (byte)'k', 0xC3, 0x28]);
        try
        {
            var e = Assert.Throws<FormatException>(() => TextCorpus.ReadFile(path));
            Assert.Contains(path, e.Message);
            Assert.Contains("byte 2", e.Message);
        }
        finally { File.Delete(path); }
        Assert.Throws<FileNotFoundException>(() => TextCorpus.ReadFile(path));
    }

    [Fact]
    public void BatchesTileEachStreamSoCarriedStateIsExact()
    {
        int[] ids = Enumerable.Range(0, 103).ToArray();   // 3 streams of 34 (1 dropped)
        var batches = new LanguageModelBatches(ids, batch: 3, bptt: 10);
        Assert.Equal(34, batches.StreamLength);
        Assert.Equal(4, batches.WindowCount);               // 33 input steps: 10, 10, 10, 3
        var inputs = new int[30];
        var targets = new int[30];
        var seen = new List<int>[3] { [], [], [] };
        int previousLastTarget0 = -1;
        for (int w = 0; w < batches.WindowCount; w++)
        {
            int T = batches.GetWindow(w, inputs, targets);
            Assert.Equal(w < 3 ? 10 : 3, T);
            if (previousLastTarget0 >= 0) Assert.Equal(previousLastTarget0, inputs[0]);   // the next window continues the stream
            for (int t = 0; t < T; t++)
                for (int b = 0; b < 3; b++)
                {
                    Assert.Equal(inputs[t * 3 + b] + 1, targets[t * 3 + b]);
                    seen[b].Add(inputs[t * 3 + b]);
                }
            previousLastTarget0 = targets[(T - 1) * 3];
        }
        for (int b = 0; b < 3; b++) Assert.Equal(Enumerable.Range(b * 34, 33), seen[b]);
        var e = Assert.Throws<ArgumentException>(() => new LanguageModelBatches([1, 2, 3], batch: 2, bptt: 4));
        Assert.Contains("too few", e.Message);
    }

    [Fact]
    public void DemoCorpusIsDeterministicAndAlwaysAgrees()
    {
        string a = DemoCorpus.Generate(500, new Rng(3));
        Assert.Equal(a, DemoCorpus.Generate(500, new Rng(3)));
        Assert.NotEqual(a, DemoCorpus.Generate(500, new Rng(4)));
        var lines = a.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(500, lines.Length);
        Assert.All(lines, l => Assert.True(DemoCorpus.Agrees(l), l));
        // Long-range cases exist: a relative clause whose noun has the other number.
        Assert.Contains(lines, l => l.Contains(" that the ") && !SameNumberAtBothEnds(l));
    }

    private static bool SameNumberAtBothEnds(string line)
    {
        var w = line.Split(' ');
        bool subjectPlural = DemoCorpus.Nouns.Any(n => n.Many == w[1] || n.Many == w[2]);
        bool innerPlural = DemoCorpus.Nouns.Any(n => n.Many == w[Array.IndexOf(w, "that") + 2]);
        return subjectPlural == innerPlural;
    }
}

public class SamplerTests
{
    private static readonly float[] Logits = [2.0f, 1.0f, 0.5f, -1.0f, 3.0f, 0.0f];

    [Fact]
    public void SameSeedSameSamples()
    {
        var s = new Sampler(0.9f, topK: 4);
        var rngA = new Rng(9); var rngB = new Rng(9);
        for (int i = 0; i < 50; i++) Assert.Equal(s.Sample(Logits, rngA), s.Sample(Logits, rngB));
    }

    [Fact]
    public void TopKAndTopPRestrictTheChoices()
    {
        var rng = new Rng(1);
        var topK = new Sampler(1f, topK: 2);
        for (int i = 0; i < 300; i++) Assert.Contains(topK.Sample(Logits, rng), new[] { 4, 0 });
        // Probabilities ≈ [.23, .08, .05, .01, .62, .03]: the smallest set reaching 0.8 is {4, 0}.
        var topP = new Sampler(1f, topP: 0.8f);
        for (int i = 0; i < 300; i++) Assert.Contains(topP.Sample(Logits, rng), new[] { 4, 0 });
        Assert.Equal(4, new Sampler(0f).Sample(Logits, rng));
    }

    [Fact]
    public void FrequenciesFollowTheSoftmax()
    {
        var rng = new Rng(2);
        var s = new Sampler(1f);
        var counts = new int[Logits.Length];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[s.Sample(Logits, rng)]++;
        var p = new float[Logits.Length];
        Sampler.Softmax(Logits, 1f, p);
        for (int i = 0; i < p.Length; i++)
        {
            double sd = Math.Sqrt(n * p[i] * (1 - p[i]));
            Assert.True(Math.Abs(counts[i] - n * p[i]) < 5 * sd + 1, $"token {i}: {counts[i]} vs expected {n * p[i]:F0}");
        }
    }

    [Fact]
    public void InvalidArgumentsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(-1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(1f, topK: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(1f, topP: 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(1f, topP: 1.5f));
    }
}
