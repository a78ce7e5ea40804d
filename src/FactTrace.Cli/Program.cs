using FactTrace.Cli;

// The `facttrace` command: a thin layer that parses options, calls the library and prints.
// libtorch's buffers reuse freed heap memory instead of page-faulting fresh pages every step (see NativeAllocator).
FactTrace.IO.NativeAllocator.KeepFreedMemory();
// Bounded kernel caches: with dynamic padding every batch length compiles new kernels (see LimitPrimitiveCaches).
FactTrace.IO.NativeAllocator.LimitPrimitiveCaches();
return Cli.Run(CliApp.BuildRoot(), args);
