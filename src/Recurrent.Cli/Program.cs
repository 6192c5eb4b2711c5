using System.CommandLine;

namespace Recurrent.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("recurrent: recurrent neural networks (RNN, LSTM, GRU) in pure C#.");
        return root.Parse(args).Invoke();
    }
}
