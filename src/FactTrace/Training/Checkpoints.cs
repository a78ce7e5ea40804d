using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FactTrace.IO;
using FactTrace.Models;
using static TorchSharp.torch;

namespace FactTrace.Training;

/// <summary>
/// The resumable state of a run in <c>state/</c> (through <see cref="StateStore"/>): weights, AdamW moments and the
/// <see cref="TrainerState"/> position, plus the run fingerprint that a resume must match.
/// </summary>
internal sealed class Checkpoints(CausalLM model, TrainOptions options, Trainer.Data data, string stateDir, ITrainingObserver? observer)
{
    public string Dir { get; } = stateDir;
    StateStore Store => new(Dir);

    /// <summary>The folder of the latest complete checkpoint, or null.</summary>
    public string? Latest() => Store.Latest();

    public void Save(AdamW opt, TrainerState state)
    {
        var saved = state with { OptimizerStep = opt.Step };
        Store.Save(state.GlobalStep, dir =>
        {
            Safetensors.Write(Path.Combine(dir, "model.safetensors"), StateDict());
            Safetensors.Write(Path.Combine(dir, "optimizer.safetensors"), opt.StateTensors());
            AtomicFile.WriteAllText(Path.Combine(dir, "trainer_state.json"), JsonSerializer.Serialize(saved, Json.Indented));
            observer?.SaveState(dir);
        });
    }

    Dictionary<string, Tensor> StateDict() =>
        model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);

    /// <summary>The position saved in <paramref name="folder"/>; refuses a newer format or another run's state.</summary>
    public static TrainerState LoadState(string folder, string fingerprint)
    {
        var file = Path.Combine(folder, "trainer_state.json");
        var s = Json.ReadFile<TrainerState>(file, "trainer state");
        if (s.FormatVersion > TrainerState.CurrentFormat)
            throw new FactTraceException($"trainer state '{file}': format_version {s.FormatVersion} is newer than this program ({TrainerState.CurrentFormat})");
        if (s.RunFingerprint != fingerprint)
            throw new OptionException("resume", $"trainer state '{file}' belongs to a different run configuration (options, model or data changed); start a new `out` folder or use `force`");
        return s;
    }

    /// <summary>Copies the saved weights into the model and the saved moments into <paramref name="opt"/>.</summary>
    public void RestoreWeightsAndMoments(string folder, AdamW opt, TrainerState state)
    {
        var weights = Safetensors.Read(Path.Combine(folder, "model.safetensors"));
        var moments = Safetensors.Read(Path.Combine(folder, "optimizer.safetensors"));
        try
        {
            using var noGrad = no_grad();
            foreach (var (name, p) in model.named_parameters())
            {
                if (!weights.TryGetValue(name, out var w))
                    throw new FactTraceException($"trainer state '{folder}/model.safetensors' lacks parameter '{name}'");
                if (!w.shape.SequenceEqual(p.shape))
                    throw new FactTraceException($"trainer state '{folder}/model.safetensors': '{name}' has shape [{string.Join(",", w.shape)}], the model [{string.Join(",", p.shape)}]");
                p.copy_(w);
            }
            opt.LoadState(moments, state.OptimizerStep);
            RestoreObserver(folder);
        }
        finally
        {
            foreach (var t in weights.Values.Concat(moments.Values)) t.Dispose();
        }
    }

    /// <summary>The observer's sums of the checkpoint (also for a finished run, whose steps are not run again).</summary>
    public void RestoreObserver(string folder) => observer?.LoadState(folder);

    /// <summary>SHA-256 over options, model config and every example's tokens: what must match for a resume.</summary>
    public string Fingerprint()
    {
        using var sha = SHA256.Create();
        void Add(string s) { var b = Encoding.UTF8.GetBytes(s); sha.TransformBlock(b, 0, b.Length, null, 0); }
        Add(JsonSerializer.Serialize(options, Json.Line));
        Add(model.Config.ToJson());
        if (observer is { Fingerprint: { Length: > 0 } f }) Add("observer:" + f);
        foreach (var e in data.Bio.Concat(data.QaTrain))
            Add(string.Join(",", e.Ids) + "|" + string.Join(",", e.Labels) + "|" + e.Kind + e.Person + ";");
        sha.TransformFinalBlock([], 0, 0);
        return Convert.ToHexString(sha.Hash!).ToLowerInvariant()[..16];
    }
}
