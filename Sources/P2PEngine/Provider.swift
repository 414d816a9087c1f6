import PCITopology

/// A p2pdma provider: BAR memory registered with `pci_p2pdma_add_resource`, its ZONE_DEVICE
/// pages (order 0) and the genpool that hands them out.
public final class Provider: @unchecked Sendable {
    public let device: BDF
    public let bar: Int
    /// Bus address of the first pool byte (CPU physical + bus_offset; bus_offset is 0 on x86).
    public let busAddress: UInt64
    public let size: Int
    public var published: Bool
    /// The pgmap's percpu ref is live (false once unbind started).
    public private(set) var alive = true
    let memory: BackingMemory
    /// `_refcount` of each page; 0 = free in the pool. Raw storage: the pin path touches it
    /// once per page and must not pay for copy-on-write or exclusivity checks.
    let refcount: UnsafeMutableBufferPointer<Int>
    /// Which pages are handed out (mapped or allocated), for first-fit.
    var allocated: [Bool]
    /// Pages the provider's own driver took from the pool at probe (NVMe: submission queues in
    /// its CMB), the first ones: held until the driver unbinds.
    public private(set) var driverPages = 0

    public var pageCount: Int { refcount.count }
    public var available: Int { allocated.lazy.filter { !$0 }.count * PAGE_SIZE }

    init(device: BDF, bar: Int, busAddress: UInt64, size: Int, published: Bool) throws(EngineError) {
        self.device = device; self.bar = bar; self.busAddress = busAddress; self.size = size
        self.published = published
        memory = try BackingMemory(length: size)
        refcount = UnsafeMutableBufferPointer<Int>.allocate(capacity: size / PAGE_SIZE)
        refcount.initialize(repeating: 0)
        allocated = [Bool](repeating: false, count: size / PAGE_SIZE)
    }

    deinit { refcount.deallocate() }

    /// `pci_p2pdma_add_resource(pdev, bar, size, offset)`: the kernel's checks, in order.
    public static func addResource(_ d: Device, bar: Int, size: UInt64 = 0, offset: UInt64 = 0,
                                   published: Bool) throws(EngineError) -> Provider {
        guard let b = d.bars.first(where: { $0.index == bar }), b.space == .memory, let barLen = b.size, let base = b.address else {
            throw EngineError(.EINVAL, "\(d.bdf) BAR \(bar) is not a sized memory BAR")
        }
        guard offset < barLen else { throw EngineError(.EINVAL, "offset \(offset) is beyond BAR \(bar) (\(barLen) bytes)") }
        let len = size == 0 ? barLen - offset : size
        guard len + offset <= barLen else { throw EngineError(.EINVAL, "size \(len) + offset \(offset) exceed BAR \(bar)") }
        // memremap_pages: subsection (2 MiB) alignment of start and size on x86-64.
        let subsection: UInt64 = 2 << 20
        guard (base + offset) % subsection == 0, len % subsection == 0 else {
            throw EngineError(.EINVAL, "range is not 2 MiB aligned (memremap_pages subsection rule)")
        }
        return try Provider(device: d.bdf, bar: bar, busAddress: base + offset, size: Int(len), published: published)
    }

    /// genpool first-fit of `pages` contiguous free pages.
    func allocate(pages n: Int) -> Int? {
        guard alive, n > 0, n <= allocated.count else { return nil }
        var run = 0
        for i in 0..<allocated.count {
            run = allocated[i] ? 0 : run + 1
            if run == n {
                let first = i - n + 1
                for p in first...i { allocated[p] = true }
                return first
            }
        }
        return nil
    }

    /// Drops one reference; at zero the page goes back to the pool (`page_free`).
    func put(_ page: Int, _ amount: Int = 1) {
        refcount[page] -= amount
        precondition(refcount[page] >= 0, "page refcount underflow")
        if refcount[page] == 0 { allocated[page] = false }
    }

    func killRef() { alive = false }

    /// The driver's own allocations at probe: what `p2pmem/available` is short of `size`.
    func reserveForDriver(bytes: Int) {
        let n = min(pageCount, (bytes + PAGE_SIZE - 1) / PAGE_SIZE)
        for p in 0..<n { allocated[p] = true; refcount[p] = 1 }
        driverPages = n
    }

    /// The driver frees them as it unbinds (before the pgmap is torn down).
    func releaseDriverPages() {
        for p in 0..<driverPages { put(p) }
        driverPages = 0
    }

    public func pinned(_ page: Int) -> Bool { refcount[page] >= GUP_PIN_COUNTING_BIAS }
    /// Pins held on the page (refcount / bias for order-0 pages).
    public func pins(_ page: Int) -> Int { refcount[page] / GUP_PIN_COUNTING_BIAS }
}
