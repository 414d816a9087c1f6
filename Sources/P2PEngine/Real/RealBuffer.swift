#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Memory a real transfer lands in: anonymous host memory, or an mmap of a provider's
/// `p2pmem/allocate` (kernel ≥ 6.2, root) whose pages are ZONE_DEVICE p2pdma pages.
/// Every page is touched once so that page faults stay out of timed phases.
public final class RealBuffer {
    public enum Kind: Sendable, Equatable { case host, p2pmem(String) }

    public let kind: Kind
    public let base: UnsafeMutableRawPointer
    public let size: Int
    private let fd: Int32

    public init(_ kind: Kind, size: Int) throws(EngineError) {
        self.kind = kind
        self.size = size
        switch kind {
        case .host:
            guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
                throw EngineError(.ENOMEM, "cannot map \(size) bytes of host memory")
            }
            base = p; fd = -1
        case .p2pmem(let bdf):
            let alloc = "/sys/bus/pci/devices/\(bdf)/p2pmem/allocate"
            let f = open(alloc, O_RDWR | O_CLOEXEC)
            guard f >= 0 else {
                let e = errno
                let why = access("/sys/bus/pci/devices/\(bdf)/p2pmem", F_OK) != 0 ? "\(bdf) publishes no p2pmem (no provider driver bound, or CONFIG_PCI_P2PDMA off)"
                    : e == ENOENT ? "p2pmem/allocate needs kernel 6.2 or later" : "cannot open \(alloc): \(String(cString: strerror(e))) (root needed)"
                throw EngineError(e == ENOENT ? .ENOENT : .EPERM, why)
            }
            guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), p != MAP_FAILED else {
                let e = errno
                close(f)
                throw EngineError(.ENOMEM, "mmap of \(alloc) failed: \(String(cString: strerror(e)))")
            }
            base = p; fd = f
        }
        var off = 0
        while off < size { base.storeBytes(of: 0, toByteOffset: off, as: UInt8.self); off += 4096 }
    }

    deinit {
        munmap(base, size)
        if fd >= 0 { close(fd) }
    }
}
