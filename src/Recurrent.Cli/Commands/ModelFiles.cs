using Recurrent.Generation;
using Recurrent.Models;
using Recurrent.Numerics;
using Recurrent.Text;
using Recurrent.Training;

namespace Recurrent.Cli.Commands;

/// <summary>Opening a trained model: a checkpoint file, or a run directory holding best.ckpt.</summary>
public static class ModelFiles
{
    public static string Resolve(string path)
    {
        if (Directory.Exists(path))
        {
            foreach (var name in new[] { Trainer.BestFile, Trainer.LatestFile })
            {
                var candidate = Path.Combine(path, name);
                if (File.Exists(candidate)) return candidate;
            }
            throw new FileNotFoundException($"Directory '{path}' holds no {Trainer.BestFile} or {Trainer.LatestFile}.");
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"Model '{path}' does not exist.", path);
        return path;
    }

    /// <summary>Any model (token or feature input, any head) with its checkpoint; no vocabulary needed.</summary>
    public static (Checkpoint Checkpoint, SequenceModel Model, string Path) LoadModel(string path)
    {
        path = Resolve(path);
        var checkpoint = Checkpoint.Load(path);
        return (checkpoint, checkpoint.CreateModel(path), path);
    }

    public static (Checkpoint Checkpoint, SequenceModel Model, Vocabulary Vocabulary) Load(string path, int threads)
    {
        path = Resolve(path);
        var checkpoint = Checkpoint.Load(path);
        var vocabulary = Vocabulary.FromJson(checkpoint.VocabularyJson);
        if (vocabulary.Count != checkpoint.Model.VocabularySize)
            throw new CheckpointException($"Checkpoint '{path}': vocabulary has {vocabulary.Count} tokens but the model expects {checkpoint.Model.VocabularySize}.");
        var model = checkpoint.CreateModel(path);
        model.Compute = new Compute(threads);
        return (checkpoint, model, vocabulary);
    }

    public static TextGenerator Generator(string path, int threads)
    {
        var (_, model, vocabulary) = Load(path, threads);
        return new TextGenerator(model, vocabulary);
    }
}
