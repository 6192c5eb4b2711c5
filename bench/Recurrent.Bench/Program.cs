Console.WriteLine("Recurrent.Bench: no benchmarks yet.");
