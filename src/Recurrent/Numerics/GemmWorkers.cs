using System.Runtime.ExceptionServices;

namespace Recurrent.Numerics;

/// <summary>
/// A small pool of dedicated threads for the bands of a threaded GEMM. The calling thread
/// computes band 0 itself and waits for the others. One product uses the pool at a time: a
/// product that finds it busy (another thread is multiplying) runs all its bands on its own
/// thread, in order — the same bits, and no oversubscription or nested parallelism.
/// </summary>
internal static class GemmWorkers
{
    private static readonly Lock Gate = new();
    private static readonly List<Worker> Workers = [];
    private static readonly ManualResetEventSlim Done = new(false, spinCount: 2000);
    private static GemmJob s_job;
    private static int s_pending;
    private static Exception? s_error;

    public static void Run(in GemmJob job)
    {
        if (!Gate.TryEnter())
        {
            for (int part = 0; part < job.Parts; part++) job.Execute(part);
            return;
        }
        try
        {
            while (Workers.Count < job.Parts - 1) Workers.Add(new Worker(Workers.Count + 1));
            s_job = job;
            s_error = null;
            s_pending = job.Parts - 1;
            Done.Reset();
            for (int part = 1; part < job.Parts; part++) Workers[part - 1].Start(part);
            try
            {
                job.Execute(0);
            }
            finally
            {
                Done.Wait();
                s_job = default;
            }
            if (s_error is { } error) ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            Gate.Exit();
        }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _go = new(0);
        private int _part;

        public Worker(int id)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Recurrent GEMM worker {id}" };
            thread.Start();
        }

        public void Start(int part)
        {
            _part = part;
            _go.Release();
        }

        private void Loop()
        {
            while (true)
            {
                _go.Wait();
                try
                {
                    s_job.Execute(_part);
                }
                catch (Exception e)
                {
                    s_error = e;
                }
                finally
                {
                    if (Interlocked.Decrement(ref s_pending) == 0) Done.Set();
                }
            }
        }
    }
}
