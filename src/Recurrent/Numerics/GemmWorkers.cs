using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Recurrent.Numerics;

/// <summary>
/// A small pool of dedicated threads for the bands of a threaded GEMM.
/// <para>
/// The bands of a job are claimed, not assigned: the calling thread and the woken workers take
/// the next unclaimed band until none is left, and the caller returns once every band is done.
/// A worker that wakes late (the machine is busy with other processes) therefore costs at most
/// the time the caller needs to do its bands itself. Which thread computes a band never changes
/// its bits.
/// </para>
/// <para>
/// One product uses the pool at a time: a product that finds it busy (another thread is
/// multiplying) runs all its bands on its own thread, so there is no oversubscription and no
/// nested parallelism. An idle worker polls briefly before it sleeps, so back-to-back products
/// (one per RNN time step) do not each pay a thread wake-up.
/// </para>
/// </summary>
internal static class GemmWorkers
{
    /// <summary>How long an idle worker polls for the next job before it blocks (100 µs).</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 10_000;
    private static readonly Lock Gate = new();
    private static readonly List<Worker> Workers = [];

    private static GemmJob s_job;
    /// <summary>Non-null while the pool runs an <see cref="IBandWork"/> instead of <see cref="s_job"/>.</summary>
    private static IBandWork? s_work;
    /// <summary>The job's generation (bits 32–63), its band count (bits 16–31) and its next unclaimed band (bits 0–15).</summary>
    private static long s_claims;
    private static int s_done;
    private static Exception? s_error;
    private static uint s_generation;

    public static void Run(in GemmJob job) => Run(job, null, job.Parts);

    /// <summary>Runs bands 0..<paramref name="parts"/> of <paramref name="work"/> on the pool as a GEMM's (same rules: claimed, never nested).</summary>
    public static void Run(IBandWork work, int parts) => Run(default, work, parts);

    private static void Run(in GemmJob job, IBandWork? work, int parts)
    {
        // Taken (another thread is multiplying), or taken by this very thread: a band of an
        // IBandWork (one direction of a bidirectional layer) multiplies too. Lock is reentrant,
        // so the second case must be caught before TryEnter.
        if (Gate.IsHeldByCurrentThread || !Gate.TryEnter())
        {
            for (int part = 0; part < parts; part++) Execute(job, work, part);
            return;
        }
        try
        {
            while (Workers.Count < parts - 1) Workers.Add(new Worker(Workers.Count + 1));
            uint generation = ++s_generation;
            s_job = job;
            s_work = work;
            s_error = null;
            Volatile.Write(ref s_done, 0);
            Volatile.Write(ref s_claims, (long)generation << 32 | (long)parts << 16);
            for (int w = 0; w < parts - 1; w++) Workers[w].Wake();

            while (TryClaim(generation, out int part)) ExecuteCounted(job, work, part);
            var spinner = new SpinWait();
            while (Volatile.Read(ref s_done) < parts) spinner.SpinOnce(sleep1Threshold: -1);
            s_work = null;
            if (s_error is { } error) ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Gate.Exit();
        }
    }

    /// <summary>Claims the next band of job <paramref name="generation"/>; false when all are taken or the job is over.</summary>
    private static bool TryClaim(uint generation, out int part)
    {
        while (true)
        {
            long claims = Volatile.Read(ref s_claims);
            part = (int)(claims & 0xFFFF);
            int parts = (int)((claims >> 16) & 0xFFFF);
            // s_job is only rewritten after every band of the current job is done, so after a
            // claim that succeeds here, s_job is this generation's job.
            if ((uint)(claims >> 32) != generation || part >= parts) return false;
            if (Interlocked.CompareExchange(ref s_claims, claims + 1, claims) == claims) return true;
        }
    }

    private static void Execute(in GemmJob job, IBandWork? work, int part)
    {
        if (work is not null) work.Execute(part);
        else job.Execute(part);
    }

    private static void ExecuteCounted(in GemmJob job, IBandWork? work, int part)
    {
        try
        {
            Execute(job, work, part);
        }
        catch (Exception e)
        {
            s_error = e;
        }
        finally
        {
            Interlocked.Increment(ref s_done);
        }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);

        public Worker(int id)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Recurrent GEMM worker {id}" };
            thread.Start();
        }

        public void Wake() => _wake.Release();

        private void Loop()
        {
            while (true)
            {
                long deadline = Stopwatch.GetTimestamp() + SpinTicks;
                while (_wake.CurrentCount == 0 && Stopwatch.GetTimestamp() < deadline) Thread.SpinWait(10);
                _wake.Wait();
                uint generation = (uint)(Volatile.Read(ref s_claims) >> 32);
                while (TryClaim(generation, out int part)) ExecuteCounted(s_job, s_work, part);
            }
        }
    }
}

/// <summary>Work cut into bands that <see cref="GemmWorkers"/> can share out like a GEMM's; each band's result must not depend on which thread runs it.</summary>
internal interface IBandWork
{
    void Execute(int part);
}
