// The engine answers with the kernel's error numbers; callers see them with the engine.
@_exported import KernelErrno
