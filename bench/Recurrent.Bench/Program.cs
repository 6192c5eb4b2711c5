using Recurrent.Bench;

// Recurrent.Bench: one subcommand per benchmark; each parses its own options.
return args switch
{
    ["gemm", .. var rest] => GemmBenchmark.Run(rest),
    ["train", .. var rest] => TrainBenchmark.Run(rest),
    ["infer", .. var rest] => InferenceBenchmark.RunInfer(rest),
    ["generate", .. var rest] => InferenceBenchmark.RunGenerate(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Recurrent.Bench <benchmark> [options]");
    Console.Error.WriteLine("benchmarks:");
    Console.Error.WriteLine("  gemm      float32 GEMM throughput (GFLOP/s) on square and RNN shapes; gemm --help for options");
    Console.Error.WriteLine("  train     training tokens/s (full step: fwd, bwd, clip 5.0, Adam) per config: --config NAME --threads N --reps R --steps S");
    Console.Error.WriteLine("  infer     forward-only tokens/s, B and T of the config (default char-lstm-l): --threads N --reps R --steps S");
    Console.Error.WriteLine("  generate  batch-1 generation µs/token (softmax + sample, state carried): --threads N --tokens K --reps R");
    Console.Error.WriteLine("Each result is one JSON line: peer, config, measure, threads, setting, value, peak_rss_mb.");
    return 2;
}
