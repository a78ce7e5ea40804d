using System.Buffers.Binary;
using System.Text;
using FactTrace.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace FactTrace.Tests.Models;

public class SafetensorsTests
{
    [Fact]
    public void RoundTripIsBitExactForEveryDtype()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var src = new Dictionary<string, Tensor>
        {
            ["f32"] = randn(3, 5),
            ["bf16"] = randn(4, 2).to(ScalarType.BFloat16),
            ["f16"] = randn(7).to(ScalarType.Float16),
            ["f64"] = randn(2, 2, 2, dtype: ScalarType.Float64),
            ["i64"] = arange(-5, 7, dtype: ScalarType.Int64).reshape(3, 4),
            ["i32"] = arange(10, dtype: ScalarType.Int32),
            ["u8"] = arange(200, dtype: ScalarType.Byte),
            ["bool"] = tensor(new[] { true, false, true }),
            ["scalar"] = tensor(3.5f),
            ["empty"] = zeros(0, 4),
            ["transposed"] = randn(3, 4).t(), // not contiguous
        };
        Safetensors.Write(dir["a.safetensors"], src, new Dictionary<string, string> { ["note"] = "x" });
        var back = Safetensors.Read(dir["a.safetensors"]);
        Assert.Equal(src.Keys.Order(), back.Keys.Order());
        foreach (var (name, t) in src) Assert.True(ModelTestKit.BitEqual(t, back[name]), name);

        using var file = SafetensorsFile.Open(dir["a.safetensors"]);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("x", file.Metadata["note"]);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(System.IO.File.ReadAllBytes(dir["a.safetensors"]).AsSpan(0, 8));
        Assert.Equal(0UL, headerLength % 8);
    }

    [Fact]
    public void ReadsTheGoldenFiles()
    {
        var root = ModelTestKit.GoldenRoot();
        Assert.NotNull(root);
        using var scope = NewDisposeScope();
        var golden = Safetensors.Read(Path.Combine(root, "neox-tiny-parallel", "golden.safetensors"));
        Assert.Equal(ScalarType.Int64, golden["input_ids"].dtype);
        Assert.Equal(new long[] { 2, 12 }, golden["input_ids"].shape);
        Assert.True(golden["input_ids"].min().item<long>() >= 0);
    }

    /// <summary>A valid file with one F32 tensor "w" [2,3] whose header JSON is <paramref name="header"/> (null = correct).</summary>
    static byte[] File(string? header = null, int dataBytes = 24, ulong? declaredLength = null)
    {
        header ??= """{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}""";
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        return bytes;
    }

    static string ErrorFor(byte[] content)
    {
        using var dir = new TempDir();
        var path = dir["bad.safetensors"];
        System.IO.File.WriteAllBytes(path, content);
        var e = Assert.ThrowsAny<FactTraceException>(() => { using var s = NewDisposeScope(); Safetensors.Read(path); });
        Assert.Contains(path, e.Message);
        return e.Message;
    }

    [Fact]
    public void ValidFixtureReads()
    {
        using var dir = new TempDir();
        System.IO.File.WriteAllBytes(dir["ok.safetensors"], File());
        using var scope = NewDisposeScope();
        Assert.Equal(new long[] { 2, 3 }, Safetensors.Read(dir["ok.safetensors"])["w"].shape);
    }

    [Fact] public void ShorterThanLengthField() => Assert.Contains("truncated", ErrorFor([1, 2, 3]));
    [Fact] public void HeaderPastEndOfFile() => Assert.Contains("truncated", ErrorFor(File(declaredLength: 5000)));
    [Fact] public void ImplausibleHeaderLength() => Assert.Contains("implausible header length", ErrorFor(File(declaredLength: 1UL << 40)));
    [Fact] public void TruncatedData() => Assert.Contains("truncated", ErrorFor(File(dataBytes: 20)));
    [Fact] public void HeaderNotJson() => Assert.Contains("not valid JSON", ErrorFor(File("{\"w\": [")));
    [Fact] public void UnknownDtype() => Assert.Contains("unsupported dtype 'F8_E4M3'", ErrorFor(File("""{"w":{"dtype":"F8_E4M3","shape":[2,3],"data_offsets":[0,24]}}""")));
    [Fact] public void LengthDisagreesWithShape() => Assert.Contains("needs 24", ErrorFor(File("""{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}""")));
    [Fact] public void NegativeDimension() => Assert.Contains("invalid shape", ErrorFor(File("""{"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}}""")));
    [Fact] public void ReversedOffsets() => Assert.Contains("invalid data_offsets", ErrorFor(File("""{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}""")));

    [Fact]
    public void OverlappingTensors() => Assert.Contains("overlap", ErrorFor(File(
        """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", dataBytes: 16)));
}
