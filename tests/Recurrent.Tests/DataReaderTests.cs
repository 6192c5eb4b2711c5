using System.IO.Compression;
using System.Text;
using Recurrent.Data;

namespace Recurrent.Tests;

/// <summary>
/// The readers of Recurrent.Data against the real files in ../shared/data (counts, first and last
/// values, tag sets) and against small broken files written to a temporary folder.
/// </summary>
public sealed class DataReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("recurrent-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Shared(string relative)
    {
        string path = Path.GetFullPath(Path.Combine(TestPaths.RepoRoot, "..", "shared", "data", relative));
        Assert.True(File.Exists(path) || Directory.Exists(path), $"The shared data '{path}' is missing (see ../shared/data/README.md).");
        return path;
    }

    private string Write(string name, string text) => WriteBytes(name, Encoding.UTF8.GetBytes(text));

    private string WriteBytes(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static DataFormatException Fails(Action read, string where)
    {
        var e = Assert.Throws<DataFormatException>(read);
        Assert.Contains(where, e.Message);
        Assert.DoesNotContain("\n", e.Message);
        return e;
    }

    // ---- labeled text ----

    [Fact]
    public void NamesAreEighteenClassesInOrdinalFileOrder()
    {
        var names = LabeledTextReader.ReadFilePerClass(Shared("names"));
        Assert.Equal(20_074, names.Count);
        var labels = names.Select(n => n.Label).Distinct().ToList();
        Assert.Equal(18, labels.Count);
        Assert.Equal(labels.Order(StringComparer.Ordinal), labels);
        Assert.Equal(new Labeled<string>("Khoury", "Arabic"), names[0]);
        Assert.Equal(new Labeled<string>("Vuu", "Vietnamese"), names[^1]);
        Assert.Equal(9_408, names.Count(n => n.Label == "Russian"));
        Assert.Equal(18_015, names.Distinct().Count()); // the README's de-duplicated count
    }

    [Fact]
    public void StratifiedSplitKeepsEachClassProportionAndDependsOnlyOnTheSeed()
    {
        var names = LabeledTextReader.ReadFilePerClass(Shared("names")).Distinct().ToList();
        var (train, valid, test) = Splits.StratifiedSplit(names, n => n.Label, 0.8, 0.1, seed: 7);
        Assert.Equal(names.Count, train.Count + valid.Count + test.Count);
        Assert.Empty(train.Intersect(test));
        Assert.Empty(train.Intersect(valid));
        foreach (var group in names.GroupBy(n => n.Label))
        {
            int n = group.Count();
            Assert.Equal((int)Math.Round(n * 0.8), train.Count(x => x.Label == group.Key));
            Assert.Equal((int)Math.Round(n * (0.8 + 0.1)) - (int)Math.Round(n * 0.8), valid.Count(x => x.Label == group.Key));
        }
        var again = Splits.StratifiedSplit(names, n => n.Label, 0.8, 0.1, seed: 7);
        Assert.Equal(train, again.Train);
        Assert.Equal(test, again.Test);
        var other = Splits.StratifiedSplit(names, n => n.Label, 0.8, 0.1, seed: 8);
        Assert.NotEqual(test, other.Test);
        Assert.Equal(test.Count, other.Test.Count);
    }

    [Fact]
    public void CsvQuotedFieldsHoldCommasAndDoubledQuotes()
    {
        string path = Write("reviews.csv", "\uFEFFtext,label\n\"Hello, world\",pos\n\n\"She said \"\"hi\"\"\",neg\r\nplain,neg\n\"\",pos");
        var e = Fails(() => LabeledTextReader.ReadDelimited(path, new LabeledTextFormat { HasHeader = true }), "reviews.csv:6: the text (field 1) is empty.");
        Assert.Equal(6, e.Line);
        File.WriteAllText(path, "\uFEFFtext,label\n\"Hello, world\",pos\n\n\"She said \"\"hi\"\"\",neg\r\nplain,neg\n");
        var rows = LabeledTextReader.ReadDelimited(path, new LabeledTextFormat { HasHeader = true });
        Assert.Equal([new("Hello, world", "pos"), new("She said \"hi\"", "neg"), new("plain", "neg")], rows);
        Assert.Same(rows[1].Label, rows[2].Label); // labels are pooled
        var headerAsData = LabeledTextReader.ReadDelimited(path);
        Assert.Equal(new Labeled<string>("text", "label"), headerAsData[0]); // the BOM is not part of the text
    }

    [Fact]
    public void TsvTakesQuotesLiterallyAndColumnsCanBeChosen()
    {
        string path = Write("data.tsv", "1\tpos\tHe said \"so\", twice\n2\tneg\t\"fine\n");
        var rows = LabeledTextReader.ReadDelimited(path, new LabeledTextFormat { TextColumn = 2, LabelColumn = 1 });
        Assert.Equal([new("He said \"so\", twice", "pos"), new("\"fine", "neg")], rows);
    }

    [Fact]
    public void DelimitedErrorsNameTheFileAndLine()
    {
        string tsv = Write("data.tsv", "good\tpos\n\nalso good\tneg\nno label here\n");
        Fails(() => LabeledTextReader.ReadDelimited(tsv), "data.tsv:4: expected 2 tab-separated fields (as on line 1); found 1.");
        Fails(() => LabeledTextReader.ReadDelimited(Write("one.tsv", "just text\n")), "one.tsv:1: expected at least 2 tab-separated fields");
        Fails(() => LabeledTextReader.ReadDelimited(Write("label.tsv", "text\tpos\nmore text\t \n")), "label.tsv:2: the label (field 2) is empty.");
        Fails(() => LabeledTextReader.ReadDelimited(Write("quote.csv", "a,pos\n\"open, neg\n")), "quote.csv:2: field 1 opens a quote that is not closed");
        Fails(() => LabeledTextReader.ReadDelimited(Write("after.csv", "\"a\"b,pos\n")), "after.csv:1: field 1 has 'b' after its closing quote");
        Fails(() => LabeledTextReader.ReadDelimited(Write("empty.csv", "\n\n")), "empty.csv: has no examples.");
        Fails(() => LabeledTextReader.ReadDelimited(Path.Combine(_dir, "absent.tsv")), "absent.tsv: file not found.");
        byte[] bad = [.. "fine\tpos\nbad "u8, 0xC3, 0x28, .. "\tneg\n"u8];
        Fails(() => LabeledTextReader.ReadDelimited(WriteBytes("bad.tsv", bad)), "bad.tsv:2: not valid UTF-8 (byte 0xC3).");
    }

    [Fact]
    public void FolderPerClassReadsWholeFilesInOrdinalOrder()
    {
        Write("imdb/pos/b.txt", "  Second\r\ngood one.\r\n");
        Write("imdb/pos/a.txt", "First good.");
        Write("imdb/neg/0.txt", "Bad.\n");
        Write("imdb/unsup/9.txt", "Unlabeled.");
        Write("imdb/urls_pos.txt", "not a class");
        string root = Path.Combine(_dir, "imdb");
        var all = LabeledTextReader.ReadFolderPerClass(root);
        Assert.Equal(["neg", "pos", "pos", "unsup"], all.Select(x => x.Label));
        var labeled = LabeledTextReader.ReadFolderPerClass(root, classes: ["pos", "neg"]);
        Assert.Equal([new("Bad.", "neg"), new("First good.", "pos"), new("Second\ngood one.", "pos")], labeled);
        Fails(() => LabeledTextReader.ReadFolderPerClass(root, classes: ["neutral"]), "has no class folder 'neutral'.");
        Write("imdb/neg/1.txt", " \n");
        Fails(() => LabeledTextReader.ReadFolderPerClass(root), "1.txt: is empty.");
        Fails(() => LabeledTextReader.ReadFilePerClass(Path.Combine(_dir, "nowhere")), "nowhere: folder not found.");
    }

    // ---- CoNLL-U ----

    // Reference counts, computed independently of the C# reader (and equal to the UD README's):
    //   awk -F'\t' '/^#/{next} /^[ \t\r]*$/{if(w_in)s++; w_in=0; next}
    //               $1 ~ /^[0-9]+$/ {w++; w_in=1; t[$4]++; x[$5]++}
    //               END{if(w_in)s++; for(k in t)n++; for(k in x)m++; print s, w, n, m}' FILE   (zcat for train)
    //   dev 2001 25147 17 49, test 2077 25094 17 48, train 12544 204577 17 -.
    [Theory]
    [InlineData("en_ewt-ud-dev.conllu", 2_001, 25_147, 49)]
    [InlineData("en_ewt-ud-test.conllu", 2_077, 25_094, 48)]
    [InlineData("en_ewt-ud-train.conllu.gz", 12_544, 204_577, 0)]
    public void EnglishWebTreebankHasTheReferenceCountsAndTheSeventeenUposTags(string file, int sentences, int words, int xposTags)
    {
        string path = Shared("ud-english-ewt/" + file);
        var data = ConlluReader.Read(path);
        Assert.Equal(sentences, data.Count);
        Assert.Equal(words, data.Sum(s => s.Words.Length));
        Assert.All(data, s => Assert.Equal(s.Words.Length, s.Tags.Length));
        string[] upos = ["ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"];
        Assert.Equal(upos, data.SelectMany(s => s.Tags).Distinct().Order(StringComparer.Ordinal));
        if (file.Contains("dev"))
        {
            Assert.Equal(["From", "the", "AP", "comes", "this", "story", ":"], data[0].Words);
            Assert.Equal(["ADP", "DET", "PROPN", "VERB", "DET", "NOUN", "PUNCT"], data[0].Tags);
            Assert.Equal(["IN", "DT", "NNP", "VBZ", "DT", "NN", ":"], ConlluReader.Read(path, TagColumn.Xpos)[0].Tags);
        }
        if (xposTags > 0)
        {
            var xpos = ConlluReader.Read(path, TagColumn.Xpos);
            Assert.Equal(xposTags, xpos.SelectMany(s => s.Tags).Distinct().Count());
            Assert.Equal(data.Select(s => s.Words), xpos.Select(s => s.Words));
        }
    }

    private const string TinyConllu =
        "# sent_id = 1\n" +
        "# text = I don't know.\n" +
        "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n" +
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n" +
        "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n" +
        "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n" +
        "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n" +
        "4.1\tknows\t_\t_\t_\t_\t_\t_\t4:conj\t_\n" +
        "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n" +
        "\n\n" +
        "1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_"; // the last sentence has no blank line after it

    [Fact]
    public void ConlluSkipsMultiwordTokensAndEmptyNodesAndKeepsAFinalSentence()
    {
        var sentences = ConlluReader.Read(Write("tiny.conllu", TinyConllu));
        Assert.Equal(2, sentences.Count);
        Assert.Equal(["I", "do", "n't", "know", "."], sentences[0].Words);
        Assert.Equal(["PRON", "AUX", "PART", "VERB", "PUNCT"], sentences[0].Tags);
        Assert.Equal(["Yes"], sentences[1].Words);
        Assert.Equal(["UH"], ConlluReader.Read(Write("tiny.conllu", TinyConllu), TagColumn.Xpos)[1].Tags);

        string gz = Path.Combine(_dir, "tiny.conllu.gz");
        using (var gzip = new GZipStream(File.Create(gz), CompressionLevel.Optimal)) gzip.Write(Encoding.UTF8.GetBytes(TinyConllu));
        Assert.Equal(["I", "do", "n't", "know", "."], ConlluReader.Read(gz)[0].Words);
    }

    [Fact]
    public void ConlluErrorsNameTheFileAndLine()
    {
        string Broken(string from, string to) => Write("broken.conllu", TinyConllu.Replace(from, to));
        Fails(() => ConlluReader.Read(Broken("3\tn't\tnot\tPART\tRB\t_\t4\t", "3\tn't\tnot\tPART\tRB\t_\t4")), "broken.conllu:6: expected 10 tab-separated columns (CoNLL-U); found 9.");
        Fails(() => ConlluReader.Read(Broken("5\t.", "6\t.")), "broken.conllu:9: word ID 6 should be 5");
        Fails(() => ConlluReader.Read(Broken("\tAUX\t", "\t_\t")), "broken.conllu:5: word 'do' has no UPOS tag (column 4 is '_').");
        Fails(() => ConlluReader.Read(Broken("\n\n1\tYes", "\n\n# lonely comment\n\n1\tYes")), "broken.conllu:12: the sentence starting here has no words.");
        Fails(() => ConlluReader.Read(Broken("4.1\t", "4.x\t")), "broken.conllu:8: ID '4.x' is not a word number");
        Fails(() => ConlluReader.Read(Write("bad.conllu.gz", "not gzip at all")), "bad.conllu.gz: is not a valid gzip file");
    }

    // ---- time series ----

    [Theory]
    [InlineData("airline-passengers.csv", "Passengers", 144, "1949-01-01", 112f, "1960-12-01", 432f)]
    [InlineData("daily-min-temperatures.csv", "Temp", 3_650, "1981-01-01", 20.7f, "1990-12-31", 13.0f)]
    [InlineData("monthly-sunspots.csv", "Sunspots", 2_820, "1749-01-01", 58.0f, "1983-12-01", 33.4f)]
    public void ClassicSeriesHaveTheirRowsDatesAndValues(string file, string column, int rows, string first, float firstValue, string last, float lastValue)
    {
        var series = TimeSeriesCsv.Read(Shared("timeseries/" + file));
        Assert.Equal(rows, series.Rows);
        Assert.Equal([column], series.Columns);
        Assert.Equal(DateTime.Parse(first), series.Dates[0]);
        Assert.Equal(DateTime.Parse(last), series.Dates[^1]);
        Assert.Equal(firstValue, series[0, 0]);
        Assert.Equal(lastValue, series[rows - 1, series.ColumnIndex(column)]);
        Assert.Empty(series.Warnings);
    }

    private static readonly string[] PollutionValues = ["pm2.5", "DEWP", "TEMP", "PRES", "Iws", "Is", "Ir"];

    [Fact]
    public void PollutionNeedsItsWindColumnEncodedAndItsMissingValuesHandled()
    {
        string path = Shared("beijing-pm25/pollution.csv");
        Fails(() => TimeSeriesCsv.Read(path, new TimeSeriesFormat { ValueColumns = PollutionValues }), "pollution.csv:2: column 'pm2.5': missing value 'NA'");
        Fails(() => TimeSeriesCsv.Read(path, new TimeSeriesFormat { MissingValues = MissingValues.FillForward }), "pollution.csv:2: column 'cbwd': 'NW' is not a number; list the column in OneHotColumns");

        var filled = TimeSeriesCsv.Read(path, new TimeSeriesFormat { ValueColumns = PollutionValues, OneHotColumns = ["cbwd"], MissingValues = MissingValues.FillForward });
        Assert.Equal(43_824, filled.Rows);
        Assert.Equal([.. PollutionValues, "cbwd=NE", "cbwd=NW", "cbwd=SE", "cbwd=cv"], filled.Columns);
        Assert.Equal(new DateTime(2010, 1, 1, 0, 0, 0), filled.Dates[0]);
        Assert.Equal(new DateTime(2014, 12, 31, 23, 0, 0), filled.Dates[^1]);
        Assert.Equal(129f, filled[0, 0]); // the first 24 hours are NA: filled with the first value (row 25)
        Assert.Equal(12f, filled[filled.Rows - 1, 0]);
        Assert.Equal(249.85f, filled[filled.Rows - 1, filled.ColumnIndex("Iws")]);
        Assert.Equal(1f, filled[0, filled.ColumnIndex("cbwd=NW")]);
        for (int r = 0; r < filled.Rows; r++) Assert.Equal(1f, filled.Row(r)[^4..].ToArray().Sum());
        Assert.Equal(4_997, Enumerable.Range(0, filled.Rows).Count(r => filled[r, filled.ColumnIndex("cbwd=NE")] == 1));
        Assert.Contains("filled 2067 missing values", Assert.Single(filled.Warnings));

        var dropped = TimeSeriesCsv.Read(path, new TimeSeriesFormat { ValueColumns = ["pm2.5", "TEMP"], MissingValues = MissingValues.Drop });
        Assert.Equal(43_824 - 2_067, dropped.Rows);
        Assert.Contains("dropped 2067 of 43824 rows", Assert.Single(dropped.Warnings));
        Assert.Equal(new DateTime(2010, 1, 2, 0, 0, 0), dropped.Dates[0]);
    }

    [Fact]
    public void EachMissingValuePolicyFillsAsDocumented()
    {
        string path = Write("gaps.csv", "date,a,b\n2020-01-01,NA,1\n2020-01-02,2,NaN\n2020-01-03,,3\n2020-01-04,NA,4\n2020-01-05,8,\n2020-01-06,9,6\n");
        TimeSeries Read(MissingValues policy) => TimeSeriesCsv.Read(path, new TimeSeriesFormat { MissingValues = policy });
        float[] Column(TimeSeries s, int c) => Enumerable.Range(0, s.Rows).Select(r => s[r, c]).ToArray();

        Fails(() => Read(MissingValues.Error), "gaps.csv:2: column 'a': missing value 'NA'");
        var forward = Read(MissingValues.FillForward);
        Assert.Equal([2f, 2, 2, 2, 8, 9], Column(forward, 0)); // before the first value: the first value
        Assert.Equal([1f, 1, 3, 4, 4, 6], Column(forward, 1));
        Assert.Contains("filled 5 missing values (FillForward)", Assert.Single(forward.Warnings));
        var linear = Read(MissingValues.Interpolate);
        Assert.Equal([2f, 2, 4, 6, 8, 9], Column(linear, 0));
        Assert.Equal([1f, 2, 3, 4, 5, 6], Column(linear, 1));
        var dropped = Read(MissingValues.Drop);
        Assert.Equal([new DateTime(2020, 1, 6)], dropped.Dates);
        Assert.Equal([9f, 6], dropped.Values);
        Assert.Contains("dropped 5 of 6 rows", Assert.Single(dropped.Warnings));
    }

    [Fact]
    public void TimeSeriesErrorsNameTheFileLineAndColumn()
    {
        Fails(() => TimeSeriesCsv.Read(Write("n.csv", "Month,x\n1949-01,1\n1949-02,1.5.2\n")), "n.csv:3: column 'x': '1.5.2' is not a number; list the column in OneHotColumns");
        Fails(() => TimeSeriesCsv.Read(Write("v.csv", "Month,x,y\n1949-01,1,2\n1949-02,2,b\n"), new TimeSeriesFormat { ValueColumns = ["y"] }), "v.csv:3: column 'y': 'b' is not a number.");
        Fails(() => TimeSeriesCsv.Read(Write("d.csv", "Month,x\n1949-01,1\n1949-03,2\n1949-02,3\n")), "d.csv:4: date 1949-02-01T00:00:00 is not after the previous row's 1949-03-01T00:00:00");
        Fails(() => TimeSeriesCsv.Read(Write("s.csv", "Month,x\n1949-01,1\n1949-01,2\n")), "s.csv:3: date 1949-01-01T00:00:00 is not after");
        Fails(() => TimeSeriesCsv.Read(Write("c.csv", "Month,x\n1949-01,1,3\n")), "c.csv:2: expected 2 fields (as in the header); found 3.");
        Fails(() => TimeSeriesCsv.Read(Write("t.csv", "Month,x\n01/02/1949,1\n")), "t.csv:2: column 'Month': '01/02/1949' is not a date");
        Fails(() => TimeSeriesCsv.Read(Write("p.csv", "year,month,day,hour,x\n2010,2,30,0,1\n")), "p.csv:2: year 2010, month 2, day 30, hour 0 is not a valid time.");
        Fails(() => TimeSeriesCsv.Read(Write("i.csv", "Month,x\n1949-01,Infinity\n")), "i.csv:2: column 'x': 'Infinity' is not a number");
        Fails(() => TimeSeriesCsv.Read(Write("h.csv", "Month,x\n"), new TimeSeriesFormat { ValueColumns = ["y"] }), "h.csv:1: no column 'y' in the header; the columns are Month, x.");
        Fails(() => TimeSeriesCsv.Read(WriteBytes("u.csv", [.. "Month,x\n1949-01,1\n1949-02,"u8, 0xFF, .. "\n"u8])), "u.csv:3: not valid UTF-8 (byte 0xFF).");
        Fails(() => TimeSeriesCsv.Read(Write("e.csv", "Month,x\n")), "e.csv: has a header but no data rows.");
    }

    [Fact]
    public void DatesMayBeSplitOverYearMonthDayHourColumns()
    {
        var series = TimeSeriesCsv.Read(Write("parts.csv", "No,year,month,day,hour,v\n1,2012,2,29,23,1\n2,2012,3,1,0,2\n"));
        Assert.Equal([new DateTime(2012, 2, 29, 23, 0, 0), new DateTime(2012, 3, 1, 0, 0, 0)], series.Dates);
        Assert.Equal(["No", "v"], series.Columns);
        var text = TimeSeriesCsv.Read(Write("iso.csv", "\"when\",\"v\"\n\"2012-02-29 23:00:00\",1\n2012-03-01T00:30:00,2\n"));
        Assert.Equal(new DateTime(2012, 3, 1, 0, 30, 0), text.Dates[1]);
    }

    [Fact]
    public void WindowsReadTRowsAndPredictTheNextHRows()
    {
        var series = TimeSeriesCsv.Read(Write("w.csv", "t,a,b\n" + string.Concat(Enumerable.Range(0, 10).Select(i => $"2000-01-{i + 1:00},{i},{100 + i}\n"))));
        var windows = new TimeSeriesWindows(series, inputLength: 3, horizon: 2, targetColumns: ["b"]);
        Assert.Equal(10 - 3 - 2 + 1, windows.Count);
        Assert.Equal([4f, 104, 5, 105, 6, 106], windows.Input(4));
        Assert.Equal([107f, 108], windows.Target(4));
        Assert.Throws<ArgumentOutOfRangeException>(() => windows.Input(6));

        var inputs = new float[windows.InputSize * 2];
        var targets = new float[windows.TargetSize * 2];
        windows.FillBatch([1, 4], inputs, targets); // time-major [T, B, features]
        Assert.Equal([1f, 101, 4, 104, 2, 102, 5, 105, 3, 103, 6, 106], inputs);
        Assert.Equal([104f, 107, 105, 108], targets);
        var onlyA = new TimeSeriesWindows(series, 2, 1, ["b"], inputColumns: ["a"]);
        Assert.Equal([7f, 8], onlyA.Input(7));
    }

    [Fact]
    public void SplitByTimeNeverLetsALaterTargetIntoAnEarlierSplit()
    {
        var series = TimeSeriesCsv.Read(Shared("timeseries/airline-passengers.csv"));
        var windows = new TimeSeriesWindows(series, inputLength: 12, horizon: 3, targetColumns: ["Passengers"]);
        var split = windows.SplitByTime(0.7, 0.15);
        Assert.Equal((101, 122), (split.TrainEnd, split.ValidEnd)); // round(144·0.7), round(144·0.85)
        int T = windows.InputLength, h = windows.Horizon;
        (int First, int Last) Targets(WindowRange r) => (r.Start + T, r.End - 1 + T + h - 1);
        Assert.Equal((12, 100), Targets(split.Train));
        Assert.Equal((101, 121), Targets(split.Valid));
        Assert.Equal((122, 143), Targets(split.Test));
        Assert.Equal(split.Valid.Start + T, split.TrainEnd);   // the first valid window reads the last T train rows
        Assert.True(split.Train.End <= split.Valid.Start && split.Valid.End <= split.Test.Start);
        Assert.Equal(windows.Count, split.Test.End);
        var e = Assert.Throws<ArgumentException>(() => windows.SplitByTime(0.97, 0.01)); // 1 validation row, 3-row targets
        Assert.Contains("validation segment (rows 140–140) is too short", e.Message);
    }

    [Fact]
    public void NormalizerUsesTrainingRowsOnlyAndInvertsExactly()
    {
        var series = TimeSeriesCsv.Read(Shared("timeseries/airline-passengers.csv"));
        var windows = new TimeSeriesWindows(series, 12, 1, ["Passengers"]);
        var split = windows.SplitByTime(0.8, 0.1);
        var normalizer = Normalizer.Fit(series, split.TrainEnd);
        var train = series.Values[..split.TrainEnd];
        double mean = train.Average(v => (double)v);
        Assert.Equal(mean, normalizer.Mean[0], 3);
        Assert.Equal(Math.Sqrt(train.Average(v => (v - mean) * (v - mean))), normalizer.Std[0], 3);
        Assert.True(series.Values.Average(v => (double)v) > mean + 10); // the whole series (growing) would give another mean

        var scaled = windows.Normalize(normalizer);
        var scaledTrain = scaled.Series.Values[..split.TrainEnd];
        Assert.Equal(0, scaledTrain.Average(v => (double)v), 5);
        Assert.Equal(1, Math.Sqrt(scaledTrain.Average(v => (double)v * v)), 5);
        var target = scaled.Target(split.Test.Start);
        normalizer.Invert(scaled.TargetColumns, target);
        Assert.Equal(windows.Target(split.Test.Start)[0], target[0], 0.01);
        Assert.Throws<ArgumentException>(() => normalizer.Invert(["Month"], target));
    }
}
