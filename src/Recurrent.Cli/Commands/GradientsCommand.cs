using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Recurrent.Diagnostics;
using Recurrent.Serialization;
using Recurrent.Tasks;
using Spectre.Console;

namespace Recurrent.Cli.Commands;

/// <summary>
/// <c>recurrent gradients</c>: trains each chosen cell on a long-range task (the same number of
/// updates each, with and without gradient clipping) while recording ‖dL/dh_t‖ for every time
/// step from the BPTT backward, and writes heatmaps, a decay plot, a loss plot, gradients.json
/// and a table.
/// </summary>
public static class GradientsCommand
{
    public const string JsonFile = "gradients.json";
    public const string DecayFile = "decay.png";
    public const string LossFile = "loss.png";
    public static string HeatmapFile(string cell) => $"heatmap-{cell}.png";

    public sealed record Request(string Task, int Length, IReadOnlyList<CellRecipe> Cells, GradientFlowOptions Options, string OutDir, bool Quiet, bool CompareUnclipped = true);

    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = "Task: the adding problem, the copy (memory) task, or remembering the first token.", DefaultValueFactory = _ => "adding" };
        task.AcceptOnlyFromAmong("adding", "copy", "first-token");
        var length = new Option<int>("--length", "-T") { Description = "Sequence length T.", DefaultValueFactory = _ => 100 };
        var cells = new Option<string>("--cells") { Description = "Comma-separated cells: rnn-tanh, irnn, lstm, gru.", DefaultValueFactory = _ => "rnn-tanh,irnn,lstm,gru" };
        var steps = new Option<int>("--steps") { Description = "Training updates per cell (the same budget for every cell).", DefaultValueFactory = _ => 2000 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden size.", DefaultValueFactory = _ => 32 };
        var batch = new Option<int>("--batch") { Description = "Sequences per update.", DefaultValueFactory = _ => 32 };
        var lr = new Option<float>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 2e-3f };
        var optimizer = new Option<string>("--optimizer") { Description = "Adam (its steps hardly grow with the gradient) or plain SGD (they do: the classic exploding case).", DefaultValueFactory = _ => "adam" };
        optimizer.AcceptOnlyFromAmong("adam", "sgd");
        var clip = new Option<double>("--clip") { Description = "Global-norm clipping threshold of the clipped runs; each cell is also trained without clipping (0 = only without).", DefaultValueFactory = _ => 1.0 };
        var initScale = new Option<float>("--init-scale") { Description = "Multiply the initial recurrent weights by this (e.g. 3 makes gradients explode).", DefaultValueFactory = _ => 1f };
        var recordEvery = new Option<int>("--record-every") { Description = "Probe ‖dL/dh_t‖ every this many steps (0 = about 40 probes per run).", DefaultValueFactory = _ => 0 };
        var clipOnly = new Option<bool>("--clip-only") { Description = "Skip the unclipped comparison runs (halves the time)." };
        var probeBatch = new Option<int>("--probe-batch") { Description = "Sequences in the fixed probe batch.", DefaultValueFactory = _ => 64 };
        var seed = CommonOptions.Seed();
        var threads = CommonOptions.Threads();
        var outDir = new Option<string>("--out", "-o") { Description = "Output directory: heatmap-CELL.png, decay.png, loss.png, gradients.json.", DefaultValueFactory = _ => "gradients" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No progress output or table." };

        var command = new Command("gradients", "Measure and plot the gradient norm through time (vanishing/exploding gradients) of RNN, IRNN, LSTM and GRU cells on a long-range task.")
        {
            task, length, cells, steps, hidden, batch, lr, optimizer, clip, clipOnly, initScale, recordEvery, probeBatch, seed, threads, outDir, quiet,
        };
        command.SetAction(r => CliErrors.Run(() =>
        {
            int stepCount = r.GetValue(steps);
            if (stepCount is < 1 or > 10_000_000) throw new ArgumentException($"--steps is {stepCount}; it must be between 1 and 10000000.");
            int every = r.GetValue(recordEvery);
            if (every < 0) throw new ArgumentException($"--record-every is {every}; it must be 0 (automatic) or at least 1.");
            if (every == 0) every = Math.Max(1, stepCount / 40);
            double clipNorm = r.GetValue(clip);
            if (!(clipNorm >= 0 && double.IsFinite(clipNorm))) throw new ArgumentException($"--clip is {clipNorm}; it must be 0 (off) or a positive number.");
            int hiddenSize = r.GetValue(hidden);
            if (hiddenSize is < 1 or > 4096) throw new ArgumentException($"--hidden is {hiddenSize}; it must be between 1 and 4096.");
            int batchSize = r.GetValue(batch);
            if (batchSize is < 1 or > 65536) throw new ArgumentException($"--batch is {batchSize}; it must be between 1 and 65536.");
            float rate = r.GetValue(lr);
            if (!(rate > 0 && float.IsFinite(rate))) throw new ArgumentException($"--lr is {rate}; it must be a positive number.");
            float gain = r.GetValue(initScale);
            if (!(gain > 0 && float.IsFinite(gain))) throw new ArgumentException($"--init-scale is {gain}; it must be a positive number.");
            int probe = r.GetValue(probeBatch);
            if (probe is < 1 or > 65536) throw new ArgumentException($"--probe-batch is {probe}; it must be between 1 and 65536.");
            int threadCount = r.GetValue(threads);
            CommonOptions.CheckThreads(threadCount);
            int T = r.GetValue(length);
            var options = new GradientFlowOptions(stepCount, batchSize, rate, clipNorm > 0 ? clipNorm : null, hiddenSize, gain, every, probe,
                Seed: r.GetValue(seed), Threads: threadCount, Optimizer: r.GetValue(optimizer) == "sgd" ? TaskOptimizer.Sgd : TaskOptimizer.Adam) { JacobianTimes = T > 0 ? [0, T / 2, T - 1] : [] };
            var request = new Request(r.GetValue(task)!, T, ParseCells(r.GetValue(cells)!), options, r.GetValue(outDir)!, r.GetValue(quiet), !r.GetValue(clipOnly));
            Execute(request);
            return 0;
        }));
        return command;
    }

    public static IReadOnlyList<CellRecipe> ParseCells(string list)
    {
        var names = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0) throw new ArgumentException("--cells is empty; give one or more of: " + string.Join(", ", CellRecipe.All.Select(c => c.Name)) + ".");
        var recipes = new List<CellRecipe>();
        foreach (var name in names)
        {
            var recipe = CellRecipe.All.FirstOrDefault(c => c.Name == name)
                ?? throw new ArgumentException($"--cells: '{name}' is not a cell; choose from " + string.Join(", ", CellRecipe.All.Select(c => c.Name)) + ".");
            if (recipes.Contains(recipe)) throw new ArgumentException($"--cells names '{name}' twice.");
            recipes.Add(recipe);
        }
        return recipes;
    }

    /// <summary>A cell's runs: the main one (clipped when a threshold is set) and, when clipping is on, the same training without it.</summary>
    public sealed record CellRuns(CellRecipe Recipe, GradientFlowRun Main, GradientFlowRun? Unclipped);

    public static IReadOnlyList<CellRuns> Execute(Request request)
    {
        SequenceTask sequenceTask;
        try { sequenceTask = SequenceTask.Create(request.Task == "first-token" ? "first" : request.Task, request.Length); }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "length")
        {
            throw new ArgumentException($"--length is {request.Length}; " + e.Message.Split('\n')[0].Replace(" (Parameter 'length')", ""));
        }
        if (File.Exists(request.OutDir)) throw new IOException($"--out '{request.OutDir}' is a file; it must be a directory.");
        Directory.CreateDirectory(request.OutDir);
        var o = request.Options;
        if (!request.Quiet)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sequenceTask.Name} task, T = {sequenceTask.Length}: {o.Steps} updates per cell (batch {o.BatchSize}, {(o.Optimizer == TaskOptimizer.Sgd ? "SGD" : "Adam")} lr {o.LearningRate:G3}, hidden {o.HiddenSize}" +
                $"{(o.RecurrentGain != 1f ? $", recurrent weights ×{o.RecurrentGain:G3}" : "")}), {(o.ClipNorm is double c ? $"with clipping at {c:G3}{(request.CompareUnclipped ? " and without" : "")}" : "no clipping")}; output in {request.OutDir}"));

        var results = new List<CellRuns>();
        foreach (var recipe in request.Cells)
        {
            var main = Run(sequenceTask, recipe, o, request.Quiet);
            var unclipped = o.ClipNorm is null || !request.CompareUnclipped ? null : Run(sequenceTask, recipe, o with { ClipNorm = null }, request.Quiet);
            results.Add(new CellRuns(recipe, main, unclipped));
        }

        WriteHeatmaps(request.OutDir, sequenceTask, results);
        WriteDecayPlot(request.OutDir, sequenceTask, results);
        WriteLossPlot(request.OutDir, sequenceTask, results);
        AtomicFile.WriteAllBytes(Path.Combine(request.OutDir, JsonFile), Json(sequenceTask, request, results));
        if (!request.Quiet) PrintTable(sequenceTask, results);
        return results;
    }

    private static GradientFlowRun Run(SequenceTask task, CellRecipe recipe, GradientFlowOptions options, bool quiet)
    {
        var run = GradientFlow.Train(task, recipe, options);
        if (!quiet)
        {
            string clip = options.ClipNorm is double c ? string.Create(CultureInfo.InvariantCulture, $"clip {c:G3}") : "no clip";
            string outcome = run.Training.DivergedAt is int d ? $"diverged at step {d}" : string.Create(CultureInfo.InvariantCulture, $"held-out loss {run.FinalLoss:G4}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {recipe.Name,-8} {clip,-9} {outcome}, ‖dL/dh_1‖/‖dL/dh_T‖ {run.Initial.DecayRatio:E2} → {run.Trained.DecayRatio:E2}  ({run.Elapsed.TotalSeconds:F1} s)"));
        }
        return run;
    }

    private static double Log10(double v) => v > 0 && double.IsFinite(v) ? Math.Log10(v) : double.NaN;

    /// <summary>One heatmap per cell (main run): x = training step, y = time step t, colour = log10 ‖dL/dh_t‖; one colour scale for all cells.</summary>
    private static void WriteHeatmaps(string dir, SequenceTask task, IReadOnlyList<CellRuns> results)
    {
        int T = task.Length;
        var maps = new List<(CellRuns Runs, double[,] Values)>();
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var runs in results)
        {
            var snaps = runs.Main.Snapshots;
            var values = new double[T, snaps.Count];
            for (int j = 0; j < snaps.Count; j++)
                for (int t = 0; t < T; t++)
                {
                    double v = Log10(snaps[j].Norms[t]);
                    values[t, j] = v;
                    if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
                }
            maps.Add((runs, values));
        }
        if (!double.IsFinite(lo)) (lo, hi) = (-1, 0);
        if (hi <= lo) hi = lo + 1;
        foreach (var (runs, values) in maps)
        {
            var snaps = runs.Main.Snapshots;
            double xMax = Math.Max(snaps[^1].Step, 1);
            string clip = runs.Main.Options.ClipNorm is double c ? string.Create(CultureInfo.InvariantCulture, $", clip {c:G3}") : "";
            new HeatmapChart($"{runs.Recipe.Name} on {task.Name}, T = {T}{clip}: log10 ‖dL/dh_t‖", "training step", "time step t (loss at the top)",
                "log10 ‖dL/dh_t‖", values, 0, xMax, 0, T - 1) { ColorRange = (lo, hi) }
                .SavePng(Path.Combine(dir, HeatmapFile(runs.Recipe.Name)), 820, 480);
        }
    }

    /// <summary>‖dL/dh_t‖ against distance from the loss, every cell at initialisation and after training (main runs).</summary>
    private static void WriteDecayPlot(string dir, SequenceTask task, IReadOnlyList<CellRuns> results)
    {
        var chart = new LineChart($"Gradient through time: {task.Name}, T = {task.Length}", "distance from the loss (T − 1 − t)", "‖dL/dh_t‖") { LogY = true };
        var distance = Enumerable.Range(0, task.Length).Select(d => (double)d).ToArray();
        for (int k = 0; k < results.Count; k++)
        {
            var runs = results[k];
            chart.Add(new Series($"{runs.Recipe.Name} init", distance, ByDistance(runs.Main.Initial.Norms)) { Color = k, Dashed = true });
            chart.Add(new Series($"{runs.Recipe.Name} trained ({runs.Main.Trained.Step} steps)", distance, ByDistance(runs.Main.Trained.Norms)) { Color = k });
        }
        chart.SavePng(Path.Combine(dir, DecayFile), 900, 560);
    }

    private static double[] ByDistance(double[] norms) => [.. norms.Reverse()];

    /// <summary>Training loss per cell, clipped and unclipped runs, as a moving average over about 2% of the steps.</summary>
    private static void WriteLossPlot(string dir, SequenceTask task, IReadOnlyList<CellRuns> results)
    {
        int steps = results.Max(r => r.Main.Options.Steps);
        int window = Math.Max(1, steps / 50);
        string unit = task.Kind == TaskKind.Regression ? "mean squared error" : "cross-entropy (nats)";
        var chart = new LineChart($"Training loss: {task.Name}, T = {task.Length} (moving average over {window} steps)", "training step", unit) { LogY = true };
        for (int k = 0; k < results.Count; k++)
        {
            var runs = results[k];
            foreach (var run in new[] { runs.Main, runs.Unclipped })
            {
                if (run is null) continue;
                string label = runs.Recipe.Name + (run.Options.ClipNorm is double c ? string.Create(CultureInfo.InvariantCulture, $" clip {c:G3}") : " no clip");
                if (run.Training.DivergedAt is int d) label += $" (diverged at {d})";
                chart.Add(Series.Indexed(label, MovingAverage(run.Training.Steps.Select(s => s.Loss).ToArray(), window)) with { Color = k, Dashed = run.Options.ClipNorm is null });
            }
        }
        chart.AddReference($"baseline {task.BaselineLoss:F3} ({task.BaselineDescription})", task.BaselineLoss);
        chart.SavePng(Path.Combine(dir, LossFile), 900, 560);
    }

    private static double[] MovingAverage(double[] values, int window)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }

    private static byte[] Json(SequenceTask task, Request request, IReadOnlyList<CellRuns> results)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            var o = request.Options;
            w.WriteStartObject();
            w.WriteString("task", task.Name);
            w.WriteNumber("length", task.Length);
            w.WriteString("loss", task.Kind == TaskKind.Regression ? "mse" : "cross_entropy");
            w.WriteNumber("baseline_loss", task.BaselineLoss);
            w.WriteString("baseline", task.BaselineDescription);
            w.WriteStartObject("settings");
            w.WriteNumber("steps", o.Steps);
            w.WriteNumber("batch", o.BatchSize);
            w.WriteString("optimizer", o.Optimizer == TaskOptimizer.Sgd ? "sgd" : "adam");
            w.WriteNumber("lr", o.LearningRate);
            Number(w, "clip", o.ClipNorm ?? double.NaN);
            w.WriteNumber("hidden", o.HiddenSize);
            w.WriteNumber("init_scale", o.RecurrentGain);
            w.WriteNumber("record_every", o.RecordEvery);
            w.WriteNumber("probe_batch", o.ProbeBatchSize);
            w.WriteNumber("evaluation_batch", o.EvaluationBatchSize);
            w.WriteNumber("seed", o.Seed);
            w.WriteNumber("threads", o.Threads);
            w.WriteEndObject();
            w.WriteStartArray("cells");
            foreach (var runs in results)
            {
                w.WriteStartObject();
                w.WriteString("cell", runs.Recipe.Name);
                w.WriteString("description", runs.Recipe.Description);
                w.WriteStartArray("runs");
                WriteRun(w, runs.Main);
                if (runs.Unclipped is not null) WriteRun(w, runs.Unclipped);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteRun(Utf8JsonWriter w, GradientFlowRun run)
    {
        w.WriteStartObject();
        Number(w, "clip", run.Options.ClipNorm ?? double.NaN);
        if (run.Training.DivergedAt is int d) w.WriteNumber("diverged_at", d); else w.WriteNull("diverged_at");
        Number(w, "final_loss", run.FinalLoss);
        Number(w, "final_accuracy", run.FinalAccuracy);
        Number(w, "decay_ratio_init", run.Initial.DecayRatio);
        Number(w, "decay_ratio_trained", run.Trained.DecayRatio);
        w.WriteNumber("seconds", Math.Round(run.Elapsed.TotalSeconds, 3));
        Numbers(w, "loss", run.Training.Steps.Select(s => s.Loss));
        Numbers(w, "grad_norm", run.Training.Steps.Select(s => s.GradientNorm));
        w.WriteStartArray("probes");
        foreach (var snap in run.Snapshots)
        {
            var report = snap.Report;
            w.WriteStartObject();
            w.WriteNumber("step", snap.Step);
            Number(w, "loss", report.Loss);
            Number(w, "global_norm_before_clip", report.GlobalNormBeforeClip);
            Number(w, "global_norm_after_clip", report.GlobalNormAfterClip);
            Numbers(w, "hidden_grad_norms", snap.Norms);
            w.WriteStartArray("parameters");
            foreach (var p in report.Parameters)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                Number(w, "before_clip", p.BeforeClip);
                Number(w, "after_clip", p.AfterClip);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (report.Spectra.Count > 0)
            {
                w.WriteStartArray("step_jacobian_singular_values");
                foreach (var (layer, s) in report.Spectra)
                {
                    w.WriteStartObject();
                    w.WriteNumber("layer", layer);
                    w.WriteNumber("time", s.Time);
                    w.WriteNumber("row", s.Row);
                    Numbers(w, "hidden", s.Hidden);
                    if (s.State is not null) Numbers(w, "state", s.State);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>JSON has no NaN or infinity: a non-finite number is written as null.</summary>
    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value); else w.WriteNull(name);
    }

    private static void Numbers(Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (double v in values)
        {
            if (double.IsFinite(v)) w.WriteNumberValue(v); else w.WriteNullValue();
        }
        w.WriteEndArray();
    }

    private static void PrintTable(SequenceTask task, IReadOnlyList<CellRuns> results)
    {
        bool clipped = results.Any(r => r.Unclipped is not null);
        var table = new Table().Title(Markup.Escape($"{task.Name}, T = {task.Length}: held-out loss (baseline {task.BaselineLoss:F4}) and ‖dL/dh_1‖/‖dL/dh_T‖"));
        table.AddColumn("cell");
        table.AddColumn(new TableColumn(clipped ? "clipped" : "loss").RightAligned());
        if (clipped) table.AddColumn(new TableColumn("no clip").RightAligned());
        table.AddColumn(new TableColumn("/baseline").RightAligned());
        table.AddColumn(new TableColumn("ratio init").RightAligned());
        table.AddColumn(new TableColumn("ratio trained").RightAligned());
        foreach (var runs in results)
        {
            var row = new List<string> { runs.Recipe.Name, Loss(runs.Main) };
            if (clipped) row.Add(runs.Unclipped is null ? "" : Loss(runs.Unclipped));
            row.Add(double.IsFinite(runs.Main.FinalLoss) ? (runs.Main.FinalLoss / task.BaselineLoss).ToString("G3", CultureInfo.InvariantCulture) : "—");
            row.Add(Ratio(runs.Main.Initial.DecayRatio));
            row.Add(Ratio(runs.Main.Trained.DecayRatio));
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
    }

    private static string Loss(GradientFlowRun run) => run.Training.DivergedAt is int d
        ? $"diverged@{d}"
        : run.FinalLoss.ToString("G3", CultureInfo.InvariantCulture);

    private static string Ratio(double r) => double.IsFinite(r) ? r.ToString("E2", CultureInfo.InvariantCulture) : "—";
}
