using System.Diagnostics;
using System.Globalization;

namespace Recurrent.Training;

/// <summary>
/// A training run's output directory, held exclusively for the length of a run. <see cref="Acquire"/>
/// creates the directory (or says in our words why it cannot), takes the lock file
/// <c>run.lock</c> — created with O_EXCL semantics and holding the holder's PID, its start time and
/// host — which doubles as the probe that the directory takes files (a read-only or full disk is
/// found before training, not after the first epoch), and removes the temporary files that a
/// crash in the middle of a save left behind. A lock whose process is gone (or whose PID now
/// belongs to a process started later) is stale and taken over. <see cref="Dispose"/> releases it.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    /// <summary>The lock file's name inside the directory, <c>run.lock</c>; it holds the lines <c>pid …</c>, <c>started …</c> (the process start time, ISO 8601) and <c>host …</c> of the process that holds the directory.</summary>
    public const string LockFile = "run.lock";

    private readonly FileStream _lock;
    private bool _released;

    /// <summary>The directory held, as given to <see cref="Acquire"/>.</summary>
    public string Path { get; }

    private RunDirectory(string path, FileStream lockStream)
    {
        Path = path;
        _lock = lockStream;
    }

    /// <summary>Creates <paramref name="path"/> if needed, locks it, and removes stale temporary files.</summary>
    /// <exception cref="IOException">The directory cannot be created or written, or another live process holds it.</exception>
    public static RunDirectory Acquire(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Create(path);
        string lockPath = System.IO.Path.Combine(path, LockFile);
        for (int attempt = 0; attempt < 4; attempt++)
        {
            if (TryCreateLock(path, lockPath) is { } stream)
            {
                var held = new RunDirectory(path, stream);
                held.RemoveStaleTemporaryFiles();
                return held;
            }
            string content = ReadLock(lockPath);
            var holder = Parse(content);
            if (holder is { } h && IsAlive(h))
                throw new IOException($"The output directory '{path}' is in use by process {h.Pid} (started {h.Started:u} on {h.Host}; see {lockPath}); wait for it to finish, stop it, or choose another --out.");
            if (holder is null && File.GetLastWriteTimeUtc(lockPath) > DateTime.UtcNow.AddSeconds(-5))
            {
                Thread.Sleep(200);   // being written this very moment: look again
                continue;
            }
            // Stale: its process is gone. Remove it only if it is still the file we judged.
            if (ReadLock(lockPath) == content) TryDelete(lockPath);
        }
        throw new IOException($"Cannot take the lock '{lockPath}' of the output directory; if no run uses '{path}', delete that file.");
    }

    /// <summary>Creates and fills the lock file; null when one exists already.</summary>
    private static FileStream? TryCreateLock(string path, string lockPath)
    {
        FileStream stream;
        try { stream = new FileStream(lockPath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 256); }
        catch (IOException) when (File.Exists(lockPath)) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"The output directory '{path}': cannot write into it ({e.Message.TrimEnd('.')}).", e);
        }
        try
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(Describe(Environment.ProcessId, CurrentStart())));
            stream.Flush(flushToDisk: true);
            return stream;
        }
        catch (IOException e)
        {
            stream.Dispose();
            TryDelete(lockPath);
            throw new IOException($"The output directory '{path}': cannot write into it ({e.Message.TrimEnd('.')}).", e);
        }
    }

    private static void Create(string path)
    {
        if (File.Exists(path)) throw new IOException($"The output directory '{path}' is a file, not a directory.");
        try { Directory.CreateDirectory(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new IOException($"The output directory '{path}': cannot create it ({e.Message.TrimEnd('.')}).", e);
        }
    }

    /// <summary>Deletes <c>.{name}.{guid}.tmp</c> files of interrupted atomic writes (nobody else writes here while we hold the lock).</summary>
    private void RemoveStaleTemporaryFiles()
    {
        foreach (var file in Directory.EnumerateFiles(Path, ".*.tmp"))
        {
            string name = System.IO.Path.GetFileName(file);
            var parts = name[1..^4].Split('.');
            bool ours = parts.Length >= 2 && parts[^1].Length == 32 && parts[^1].All(Uri.IsHexDigit);
            if (ours) TryDelete(file);
        }
    }

    /// <summary>Releases the lock: closes and deletes <see cref="LockFile"/>. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_released) return;
        _released = true;
        _lock.Dispose();
        TryDelete(System.IO.Path.Combine(Path, LockFile));
    }

    internal readonly record struct Holder(int Pid, DateTime Started, string Host);

    private static string Describe(int pid, DateTime started) =>
        string.Create(CultureInfo.InvariantCulture, $"pid {pid}\nstarted {started:O}\nhost {Environment.MachineName}\n");

    internal static Holder? Parse(string content)
    {
        int? pid = null;
        DateTime? started = null;
        string host = "";
        foreach (var line in content.Split('\n'))
        {
            int space = line.IndexOf(' ');
            if (space < 0) continue;
            string key = line[..space], value = line[(space + 1)..].Trim();
            if (key == "pid" && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int p)) pid = p;
            else if (key == "started" && DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var s)) started = s.ToUniversalTime();
            else if (key == "host") host = value;
        }
        return pid is int id && started is DateTime t ? new Holder(id, t, host) : null;
    }

    /// <summary>
    /// Whether the lock's process still runs: same host, the PID exists, and that process started
    /// when the lock says (within a second), so a PID reused by a later process does not count.
    /// A lock from another host cannot be checked and counts as alive.
    /// </summary>
    private static bool IsAlive(Holder holder)
    {
        if (!string.Equals(holder.Host, Environment.MachineName, StringComparison.Ordinal)) return true;
        try
        {
            using var process = Process.GetProcessById(holder.Pid);
            if (process.HasExited) return false;
            return Math.Abs((process.StartTime.ToUniversalTime() - holder.Started).TotalSeconds) < 1;
        }
        catch (ArgumentException) { return false; }           // no such process
        catch (InvalidOperationException) { return false; }   // it exited meanwhile
        catch (System.ComponentModel.Win32Exception) { return true; }   // exists, but we may not look at it
    }

    private static DateTime CurrentStart()
    {
        using var me = Process.GetCurrentProcess();
        return me.StartTime.ToUniversalTime();
    }

    private static string ReadLock(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (FileNotFoundException) { return ""; }
        catch (IOException) { return ""; }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
