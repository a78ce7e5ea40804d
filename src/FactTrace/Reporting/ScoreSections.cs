using FactTrace.Evaluation;
using static FactTrace.Reporting.ReportContext;

namespace FactTrace.Reporting;

/// <summary>The sections from eval.json and metrics.jsonl: final scores, learning curves, QA-OOD per attribute.</summary>
static class ScoreSections
{
    public static List<Block> FinalScores(ReportContext c)
    {
        if (!c.AnyHas(RunInput.Eval)) return [new Note($"No final evaluation: {c.WhyMissingBoth(RunInput.Eval)}.")];
        var measures = new (string Name, Func<EvalResult, double?> Pick)[]
        {
            ("QA-ID (exact match, trained questions)", e => e.QaId),
            ("QA-OOD (exact match, people never asked about)", e => e.QaOod),
            ("BIO memorization (all value tokens argmax in the BIO)", e => e.BioMemorization),
            ("BIO memorization, first token", e => e.Overall.BioMemorizationFirstToken),
            ("BIO extraction (greedy from an isolated prompt)", e => e.BioExtraction),
            ("BIO memorization after stage 1 (two-stage)", e => e.BioMemorizationStage1),
            ("chance (majority value, QA-OOD people)", e => e.Overall.Chance),
        };
        var rows = measures.Select(m => (IReadOnlyList<string>)
            [m.Name, .. Strategies.Select(s => Stat.Percent(c.Over(s, r => r.Eval is { } e ? m.Pick(e) : null)))]).ToList();
        return
        [
            new Paragraph("Exact-match accuracy of the final models on every person of the world (eval.json)."),
            new TableBlock("final-scores", ["measure", .. Strategies.Select(Title)], rows),
            .. c.MissingNotes(RunInput.Eval),
        ];
    }

    public static List<Block> LearningCurves(ReportContext c)
    {
        var series = new List<Series>();
        Marker? qaStart = null;
        foreach (var s in Strategies)
        {
            var curves = c.Data.Of(s).Select(r => r.Curve).OfType<List<CurvePoint>>().Where(x => x.Count > 0).ToList();
            if (curves.Count == 0) continue;
            // Per global epoch: the final (full) evaluation wins over a periodic one at the same epoch.
            var perSeed = curves.Select(cv => cv.Where(p => double.IsFinite(p.GlobalEpoch))
                .GroupBy(p => p.GlobalEpoch).ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Final).First())).ToList();
            var epochs = perSeed.SelectMany(x => x.Keys).Distinct().Order().ToArray();
            foreach (var (label, pick, dashed) in new (string, Func<CurvePoint, double>, bool)[] { ("QA-ID", p => p.QaId, false), ("QA-OOD", p => p.QaOod, true) })
            {
                var stats = epochs.Select(e => Stat.Of(perSeed.Select(x => x.TryGetValue(e, out var p) ? (double?)pick(p) : null))).ToList();
                var keep = Enumerable.Range(0, epochs.Length).Where(i => stats[i] is not null).ToList();
                series.Add(new Series($"{Title(s)} {label}", [.. keep.Select(i => epochs[i])],
                    [.. keep.Select(i => 100 * stats[i]!.Value.Mean)], [.. keep.Select(i => 100 * stats[i]!.Value.Sd)], ColorOf(s), dashed));
            }
            if (s == "two-stage")
            {
                var stage1End = curves.SelectMany(cv => cv).Where(p => p.Stage == "stage1").Select(p => p.GlobalEpoch).DefaultIfEmpty(double.NaN).Max();
                if (double.IsFinite(stage1End)) qaStart = new Marker(stage1End, $"two-stage: QA stage starts (epoch {stage1End:0})");
            }
        }
        if (series.Count == 0) return [new Note($"No learning curves: {c.WhyMissingBoth(RunInput.Curve)}.")];
        Figures.Lines(c.Figure("learning_curves.png"), "Learning curves: QA exact match, two-stage vs mixed",
            "epoch (passes over the training data, all stages)", "exact match (%)", series, qaStart is null ? null : [qaStart], (-1, 101));
        return
        [
            new FigureRef("learning_curves.png", "Learning curves of QA-ID and QA-OOD for two-stage and mixed training",
                "QA-ID (solid) and QA-OOD (dashed) exact match per epoch, from the eval lines of metrics.jsonl. Periodic points use a " +
                "fixed subset of people per split; the last point of each run is the full evaluation." +
                (c.MultiSeed ? " Error bars: sd over seeds." : "")),
        ];
    }

    public static List<Block> PerAttribute(ReportContext c)
    {
        var attributes = c.Runs.SelectMany(r => r.Eval?.PerAttribute.Keys ?? []).Distinct().ToList();
        if (attributes.Count == 0) return [new Note($"No per-attribute results: {c.WhyMissingBoth(RunInput.Eval)}.")];
        Stat? Value(string s, string a, Func<RecallScores, double?> pick) =>
            c.Over(s, r => r.Eval?.PerAttribute.TryGetValue(a, out var x) == true ? pick(x) : null);
        var values = new double[attributes.Count, Strategies.Length];
        var errors = new double[attributes.Count, Strategies.Length];
        var chance = new double[attributes.Count];
        var rows = new List<IReadOnlyList<string>>();
        for (int i = 0; i < attributes.Count; i++)
        {
            var a = attributes[i];
            // Chance is a property of the world: one value per seed (from whichever strategy has it).
            var ch = Stat.Of(c.Data.Seeds.Select(sd => Strategies.Select(s => sd.Strategies[s].Eval?.PerAttribute.GetValueOrDefault(a)?.Chance)
                .FirstOrDefault(v => v is not null)));
            chance[i] = ch is { } cs ? 100 * cs.Mean : double.NaN;
            var cells = new List<string> { a, Stat.Percent(ch) };
            for (int j = 0; j < Strategies.Length; j++)
            {
                var st = Value(Strategies[j], a, x => x.QaOod);
                SetBar(values, errors, i, j, st);
                cells.Add(Stat.Percent(st));
            }
            foreach (var s in Strategies) cells.Add(Stat.Percent(Value(s, a, x => x.QaId)));
            rows.Add(cells);
        }
        Figures.GroupedBars(c.Figure("qa_ood_per_attribute.png"), "QA-OOD exact match per attribute", "exact match on OOD people (%)",
            attributes, [.. Strategies.Select(Title)], values, errors, chance, "chance (majority value)", (0, 101),
            "attribute", [.. Strategies.Select(ColorOf)]);
        return
        [
            new FigureRef("qa_ood_per_attribute.png", "QA-OOD exact match per attribute for two-stage and mixed, with chance baselines",
                "Bars: QA-OOD exact match per attribute. Dashed black lines: chance, the share of OOD people whose value is the most common one." +
                (c.MultiSeed ? " Error bars: sd over seeds." : "")),
            new TableBlock("per-attribute", ["attribute", "chance", .. Strategies.Select(s => $"QA-OOD {Title(s)}"),
                .. Strategies.Select(s => $"QA-ID {Title(s)}")], rows),
        ];
    }
}
