using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Recurrent.Numerics;
using Recurrent.Training;

namespace Recurrent.Tests;

/// <summary>The `recurrent` tool started as a process, with environment variables, and signalled.</summary>
public static class CliProcess
{
    public static ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Recurrent.Cli.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        return start;
    }

    public static Cli.Result Run(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var process = Process.Start(StartInfo(environment, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3))) { process.Kill(true); throw new TimeoutException("recurrent " + string.Join(' ', args)); }
        return new Cli.Result(process.ExitCode, stdout.Result, stderr.Result);
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int signal);

    public const int SigInt = 2, SigKill = 9, SigTerm = 15;

    public static void Signal(Process process, int signal)
    {
        if (SysKill(process.Id, signal) != 0) throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastWin32Error()}");
    }
}

/// <summary>The findings of issue 11 that show at the command line.</summary>
public class CliReliabilityTests(TrainedRun run) : IClassFixture<TrainedRun>
{
    private string[] Small(string outDir, params string[] extra) =>
        ["train", "--data", run.Corpus, "--level", "char", "--cell", "gru", "--layers", "1", "--hidden", "16", "--embed", "8",
            "--batch", "8", "--bptt", "16", "--threads", "1", "--out", outDir, .. extra];

    // Finding 1, at the command line: a smaller --data on resume must not spin.
    [Fact]
    public void ResumeWithSmallerDataFailsFast()
    {
        using var dir = new TempDir();
        string outDir = dir.File("r");
        var first = Cli.Run(Small(outDir, "--epochs", "1", "--quiet"));
        Assert.True(first.ExitCode == 0, first.Err);
        File.WriteAllText(dir.File("small.txt"), File.ReadAllText(run.Corpus)[..400]);
        var watch = Stopwatch.StartNew();
        var r = Cli.Run(["train", "--data", dir.File("small.txt"), "--out", outDir, "--resume", "--epochs", "3"]);
        Cli.AssertOneLineError(r, "--data");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60));
    }

    // Finding 2: an exploding loss ends the run with one line that says what to change.
    [Fact]
    public void DivergenceStopsWithOneLineThatSaysWhatToChange()
    {
        using var dir = new TempDir();
        string outDir = dir.File("d");
        var r = Cli.Run(Small(outDir, "--optimizer", "sgd", "--lr", "1e6", "--clip", "0", "--epochs", "3"));
        Cli.AssertOneLineError(r, "diverged", "--lr");
        Assert.Equal(1, r.ExitCode);
        Assert.False(File.Exists(Path.Combine(outDir, Trainer.BestFile)));
    }

    // Finding 3: a checkpoint with NaN weights and a valid checksum is refused by every command, naming the tensor.
    [Fact]
    public void NonFiniteWeightsAreRefusedAtLoadNamingTheTensor()
    {
        using var dir = new TempDir();
        var good = Checkpoint.Load(Path.Combine(run.Out, Trainer.BestFile));
        var weights = good.Weights.ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        weights["rnn.weight_hh_l0"].Span[3] = float.NaN;
        var bad = new Checkpoint { Model = good.Model, Metadata = good.Metadata, Training = good.Training, Progress = good.Progress, Weights = weights };
        string path = dir.File("nan.ckpt");
        bad.Save(path);
        Cli.AssertOneLineError(Cli.Run("sample", "--model", path, "--length", "10"), "weight_hh_l0");
        Cli.AssertOneLineError(Cli.Run("next", "--model", path, "to be", "--json"), "weight_hh_l0");
        Cli.AssertOneLineError(Cli.Run("eval", "--model", path, "--data", run.Corpus, "--json"), "weight_hh_l0");
    }

    // Finding 4: a temperature whose inverse overflows is greedy sampling, not garbage.
    [Fact]
    public void ATinyTemperatureSamplesLikeGreedy()
    {
        var greedy = Cli.Run("sample", "--model", run.Out, "--prime", "to be", "--length", "30", "--temperature", "0");
        var tiny = Cli.Run("sample", "--model", run.Out, "--prime", "to be", "--length", "30", "--temperature", "1e-40");
        Assert.True(tiny.ExitCode == 0, tiny.Err);
        Assert.Equal(greedy.Out, tiny.Out);
    }

    // Finding 5: sizes checked against the data and memory before anything is allocated.
    [Fact]
    public void HugeSizesAreCheckedBeforeAllocating()
    {
        using var dir = new TempDir();
        string[] tiny = ["train", "--data", run.Corpus, "--cell", "gru", "--layers", "1", "--hidden", "8", "--embed", "4", "--bptt", "1000000", "--epochs", "1", "--quiet"];
        var a = Cli.Run([.. tiny, "--batch", "500", "--out", dir.File("a")]);
        Assert.True(a.ExitCode == 0, a.Err);
        Cli.AssertOneLineError(Cli.Run([.. tiny, "--batch", "3000", "--out", dir.File("a3")]), "--batch", "too few");
        Cli.AssertOneLineError(Cli.Run([.. tiny, "--batch", "65536", "--out", dir.File("b")]), "--batch", "too few");
        var eval = Cli.Run("eval", "--model", run.Out, "--data", run.Corpus, "--batch", "3000", "--bptt", "1000000", "--json");
        Assert.True(eval.ExitCode == 0, eval.Err);
        var hidden = Cli.Run("train", "--data", run.Corpus, "--hidden", "65536", "--out", dir.File("c"));
        Cli.AssertOneLineError(hidden, "--hidden", "GB");
        Assert.Equal(1, hidden.ExitCode);
        var limited = CliProcess.Run(new Dictionary<string, string> { ["RECURRENT_MEMORY_LIMIT"] = "8G" }, "train", "--data", run.Corpus, "--hidden", "16384", "--out", dir.File("d"));
        Cli.AssertOneLineError(limited, "--hidden", "GB");
        Assert.Equal(1, limited.ExitCode);
        Assert.False(Directory.Exists(dir.File("d")) && Directory.GetFiles(dir.File("d")).Length > 0);
    }

    // Finding 6: resume options are honoured or refused by name, and the start line says what the run uses.
    [Fact]
    public void ResumeHonoursOrRefusesEachOption()
    {
        using var dir = new TempDir();
        string outDir = dir.File("r");
        Assert.Equal(0, Cli.Run(Small(outDir, "--epochs", "1", "--quiet")).ExitCode);
        string[] resume = ["train", "--data", run.Corpus, "--out", outDir, "--resume"];
        Cli.AssertOneLineError(Cli.Run([.. resume, "--lr", "5"]), "--lr");
        Cli.AssertOneLineError(Cli.Run([.. resume, "--batch", "4"]), "--batch");
        Cli.AssertOneLineError(Cli.Run([.. resume, "--cell", "rnn"]), "--cell");
        Cli.AssertOneLineError(Cli.Run([.. resume, "--hidden", "999"]), "--hidden");
        Cli.AssertOneLineError(Cli.Run([.. resume, "--split", "0.5"]), "--split");
        // A finished 1-epoch run is not silently trained to 10 epochs.
        Cli.AssertOneLineError(Cli.Run(resume), "--epochs");
        Assert.Single(File.ReadAllLines(Path.Combine(outDir, Trainer.MetricsFile)));
        var more = Cli.Run([.. resume, "--epochs", "2", "--lr", "0.002"]);   // the same --lr as before is fine
        Assert.True(more.ExitCode == 0, more.Err);
        Assert.Contains("resuming", more.Out);
        Assert.Contains("lr 0.002", more.Out);
        Assert.Contains("epoch 2 of 2", more.Out);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, Trainer.MetricsFile)).Length);
    }

    // Finding 7: a second run into a directory that a live process holds is refused, naming the holder.
    [Fact]
    public void ARunDirectoryHeldByALiveProcessIsRefused()
    {
        using var dir = new TempDir();
        string outDir = dir.File("held");
        Directory.CreateDirectory(outDir);
        using var me = Process.GetCurrentProcess();
        File.WriteAllText(Path.Combine(outDir, "run.lock"),
            $"pid {Environment.ProcessId}\nstarted {me.StartTime.ToUniversalTime():O}\nhost {Environment.MachineName}\n");
        var r = Cli.Run(Small(outDir, "--epochs", "1"));
        Cli.AssertOneLineError(r, "run.lock", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.False(File.Exists(Path.Combine(outDir, Trainer.LatestFile)));
    }

    // Finding 8: Ctrl-C (SIGINT) and SIGTERM finish the step, save latest.ckpt and the plot, exit 130.
    [Theory]
    [InlineData(CliProcess.SigInt)]
    [InlineData(CliProcess.SigTerm)]
    public async Task InterruptSavesLatestAndThePlotAndExits130(int signal)
    {
        using var dir = new TempDir();
        string outDir = dir.File("i");
        File.WriteAllText(dir.File("big.txt"), string.Concat(Enumerable.Repeat(File.ReadAllText(run.Corpus), 200)));
        var start = CliProcess.StartInfo(null, "train", "--data", dir.File("big.txt"), "--cell", "lstm", "--layers", "2", "--hidden", "64", "--embed", "16",
            "--batch", "4", "--bptt", "32", "--epochs", "1000", "--threads", "1", "--out", outDir);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new System.Text.StringBuilder();
        using var training = new ManualResetEventSlim();
        process.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (stdout) stdout.AppendLine(e.Data); if (e.Data.StartsWith("training", StringComparison.Ordinal)) training.Set(); };
        process.BeginOutputReadLine();
        Assert.True(training.Wait(TimeSpan.FromSeconds(60)), "the run did not start");
        Thread.Sleep(1500);   // some steps (an epoch is ~2,400)
        CliProcess.Signal(process, signal);
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the run did not stop");
        await process.WaitForExitAsync();
        string err = await stderr;
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}: {err}\n{stdout}");
        // latest.ckpt is the one the signal made: at the step the run reports it stopped at.
        var stopped = System.Text.RegularExpressions.Regex.Match(err, "stopped at step ([0-9]+)");
        Assert.True(stopped.Success, err);
        var latest = Checkpoint.Load(Path.Combine(outDir, Trainer.LatestFile));
        Assert.True(latest.Progress.Step > 0);
        Assert.Equal(long.Parse(stopped.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), latest.Progress.Step);
        Assert.True(File.Exists(Path.Combine(outDir, "loss.png")), "no loss.png");
        Assert.False(File.Exists(Path.Combine(outDir, "run.lock")));
        Assert.Contains("--resume", err + stdout);
        // And it resumes from there.
        var resumed = Cli.Run("train", "--data", dir.File("big.txt"), "--out", outDir, "--resume", "--epochs", "1", "--quiet");
        Assert.True(resumed.ExitCode == 0, resumed.Err);
    }

    // A command with nothing to save (sample, eval, next, gradients, export, …) ends at the first
    // signal, as any Unix tool does, instead of announcing a step it never stops after.
    [Fact]
    public async Task ACommandWithNothingToSaveEndsAtTheFirstSignal()
    {
        var start = CliProcess.StartInfo(null, "sample", "--model", run.Out, "--length", "10000000", "--threads", "1");
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var writing = new ManualResetEventSlim();
        long chars = 0;
        var reading = Task.Run(() =>
        {
            var buffer = new char[4096];
            for (int n; (n = process.StandardOutput.Read(buffer)) > 0;)
                if (Interlocked.Add(ref chars, n) > 1000) writing.Set();
        });
        Assert.True(writing.Wait(TimeSpan.FromSeconds(60)), "sample did not start writing");
        CliProcess.Signal(process, CliProcess.SigInt);
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)), "sample kept running after SIGINT");
        await process.WaitForExitAsync();
        Assert.Equal(130, process.ExitCode);
        Assert.Equal("recurrent: interrupted", (await stderr).Trim());
        await reading;
        Assert.True(Interlocked.Read(ref chars) < 10_000_000, "sample wrote everything");
    }

    // Finding 10: the smaller ones.
    [Fact]
    public void EndlessInputIsCappedAndSaysSo()
    {
        using var dir = new TempDir();
        var r = Cli.Run("train", "--data", "/dev/zero", "--out", dir.File("z"));
        Cli.AssertOneLineError(r, "/dev/zero", "GiB");
    }

    [Fact]
    public void ATypoedCommandSuggestsTheClosestOne()
    {
        var r = Cli.Run("trian", "--data", run.Corpus);
        Cli.AssertOneLineError(r, "trian", "'train'");
        Assert.DoesNotContain("Required command", r.Err);
        Assert.Equal(2, r.ExitCode);
        Cli.AssertOneLineError(Cli.Run("classify", "tarin"), "tarin", "'train'");
    }

    [Fact]
    public void AWordLevelSplitNeverCutsAWord()
    {
        using var dir = new TempDir();
        // One line, no newline anywhere: the cut at 50 % falls inside the long word.
        string text = string.Concat(Enumerable.Repeat("ab cd ", 50)) + "abcdefghijklmnopqrstuvwxyz" + string.Concat(Enumerable.Repeat(" ab cd", 50));
        int middle = text.IndexOf("abcdefghijklm", StringComparison.Ordinal) + 13;
        File.WriteAllText(dir.File("line.txt"), text);
        string outDir = dir.File("w");
        var r = Cli.Run("train", "--data", dir.File("line.txt"), "--level", "word", "--split", ((double)middle / text.Length).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "--hidden", "8", "--embed", "4", "--layers", "1", "--batch", "2", "--bptt", "8", "--epochs", "1", "--out", outDir, "--quiet");
        Assert.True(r.ExitCode == 0, r.Err);
        var tokens = Text.Vocabulary.FromJson(Checkpoint.Load(Path.Combine(outDir, Trainer.LatestFile)).VocabularyJson).Tokens;
        Assert.DoesNotContain("abcdefghijklm", tokens);
    }

    [Fact]
    public void BadOutputDirectoriesAreFoundBeforeTraining()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("afile"), "x");
        var file = Cli.Run(Small(dir.File("afile"), "--epochs", "1"));
        Cli.AssertOneLineError(file, "afile", "not a directory");
        var proc = Cli.Run(Small("/proc/recurrent-test-out", "--epochs", "1"));
        Cli.AssertOneLineError(proc, "/proc/recurrent-test-out", "cannot create");
        // Exists but takes no files (even for root): found at start, before an epoch is trained.
        var readOnly = Cli.Run(Small("/proc/self", "--epochs", "1"));
        Cli.AssertOneLineError(readOnly, "/proc/self", "cannot write");
        Assert.DoesNotContain("epoch 1/", readOnly.Out);
    }
}
