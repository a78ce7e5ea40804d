using System.Runtime.InteropServices;

namespace FactTrace.IO;

/// <summary>
/// glibc malloc settings for libtorch's CPU tensors. By default glibc serves large blocks with mmap and returns freed
/// memory at the top of the heap to the kernel, so a training step that frees and reallocates the same activation
/// buffers every step pays page faults and page zeroing each time (measured: ~12% of a bf16 tiny-neox step in the
/// kernel and malloc; `facttrace bench step`: bf16 +8-15%, fp32 +3-5% tokens/s with the settings below). Keeping
/// freed memory in the heap for reuse removes that; RSS then stays at the working set's high-water mark instead of
/// shrinking between steps. Numerical results do not change. Set FACTTRACE_MALLOC=default to keep glibc's defaults.
/// </summary>
public static class NativeAllocator
{
    const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3;

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    static extern int Mallopt(int param, int value);

    [DllImport("libc.so.6", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    /// <summary>
    /// Runs the finalizers that free native tensors, then returns the heap's free memory to the kernel
    /// (malloc_trim): RSS drops to what is live. For measurements (e.g. the peak RSS of one benchmark).
    /// </summary>
    public static void Trim()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        if (!OperatingSystem.IsLinux()) return;
        try { MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [DllImport("libc.so.6", EntryPoint = "setenv")]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>Entries kept in oneDNN's and ideep's caches of compiled kernels (primitives); libtorch's default is 1024.</summary>
    public const int PrimitiveCacheCapacity = 32;

    /// <summary>
    /// Caps oneDNN's primitive cache (ONEDNN_PRIMITIVE_CACHE_CAPACITY) and ideep's (LRU_CACHE_CAPACITY) unless the user
    /// set them. Dynamic padding gives each batch its own sequence length, so every step meets matrix products of new
    /// shapes; with the default 1,024 entries the cached bf16 kernels grew RSS without bound for the length of a run
    /// (measured, `facttrace bench leak --precision bf16 --threads 1`: 949 MB at step 250, 1,526 MB at step 1,750; with 16
    /// entries 469 -> 502 MB at the same speed). Must run before libtorch loads: the variables are read from the
    /// process environment (which .NET's Environment.SetEnvironmentVariable does not change on Linux).
    /// </summary>
    public static void LimitPrimitiveCaches()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            SetEnv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", PrimitiveCacheCapacity.ToString(), 0);
            SetEnv("LRU_CACHE_CAPACITY", PrimitiveCacheCapacity.ToString(), 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>Whether <see cref="KeepFreedMemory"/> took effect in this process.</summary>
    public static bool Tuned { get; private set; }

    /// <summary>
    /// Blocks up to 32 MiB (glibc's maximum) come from the heap, freed memory is returned to the kernel only beyond
    /// 1 GiB at the top, and the heap grows in 64 MiB steps. Call once at start-up, before tensors exist. Linux/glibc
    /// only; elsewhere (or with FACTTRACE_MALLOC=default) it does nothing and returns false.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("FACTTRACE_MALLOC") == "default") return false;
        try
        {
            Tuned = Mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
                    & Mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
                    & Mallopt(M_TOP_PAD, 64 << 20) == 1;
            return Tuned;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false; // not glibc (e.g. musl)
        }
    }
}
