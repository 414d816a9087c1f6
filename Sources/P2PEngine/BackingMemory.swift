#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Real memory behind a simulated BAR or a host buffer: an anonymous, lazily-populated
/// mapping (MAP_NORESERVE), so a 64 GiB BAR costs only the pages a transfer touches.
/// DMA in the simulated fabric is a real copy into and out of these bytes.
public final class BackingMemory: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let length: Int

    public init(length: Int) throws(EngineError) {
        let size = max(length, PAGE_SIZE)
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
              p != MAP_FAILED else {
            throw EngineError(.ENOMEM, "cannot reserve \(size) bytes of backing memory")
        }
        base = p
        self.length = size
    }

    deinit { munmap(base, length) }

    /// Gives the pages of [offset, offset+length) back to the kernel (they read as zero again).
    public func discard(offset: Int, length: Int) {
        let start = offset / PAGE_SIZE * PAGE_SIZE
        let end = min(self.length, (offset + length + PAGE_SIZE - 1) / PAGE_SIZE * PAGE_SIZE)
        if end > start { madvise(base + start, end - start, MADV_DONTNEED) }
    }

    public func pointer(_ offset: Int) -> UnsafeMutableRawPointer { base + offset }
}
