using FactTrace.Cli;

namespace FactTrace.Tests.World;

public class WorldCommandTests
{
    static (int Code, string Error) Run(params string[] args) => InProcessCli.Run(args);

    [Fact]
    public void WritesAWorldFolder()
    {
        using var tmp = new TempDir();
        var (code, error) = Run("world", "--out", tmp.Sub("w"), "--people", "50", "--seed", "3", "--id-fraction", "0.4",
            "--bio-variants", "2", "--permute", "--full-name");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        var w = FactTrace.World.FactWorld.Load(tmp.Sub("w"));
        Assert.Equal(new FactTrace.World.WorldOptions(50, 3, 0.4, 2, true, true), w.Options);
        Assert.Equal(20, w.Info.Counts.IdPeople);
        // --force replaces it; without --force a second run is refused.
        Assert.Equal(2, Run("world", "--out", tmp.Sub("w"), "--people", "50").Code);
        Assert.Equal(0, Run("world", "--out", tmp.Sub("w"), "--people", "60", "--force").Code);
        Assert.Equal(60, FactTrace.World.FactWorld.Load(tmp.Sub("w")).People.Count);
    }

    [Theory]
    [InlineData("--people", "0")]
    [InlineData("--people", "-5")]
    [InlineData("--people", "abc")]
    [InlineData("--people", "200000000")]
    [InlineData("--id-fraction", "0")]
    [InlineData("--id-fraction", "1")]
    [InlineData("--id-fraction", "1.5")]
    [InlineData("--id-fraction", "-0.5")]
    [InlineData("--bio-variants", "0")]
    [InlineData("--no-such-flag", "1")]
    public void BadInputExitsTwoWithOneLineAndWritesNothing(string option, string value)
    {
        using var tmp = new TempDir();
        var (code, error) = Run("world", "--out", tmp.Sub("w"), option, value);
        Assert.Equal(2, code);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: ", error);
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path)); // no output folder, no temp folder
    }

    [Fact]
    public void TooManyPeopleNamesTheLimit()
    {
        using var tmp = new TempDir();
        var (code, error) = Run("world", "--out", tmp.Sub("w"), "--people", "200000000");
        Assert.Equal(2, code);
        Assert.Contains("160,000,000", error);
    }

    [Fact]
    public void UnusableOutputFoldersExitTwo()
    {
        using var tmp = new TempDir();
        var file = tmp.Sub("file");
        File.WriteAllText(file, "x");
        Assert.Equal(2, Run("world", "--out", file).Code);                          // a file, not a folder
        Assert.Equal(2, Run("world", "--out", Path.Combine(file, "w")).Code);       // parent is a file: cannot be created
        Directory.CreateDirectory(tmp.Sub("full"));
        File.WriteAllText(Path.Combine(tmp.Sub("full"), "a.txt"), "x");
        var (code, error) = Run("world", "--out", tmp.Sub("full"));
        Assert.Equal(2, code);
        Assert.Contains("--force", error);
        Assert.Equal(["a.txt"], Directory.GetFiles(tmp.Sub("full")).Select(Path.GetFileName));
        Assert.Equal(2, Run("world").Code);                                          // --out is required
    }

    [Fact]
    public void HelpWorks()
    {
        Assert.Equal(0, Run("--help").Code);
        Assert.Equal(0, Run("world", "--help").Code);
    }
}
