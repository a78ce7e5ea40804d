using System.Reflection;
using System.Runtime.InteropServices;

namespace FactTrace.Benchmarks;

/// <summary>What a benchmark ran on: printed beside every table, because numbers without it are not comparable.</summary>
public sealed record MachineInfo
{
    public required string Cpu { get; init; }
    /// <summary>The vector and matrix units that decide fp32 and bf16 speed (avx512f, avx512_bf16, amx_bf16).</summary>
    public required string CpuFeatures { get; init; }
    public required int Cores { get; init; }
    public required int TorchThreads { get; init; }
    /// <summary>The libtorch package the build references (TorchSharp does not report libtorch's version itself).</summary>
    public required string LibTorch { get; init; }
    public required string TorchSharp { get; init; }
    public required string DotNet { get; init; }
    public required string Os { get; init; }
    /// <summary>1-minute load average when the benchmark started (and ended): above the core count, numbers are contended.</summary>
    public required double LoadAverageStart { get; init; }
    public double? LoadAverageEnd { get; init; }

    public static MachineInfo Current() => new()
    {
        Cpu = CpuModel(),
        CpuFeatures = string.Join(" ", CpuFlags().Where(f => f is "avx2" or "avx512f" or "avx512_bf16" or "amx_bf16" or "amx_tile")),
        Cores = Environment.ProcessorCount,
        TorchThreads = global::TorchSharp.torch.get_num_threads(),
        LibTorch = LibTorchPackage(),
        TorchSharp = typeof(global::TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                     ?? typeof(global::TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "?",
        DotNet = RuntimeInformation.FrameworkDescription,
        Os = RuntimeInformation.OSDescription,
        LoadAverageStart = LoadAverage(),
    };

    /// <summary>"libtorch-cpu-linux-x64 2.10.0": recorded at build time from the TorchBackend properties.</summary>
    public static string LibTorchPackage() =>
        typeof(MachineInfo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "LibTorchPackage")?.Value ?? "?";

    /// <summary>The 1-minute load average (/proc/loadavg); NaN where there is none.</summary>
    public static double LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return double.NaN; }
    }

    static string CpuModel() => CpuInfo("model name") ?? RuntimeInformation.ProcessArchitecture.ToString();

    static IEnumerable<string> CpuFlags() => (CpuInfo("flags") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct();

    static string? CpuInfo(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith(key, StringComparison.Ordinal) && line.IndexOf(':') is var i and > 0)
                    return line[(i + 1)..].Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return null;
    }
}

/// <summary>Resident memory of this process, from /proc/self/status (Linux; zeros elsewhere).</summary>
public static class Rss
{
    /// <summary>VmRSS: resident now, in bytes.</summary>
    public static long Current => Read("VmRSS:");

    /// <summary>VmHWM: the most resident since the start or the last <see cref="ResetPeak"/>, in bytes.</summary>
    public static long Peak => Read("VmHWM:");

    /// <summary>
    /// Resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs), so that the next <see cref="Peak"/> is
    /// the peak of what ran in between. False where the kernel refuses: the peak is then since process start.
    /// </summary>
    public static bool ResetPeak()
    {
        IO.NativeAllocator.Trim(); // freed memory kept in the heap would otherwise count toward the next peak
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    static long Read(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return 0;
    }
}
