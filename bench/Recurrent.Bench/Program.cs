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
    Console.Error.WriteLine("  gemm      float32 GEMM throughput (GFLOP/s) on square and RNN shapes: --only NAME | --shape MxNxK[:NT[:P]]... | --list");
    Console.Error.WriteLine("  train     training tokens/s (full step: fwd, bwd, clip 5.0, Adam) per config of bench/configs.json: --config NAME");
    Console.Error.WriteLine("  infer     inference-forward tokens/s, B and T of the config (default: configs.json's \"inference\"): --config NAME");
    Console.Error.WriteLine("  generate  batch-1 generation µs/token (softmax + sample, state carried): --config NAME --tokens K");
    Console.Error.WriteLine("Every benchmark takes --threads N, --simd scalar|vector|avx2|avx512 (default: RECURRENT_SIMD, else the CPU's best),");
    Console.Error.WriteLine("--seconds S (timed work per measurement, default 10), --warmup-seconds W (default 2), --reps R (default 3; median reported);");
    Console.Error.WriteLine("train, infer and generate also --steps S (S calls per rep instead of timing by --seconds). <benchmark> --help for more.");
    Console.Error.WriteLine("train, infer and generate print one JSON line per result: peer, config, measure, threads, setting, value,");
    Console.Error.WriteLine("peak_rss_mb, simd, vector_bits, vector512, reps, timed_s; gemm prints a header naming the SIMD level, then one line per shape.");
    return 2;
}
