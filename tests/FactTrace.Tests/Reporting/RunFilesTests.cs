using System.Text.Json;
using System.Text.Json.Nodes;
using FactTrace.Evaluation;
using FactTrace.Interventions;
using FactTrace.IO;
using FactTrace.Reporting;
using FactTrace.Study;
using FactTrace.Tracing;

namespace FactTrace.Tests.Reporting;

/// <summary>
/// Each result file is written and read by one record: what a writer serializes (with the writer's options), the
/// report's reader deserializes into the same record, and that record serializes back to the same bytes. Every field of
/// the records below is set to a value other than its default, so a field the reader drops shows up as a difference.
/// </summary>
public class RunFilesTests
{
    static readonly FakeStrategy S = SyntheticRun.PaperLike().Mixed;

    /// <summary>Writes <paramref name="record"/> as its writer does, reads it back with the report's reader, and checks the bytes.</summary>
    static T RoundTrip<T>(T record, string file, Func<string, T?> read, bool newline = true) where T : class
    {
        using var tmp = new TempDir();
        var path = Path.Combine(tmp.Path, file);
        SyntheticRun.WriteJson(path, record, newline);
        var back = read(tmp.Path);
        Assert.NotNull(back);
        Assert.Equal(File.ReadAllText(path), Json.Serialize(back) + (newline ? "\n" : ""));
        return back;
    }

    static TraceReport FullTrace()
    {
        var t = SyntheticRun.Trace(S) with { IncludeEmbeddings = true, IncludeNorms = true, When = "during-training" };
        // Grouped-query attention adds by_kv_head; a trace with no shared heads has null centralization.
        var kv = new HeadRow(0, 1, 5, 10, 11, 4096, 5 / 4096.0);
        var empty = new CentralizationPair(new Centralization(null, null, null), new Centralization(null, null, null));
        return t with { PerRho = [t.PerRho[0] with { ByKvHead = [kv], Centralization = empty }, .. t.PerRho.Skip(1)] };
    }

    [Fact]
    public void TraceRoundTrips()
    {
        var t = FullTrace();
        var back = RoundTrip(t, RunFiles.Trace, RunReader.Trace);
        Assert.Equal(t.Probe, back.Probe);
        Assert.Equal(t.Units, back.Units);
        Assert.Equal(S.SharedPerRho, back.PerRho.Select(r => r.Shared));
        Assert.Null(back.PerRho[0].Centralization.Heads.Gini);
        Assert.Equal(t.PerRho[1].Centralization, back.PerRho[1].Centralization);
        Assert.Null(back.PerRho[0].ByLayerComponent[^1].Layer);
        Assert.Equal(t.PerRho[2].ByHead, back.PerRho[2].ByHead);
        Assert.Equal(t.PerRho[0].ByKvHead, back.PerRho[0].ByKvHead);
        Assert.Null(back.PerRho[1].ByKvHead);
    }

    [Fact]
    public void AblationRoundTrips()
    {
        var a = SyntheticRun.Ablation(S) with { Seed = 7, EvalPeople = 40, TopHeads = [new TopHead(1, 2, 30, 4096, 30 / 4096.0)] };
        var back = RoundTrip(a, RunFiles.Ablation, RunReader.Ablation);
        Assert.Equal(a.Conditions, back.Conditions);
        Assert.Equal(a.TopHeads, back.TopHeads);
        Assert.Null(back.Conditions[0].QaOodSd);
        Assert.Equal(S.AblateRandomSd, back.Conditions.Single(c => c.Name == "random").QaOodSd);

        // rho is written as null when the mask was not a traced shared set.
        Assert.Null(RoundTrip(a with { Rho = null, TopHeads = null, EvalPeople = null }, RunFiles.Ablation, RunReader.Ablation).Rho);
    }

    [Fact]
    public void GraftRoundTrips()
    {
        var g = SyntheticRun.Graft(S) with { IncludeEmbeddings = true, IncludeNorms = true, Seed = 3 };
        Assert.Equal(g, RoundTrip(g, RunFiles.Graft, RunReader.Graft));
        var none = g with { OverlapWithShared = null, LossFirst = null, LossLast = null };
        Assert.Equal(none, RoundTrip(none, RunFiles.Graft, RunReader.Graft));
    }

