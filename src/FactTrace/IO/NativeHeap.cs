using System.Runtime.InteropServices;

namespace FactTrace.IO;

/// <summary>
/// Gives freed native memory back to the OS. libtorch allocates every tensor with malloc; after many gradient-sized
/// allocations and frees (one backward pass per example) glibc keeps the freed heap pages, and the resident size of
/// a trace grew ~40% above the live tensors (measured on a pythia-70m-shaped model). <c>malloc_trim(0)</c> after the
/// finalizers have run returns them. A no-op where glibc is not the allocator.
/// </summary>
public static class NativeHeap
{
    static bool unavailable = !OperatingSystem.IsLinux();

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <summary>Collects garbage (native tensors are freed by finalizers), then trims the C heap.</summary>
    public static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (unavailable) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { unavailable = true; }
    }
}
