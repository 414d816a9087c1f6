import KernelErrno
import P2PEngine
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Memory a real transfer lands in: anonymous host memory, an mmap of a provider's
/// `p2pmem/allocate` (kernel ≥ 6.2, root) whose pages are ZONE_DEVICE p2pdma pages, or a
/// dma-buf from a DMA-BUF heap (`/dev/dma_heap/NAME`, CONFIG_DMABUF_HEAPS), mapped too.
/// Every page is touched once so that page faults stay out of timed phases.
public final class RealBuffer {
    public enum Kind: Sendable, Equatable {
        case host, p2pmem(String), dmabuf(heap: String)

        public var description: String {
            switch self {
            case .host: "host memory"
            case .p2pmem(let d): "p2pmem of \(d)"
            case .dmabuf(let h): "a dma-buf from /dev/dma_heap/\(h)"
            }
        }
    }

    /// `DMA_HEAP_IOCTL_ALLOC`: `_IOWR('H', 0, struct dma_heap_allocation_data)` (24 bytes).
    static let DMA_HEAP_IOCTL_ALLOC: UInt = 0xC018_4800
    struct DMAHeapAllocation { var len: UInt64; var fd: UInt32; var fdFlags: UInt32; var heapFlags: UInt64 }

    public let kind: Kind
    public let base: UnsafeMutableRawPointer
    public let size: Int
    private let fd: Int32
    /// The dma-buf file descriptor of a `.dmabuf` buffer (for `ibv_reg_dmabuf_mr`).
    public var dmabufFD: Int32? { if case .dmabuf = kind { return fd }; return nil }

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
        case .dmabuf(let heap):
            let path = "/dev/dma_heap/\(heap)"
            let h = open(path, O_RDONLY | O_CLOEXEC)
            guard h >= 0 else {
                let e = errno
                throw EngineError(e == ENOENT ? .ENODEV : .EPERM, e == ENOENT
                    ? "no \(path): this kernel offers no DMA-BUF heap '\(heap)' (CONFIG_DMABUF_HEAPS_SYSTEM)" + (access("/dev/dma_heap", F_OK) == 0 ? "" : "; /dev/dma_heap is absent")
                    : "cannot open \(path): \(String(cString: strerror(e)))")
            }
            defer { close(h) }
            var alloc = DMAHeapAllocation(len: UInt64(size), fd: 0, fdFlags: UInt32(O_RDWR | O_CLOEXEC), heapFlags: 0)
            guard withUnsafeMutablePointer(to: &alloc, { ioctl(h, RealBuffer.DMA_HEAP_IOCTL_ALLOC, UnsafeMutableRawPointer($0)) }) == 0 else {
                throw EngineError(.ENOMEM, "DMA_HEAP_IOCTL_ALLOC of \(size) bytes from \(path): \(String(cString: strerror(errno)))")
            }
            let f = Int32(bitPattern: alloc.fd)
            guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0), p != MAP_FAILED else {
                let e = errno
                close(f)
                throw EngineError(.ENOMEM, "mmap of the dma-buf: \(String(cString: strerror(e)))")
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