    [Fact]
    public void EvalRoundTrips()
    {
        var e = SyntheticRun.Eval(S, twoStage: true);
        var back = RoundTrip(e, RunFiles.Eval, RunReader.Eval, newline: false);
        Assert.Equal(e.Overall, back.Overall);
        Assert.Equal(e.PerAttribute.Keys, back.PerAttribute.Keys);
        Assert.All(e.PerAttribute, kv => Assert.Equal(kv.Value, back.PerAttribute[kv.Key]));
        Assert.Equal(0.97, back.BioMemorizationStage1);
        Assert.Equal(e.QaOod, back.QaOod);
    }

    [Fact]
    public void ManifestRoundTrips()
    {
        using var tmp = new TempDir();
        var started = new DateTimeOffset(2025, 5, 1, 12, 0, 0, TimeSpan.Zero);
        var m = new Manifest
        {
            Preset = "micro", Seeds = 2, SeedFolders = ["seed-0", "seed-1"], Reference = "init",
            Versions = new() { ["facttrace"] = "1.0" }, Options = JsonNode.Parse("""{"world": {"people": 16}}"""),
            Stages =
            [
                new StageRecord
                {
                    Name = "seed-0/trace/mixed", Status = StageStatus.Done, OptionsHash = "0123456789abcdef",
                    Options = JsonNode.Parse("""{"rhos": [0.001, 0.01]}"""), Inputs = ["seed-0/mixed"], Completion = "c1",
                    Started = started, Finished = started.AddSeconds(2.5), Seconds = 2.5,
                },
                new StageRecord { Name = "seed-0/graft/mixed", Status = StageStatus.Failed, Message = "graft loss is NaN at step 3" },
            ],
        };
        m.Save(tmp.Path);
        var back = Manifest.Load(tmp.Path)!;
        Assert.Equal(File.ReadAllText(Manifest.PathIn(tmp.Path)), JsonSerializer.Serialize(back, Json.Indented) + "\n");
        Assert.Equal(m.SeedFolders, back.SeedFolders);
        Assert.Equal(started.AddSeconds(2.5), back.Stages[0].Finished);
        Assert.Equal(m.Stages[1], back.Stages[1] with { Inputs = m.Stages[1].Inputs });
    }

    [Fact]
    public void FieldsTheRecordDoesNotKnowAreIgnored()
    {
        using var tmp = new TempDir();
        var path = Path.Combine(tmp.Path, RunFiles.Trace);
        var t = FullTrace();
        var node = JsonNode.Parse(Json.Serialize(t))!;
        node["written_by_a_newer_version"] = new JsonArray(1, 2, 3);
        node["per_rho"]![0]!["extra"] = "ignored";
        node["probe"]!["extra"] = 1;
        File.WriteAllText(path, node.ToJsonString());
        Assert.Equal(Json.Serialize(t), Json.Serialize(RunReader.Trace(tmp.Path)));
    }

    [Fact]
    public void AMissingFileReadsAsNull()
    {
        using var tmp = new TempDir();
        Assert.Null(RunReader.Trace(tmp.Path));
        Assert.Null(RunReader.Ablation(tmp.Path));
        Assert.Null(RunReader.Graft(tmp.Path));
        Assert.Null(RunReader.Eval(tmp.Path));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("""{"format_version": 1, "model": "final"}""")]                                  // required fields missing
    [InlineData("""{"model": "final", "score": "grad", "granularity": "example", "when": "post-hoc", "scope": "global", "probe": {"bio": 64}}""")] // a wrong type
    [InlineData("null")]
    public void ADamagedFileIsAOneLineErrorNamingIt(string text)
    {
        using var tmp = new TempDir();
        var path = Path.Combine(tmp.Path, RunFiles.Trace);
        File.WriteAllText(path, text);
        var e = Assert.ThrowsAny<FactTraceException>(() => RunReader.Trace(tmp.Path));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
