using Recurrent.Numerics;

namespace Recurrent.Data;

/// <summary>Seeded train/validation/test splits of example lists.</summary>
public static class Splits
{
    /// <summary>
    /// Splits each class by the same fractions, so every part keeps the class proportions (the
    /// surnames data: 0.8, 0.1, leaving 0.1 for test). The classes are visited in ordinal order of
    /// their labels; each class's items (in input order) are shuffled with one <see cref="Rng"/>
    /// seeded by <paramref name="seed"/>, then its first round(n·train) items go to train, the
    /// items up to round(n·(train + valid)) to valid, and the rest to test. The output is grouped
    /// by class: shuffle the training examples each epoch. The same items and seed give the same
    /// split. Duplicates are not removed: remove them first (e.g. <c>items.Distinct()</c> for
    /// records) or a repeated example can land in both train and test.
    /// </summary>
    public static (List<T> Train, List<T> Valid, List<T> Test) StratifiedSplit<T>(IReadOnlyList<T> items, Func<T, string> label, double train, double valid, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(label);
        if (!(train > 0 && valid >= 0 && train + valid <= 1))
            throw new ArgumentOutOfRangeException(nameof(train), $"Fractions train = {train}, valid = {valid} must satisfy train > 0, valid >= 0, train + valid <= 1.");
        var classes = new SortedDictionary<string, List<T>>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            string key = label(item);
            if (!classes.TryGetValue(key, out var members)) classes[key] = members = [];
            members.Add(item);
        }
        var rng = new Rng(seed);
        (List<T> Train, List<T> Valid, List<T> Test) split = ([], [], []);
        foreach (var members in classes.Values)
        {
            var shuffled = members.ToArray();
            rng.Shuffle(shuffled.AsSpan());
            int n = shuffled.Length;
            int trainEnd = (int)Math.Round(n * train);
            int validEnd = Math.Min(n, (int)Math.Round(n * (train + valid)));
            split.Train.AddRange(shuffled[..trainEnd]);
            split.Valid.AddRange(shuffled[trainEnd..validEnd]);
            split.Test.AddRange(shuffled[validEnd..]);
        }
        return split;
    }
}
