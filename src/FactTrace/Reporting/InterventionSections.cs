using FactTrace.Interventions;
using static FactTrace.Reporting.ReportContext;

namespace FactTrace.Reporting;

/// <summary>The sections from ablation.json and graft.json.</summary>
static class InterventionSections
{
    public static readonly string[] ConditionOrder =
        ["none", "shared", "random", "bio_only", "qa_only", "top_heads", "random_heads"];
    static readonly Dictionary<string, string> ConditionTitle = new()
    {
        ["none"] = "nothing reset", ["shared"] = "S (shared)", ["random"] = "random, |S|", ["bio_only"] = "BIO-only \\ S",
        ["qa_only"] = "QA-only \\ S", ["top_heads"] = "top heads", ["random_heads"] = "random heads",
    };

    static AblationCondition? Condition(AblationReport? a, string name) => a?.Conditions.FirstOrDefault(x => x.Name == name);

    /// <summary>One measure of one condition over seeds, pooling the spread over draws (<paramref name="sd"/>) and seeds.</summary>
    public static Stat? AblationStat(ReportContext c, string strategy, string condition, Func<AblationCondition, double> value,
        Func<AblationCondition, double?> sd) =>
        Stat.Pooled(c.Data.Of(strategy).Select(r => Condition(r.Ablation, condition)).OfType<AblationCondition>()
            .Select(x => (value(x), sd(x) ?? 0.0)));

    /// <summary>QA-OOD of one condition over seeds (and draws).</summary>
    public static Stat? QaOod(ReportContext c, string strategy, string condition) =>
        AblationStat(c, strategy, condition, x => x.QaOod, x => x.QaOodSd);

    public static List<Block> Ablation(ReportContext c)
    {
        if (!c.AnyHas(RunInput.Ablation)) return [new Note($"No ablation: {c.WhyMissingBoth(RunInput.Ablation)}.")];
        var names = c.Runs.SelectMany(r => r.Ablation?.Conditions.Select(x => x.Name) ?? []).Distinct().ToList();
        var conditions = ConditionOrder.Where(names.Contains).Concat(names.Where(n => !ConditionOrder.Contains(n))).ToList();
        var values = new double[Strategies.Length, conditions.Count];
        var errors = new double[Strategies.Length, conditions.Count];
        var rows = new List<IReadOnlyList<string>>();
        for (int i = 0; i < Strategies.Length; i++)
            for (int j = 0; j < conditions.Count; j++)
            {
                var (s, name) = (Strategies[i], conditions[j]);
                var ood = QaOod(c, s, name);
                SetBar(values, errors, i, j, ood);
                if (ood is null) continue;
                rows.Add([Title(s), ConditionTitle.GetValueOrDefault(name, name),
                    Stat.Number(c.Over(s, r => Condition(r.Ablation, name)?.MaskSize)),
                    Stat.Number(c.Over(s, r => Condition(r.Ablation, name)?.Draws)),
                    Stat.Percent(AblationStat(c, s, name, x => x.QaId, x => x.QaIdSd)),
                    Stat.Percent(ood),
                    Stat.Percent(AblationStat(c, s, name, x => x.BioMemorization, x => x.BioMemorizationSd))]);
            }
        Figures.GroupedBars(c.Figure("ablation.png"), "Ablation: QA-OOD after resetting parameter sets", "QA-OOD exact match after the reset (%)",
            [.. Strategies.Select(s => $"{Title(s)} model")], [.. conditions.Select(n => ConditionTitle.GetValueOrDefault(n, n))], values, errors,
            yRange: (0, 101), xLabel: "trained model");
        var a0 = c.Runs.Select(r => r.Ablation).OfType<AblationReport>().First();
        return
        [
            new FigureRef("ablation.png", "Bar chart of QA-OOD after resetting S, random sets of the same size, and task-only sets",
                $"QA-OOD after resetting each set to {a0.ResetTo} weights" + (a0.Rho is { } r0 ? $" (S at rho = {RhoText(r0)})" : "") +
                ". Random: sets of |S| parameters drawn per matrix in S's proportions; error bars: sd over draws" + (c.MultiSeed ? " and seeds (pooled)" : "") +
                ". BIO-only / QA-only: TopK of one task minus S, subsampled to |S|."),
            new TableBlock("ablation", ["model", "reset", "mask size", "draws", "QA-ID", "QA-OOD", "BIO memorization"], rows),
            .. c.MissingNotes(RunInput.Ablation),
        ];
    }

    public static List<Block> Graft(ReportContext c)
    {
        if (!c.AnyHas(RunInput.Graft)) return [new Note($"No grafting: {c.WhyMissingBoth(RunInput.Graft)}.")];
        var rows = Strategies.Where(s => c.Data.Of(s).Any(RunInput.Graft.Has)).Select(s => (IReadOnlyList<string>)
        [
            Title(s),
            Stat.Percent(c.Over(s, r => r.Graft?.Sparsity), 3),
            Stat.Number(c.Over(s, r => r.Graft?.MaskSize)),
            Stat.Percent(c.Over(s, r => r.Graft?.QaId)),
            Stat.Percent(c.Over(s, r => r.Graft?.QaOod)),
            Stat.Percent(c.Over(s, r => r.Graft?.BioMemorization)),
            Stat.Percent(c.Over(s, r => r.Graft?.OverlapWithShared?.Precision)),
            Stat.Percent(c.Over(s, r => r.Graft?.OverlapWithShared?.Recall)),
            Stat.Number(c.Over(s, r => r.Graft?.OverlapWithShared?.Enrichment), "F2"),
        ]).ToList();
        return
        [
            new Paragraph("A sparse mask learned so that reference + mask x (trained - reference) keeps QA on ID people " +
                          "(Panigrahi et al. 2023); its overlap with S says whether the parameters that carry recall are the shared ones."),
            new TableBlock("graft", ["model", "sparsity", "mask size", "QA-ID", "QA-OOD", "BIO memorization", "precision vs S", "recall of S", "enrichment"], rows),
            .. c.MissingNotes(RunInput.Graft),
        ];
    }
}
