using Recurrent.Serialization;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>
/// Runs a command body and turns every failure into one line on stderr and a non-zero exit
/// code: 1 for a problem with files, data or arguments the user gave, 3 for an internal error.
/// Set RECURRENT_DEBUG=1 to see the stack trace as well.
/// </summary>
public static class CliErrors
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Report(e.Message, e);
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("recurrent: cancelled");
            return 130;
        }
        catch (Exception e)
        {
            Report($"internal error ({e.GetType().Name}): {e.Message}", e);
            return 3;
        }
    }

    private static bool IsUserError(Exception e) => e is ArgumentException or FileNotFoundException or DirectoryNotFoundException
        or IOException or UnauthorizedAccessException or FormatException or CheckpointException or SafeTensorsException
        or InvalidOperationException or System.Text.DecoderFallbackException or System.Text.Json.JsonException or Data.DataFormatException or TrainingDivergedException;

    /// <summary>
    /// The exit code of a training command: 130 when a signal stopped it (after saving
    /// latest.ckpt, which this says on stderr), 0 otherwise.
    /// </summary>
    public static int Interrupted(CancellationToken cancel, TrainingSummary summary, string outDir)
    {
        if (!cancel.IsCancellationRequested) return 0;
        Console.Error.WriteLine($"recurrent: stopped at step {summary.Steps}; {summary.LatestCheckpoint} and the plot are saved: continue with the same command and --resume (--out {outDir})");
        return 130;
    }

    private static void Report(string message, Exception e)
    {
        // ArgumentException appends " (Parameter 'x')" and "Actual value was v." on lines of their own.
        if (e is ArgumentException) message = message.Split('\n')[0].Replace($" (Parameter '{((ArgumentException)e).ParamName}')", "");
        Console.Error.WriteLine("recurrent: error: " + message.ReplaceLineEndings(" ").Trim());
        if (Environment.GetEnvironmentVariable("RECURRENT_DEBUG") == "1") Console.Error.WriteLine(e);
    }
}
