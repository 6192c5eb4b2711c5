using Recurrent.Bench;

// Recurrent.Bench: one subcommand per benchmark; each parses its own options.
return args switch
{
    ["gemm", .. var rest] => GemmBenchmark.Run(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Recurrent.Bench <benchmark> [options]");
    Console.Error.WriteLine("benchmarks:");
    Console.Error.WriteLine("  gemm   float32 GEMM throughput (GFLOP/s) on square and RNN shapes; gemm --help for options");
    return 2;
}
