using System.CommandLine;
using System.Globalization;
using FactTrace.IO;
using FactTrace.Models;
using FactTrace.Text;
using FactTrace.Tracing;
using FactTrace.World;
using Spectre.Console;

namespace FactTrace.Cli.Commands;

/// <summary>`facttrace trace`: per-task gradient scores, top-k masks, the shared set S and its statistics.</summary>
public static class TraceCommand
{
    public static Command Create()
    {
        var d = new TraceOptions();
        var pd = new ProbeOptions();
        var world = new Option<string>("--world") { Description = "World folder.", Required = true };
        var model = new Option<string>("--model") { Description = "Trained HF folder (e.g. RUN/final).", Required = true };
        var output = new Option<string>("--out") { Description = "Trace folder to write.", Required = true };
        var score = new Option<string>("--score") { Description = "grad = sum |g|, grad-x-weight = sum |theta g|, fisher = sum g^2.", DefaultValueFactory = _ => "grad" };
        score.AcceptOnlyFromAmong("grad", "grad-x-weight", "fisher");
        var granularity = new Option<string>("--granularity") { Description = "One backward pass per example or per micro-batch.", DefaultValueFactory = _ => "example" };
        granularity.AcceptOnlyFromAmong("example", "micro-batch");
        var microBatch = new Option<int>("--micro-batch") { Description = "Examples per micro-batch (--granularity micro-batch).", DefaultValueFactory = _ => d.MicroBatch };
        var rho = new Option<string>("--rho") { Description = "Top-k fraction(s), comma-separated.", DefaultValueFactory = _ => "0.001,0.01,0.05" };
        var scope = new Option<string>("--scope") { Description = "Rank over all considered parameters (global) or within each tensor (per-matrix).", DefaultValueFactory = _ => "global" };
        scope.AcceptOnlyFromAmong("global", "per-matrix");
        var embeddings = new Option<bool>("--include-embeddings") { Description = "Rank the input/output embeddings too (default: excluded)." };
        var norms = new Option<bool>("--include-norms") { Description = "Rank LayerNorm/RMSNorm parameters too (default: excluded)." };
        var probeBio = new Option<string>("--probe-bio") { Description = "BIOs of all, id or ood people.", DefaultValueFactory = _ => "all" };
        probeBio.AcceptOnlyFromAmong("all", "id", "ood");
        var probeQa = new Option<string>("--probe-qa") { Description = "Questions of id (trained on) or ood people.", DefaultValueFactory = _ => "id" };
        probeQa.AcceptOnlyFromAmong("id", "ood");
        var probeSize = new Option<int?>("--probe-size") { Description = $"Examples per task (default {pd.BioSize}; all if fewer)." };
        var bioSize = new Option<int?>("--bio-size") { Description = "BIO examples (overrides --probe-size)." };
        var qaSize = new Option<int?>("--qa-size") { Description = "QA examples (overrides --probe-size)." };
        var seed = new Option<long>("--seed") { Description = "Seed of the probe sampling.", DefaultValueFactory = _ => 0 };
        var allTokens = new Option<bool>("--qa-all-tokens") { Description = "QA loss on every token, not only the answer." };
        var during = new Option<bool>("--during-training") { Description = "Use the scores accumulated during training (train --trace-scores) instead of computing them." };
        var scores = new Option<string?>("--scores") { Description = "Folder with scores_bio/scores_qa.safetensors to reuse (default with --during-training: MODEL/../train_scores)." };
        var threads = Common.Threads();
        var force = new Option<bool>("--force") { Description = "Replace a non-empty --out." };

        var cmd = new Command("trace", "Cross-task gradient trace: which parameters both BIO (storing) and QA (recall) gradients hit hardest.");
        foreach (var o in new Option[] { world, model, output, score, granularity, microBatch, rho, scope, embeddings, norms, probeBio, probeQa, probeSize, bioSize, qaSize, seed, allTokens, during, scores, threads, force })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            Common.SetThreads(r.GetValue(threads));
            var size = r.GetValue(probeSize);
            var options = new TraceOptions
            {
                Score = TraceNames.ParseScore(r.GetValue(score)!),
                Granularity = TraceNames.ParseGranularity(r.GetValue(granularity)!),
                MicroBatch = r.GetValue(microBatch),
                Rhos = ParseRhos(r.GetValue(rho)!),
                Scope = TraceNames.ParseScope(r.GetValue(scope)!),
                IncludeEmbeddings = r.GetValue(embeddings),
                IncludeNorms = r.GetValue(norms),
                Probe = new ProbeOptions
                {
                    Bio = TraceNames.ParseSplit(r.GetValue(probeBio)!), Qa = TraceNames.ParseSplit(r.GetValue(probeQa)!),
                    BioSize = r.GetValue(bioSize) ?? size ?? pd.BioSize, QaSize = r.GetValue(qaSize) ?? size ?? pd.QaSize,
                    Seed = r.GetValue(seed), QaAllTokens = r.GetValue(allTokens),
                },
            };
            options.Validate();
            var report = Run(r.GetValue(world)!, r.GetValue(model)!, r.GetValue(output)!, options, r.GetValue(during), r.GetValue(scores), r.GetValue(force));
            Print(report);
            return Cli.Ok;
        });
        return cmd;
    }

    public static IReadOnlyList<double> ParseRhos(string s)
    {
        var list = new List<double>();
        foreach (var part in s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var x))
                throw FactTraceException.Usage($"--rho '{part}' is not a number");
            list.Add(x);
        }
        return list;
    }

    public static TraceReport Run(string worldDir, string modelDir, string outDir, TraceOptions options, bool duringTraining,
        string? scoresDir, bool force)
    {
        OutputFolder.CheckWritable(outDir, force, "--out");
        var world = FactWorld.Load(worldDir);
        var (model, tok) = Common.LoadModel(modelDir, world);
        using var _ = model;
        var map = ParameterMap.For(model.Config);
        var modelPath = Path.GetFullPath(modelDir);

        if (duringTraining || scoresDir is not null)
        {
            var dir = scoresDir ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelDir).TrimEnd(Path.DirectorySeparatorChar))!, TrainingTrace.FolderName);
            if (!File.Exists(Path.Combine(dir, TraceFiles.ScoresBio)))
                throw FactTraceException.Usage($"no {TraceFiles.ScoresBio} in '{dir}' (train with --trace-scores, or give --scores)");
            var (bio, qa, meta) = Tracer.LoadScores(dir);
            using (bio)
            using (qa)
            {
                var when = meta.GetValueOrDefault("when") ?? (duringTraining ? "during-training" : "post-hoc");
                var o = options with
                {
                    Score = bio.Kind,
                    Granularity = meta.TryGetValue("granularity", out var g) ? TraceNames.ParseGranularity(g) : options.Granularity,
                };
                // During training the probe is the training data itself: BIOs of everyone, questions of ID people.
                var probe = when == "during-training"
                    ? new ProbeInfo("all", "id", bio.Examples, qa.Examples, 0)
                    : new ProbeInfo(options.Probe.Bio.Name(), options.Probe.Qa.Name(), bio.Examples, qa.Examples, options.Probe.Seed);
                return Common.WithProgress("trace", p => Tracer.Write(outDir, force, map, bio, qa, o, modelPath, when, probe, p));
            }
        }

        var probes = ProbeSet.Build(world, tok, options.Probe);
        return Common.WithProgress("trace", p =>
        {
            var (bio, qa) = Tracer.Score(model, probes, options, tok.PadId, p);
            using (bio)
            using (qa)
            {
                var probe = new ProbeInfo(options.Probe.Bio.Name(), options.Probe.Qa.Name(), probes.Bio.Count, probes.Qa.Count, options.Probe.Seed);
                return Tracer.Write(outDir, force, map, bio, qa, options, modelPath, "post-hoc", probe, p);
            }
        });
    }

    static void Print(TraceReport r)
    {
        Common.WideTablesWhenRedirected();
        static string F(double? x, string f = "F3") => x is { } v ? v.ToString(f, CultureInfo.InvariantCulture) : "-";
        var table = new Table().Title($"Shared set S ({r.Score}, {r.Scope}, {r.ParametersConsidered:N0} parameters)")
            .AddColumns("rho", "k", "|S|", "|S|/k", "IoU", "enrichment", "heads: entropy", "gini", "top-10", "neurons: entropy", "gini");
        foreach (var x in r.PerRho)
            table.AddRow(TraceNames.RhoTag(x.Rho), x.K.ToString("N0"), x.Shared.ToString("N0"), F(x.SharedFraction), F(x.Iou), F(x.Enrichment, "F2"),
                F(x.Centralization.Heads.Entropy), F(x.Centralization.Heads.Gini), F(x.Centralization.Heads.Top10Share),
                F(x.Centralization.Neurons.Entropy), F(x.Centralization.Neurons.Gini));
        AnsiConsole.Write(table);
    }
}
