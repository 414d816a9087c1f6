import P2PDMA
import PCITopology

/// The engine: one process's view of BAR memory — providers and their pages, VMAs, GUP/PUP,
/// scatter/gather lists, DMA mapping per client, dma-buf exports, provider lifetime — with the
/// kernel's rules and errors (kernel-p2pdma.md §2–5). Single-threaded; not Sendable on purpose.
public final class Engine {
    public private(set) var topology: Topology
    public private(set) var analyzer: P2PAnalyzer
    /// The kernel's per-provider map-type cache (an xarray keyed by client): filled on first
    /// use, dropped only when the provider is released — so ACS changes made at runtime are
    /// not noticed until then (kernel-p2pdma.md §1.6).
    public private(set) var mapTypeCache: [BDF: [BDF: MapType]] = [:]
    public var kernel: KernelVersion { analyzer.kernel }

    public private(set) var providers: [BDF: Provider] = [:]
    public private(set) var vmas: [VMA] = []
    public private(set) var vmstat = VMStat()
    public private(set) var dmabufs: [DmaBuf] = []
    /// Host pages pinned, per VMA id and page.
    var hostPins: [Int: [Int: Int]] = [:]
    var barMemory: [BDF: [Int: BackingMemory]] = [:]
    private var nextVA: UInt64 = 0x7f00_0000_0000
    private var nextVMAId = 1
    private var nextIOVA: UInt64 = 0xfff0_0000_0000

    /// `/proc/vmstat` pin counters, as the engine moves them.
    public struct VMStat: Sendable {
        public var nr_foll_pin_acquired = 0
        public var nr_foll_pin_released = 0
        public var outstanding: Int { nr_foll_pin_acquired - nr_foll_pin_released }
    }

    /// Registers the providers the topology says exist (devices whose `p2pmem` is present:
    /// their driver called `pci_p2pdma_add_resource` at probe).
    public init(topology: Topology, analyzer: P2PAnalyzer) throws(EngineError) {
        self.topology = topology
        self.analyzer = analyzer
        for d in topology.devices {
            guard let pool = d.sysfs?.p2pmem, pool.size > 0,
                  let bar = d.bars.first(where: { $0.size == pool.size && $0.space == .memory }) else { continue }
            let provider = try Provider.addResource(d, bar: bar.index, published: pool.published)
            if pool.available < pool.size { provider.reserveForDriver(bytes: Int(pool.size - pool.available)) }
            providers[d.bdf] = provider
        }
    }

    // MARK: mappings

    /// What a CPU load or store at `address` gets.
    public enum Access: String, Sendable { case ok, SIGBUS, SIGSEGV }

    /// A touch of `address`: a live mapping answers; a mapping its provider's unbind zapped is
    /// SIGBUS (no PTE, no fault handler); no mapping at all is SIGSEGV.
    public func access(_ address: UInt64) -> Access {
        guard let v = vmas.first(where: { address >= $0.start && address < $0.start + UInt64($0.length) }) else { return .SIGSEGV }
        return v.zapped ? .SIGBUS : .ok
    }

    public func vma(containing address: UInt64) -> VMA? {
        vmas.first { !$0.zapped && address >= $0.start && address < $0.start + UInt64($0.length) }
    }

    private func newVMA(_ length: Int, _ kind: VMA.Kind) -> VMA {
        let pages = (length + PAGE_SIZE - 1) / PAGE_SIZE
        let v = VMA(id: nextVMAId, start: nextVA, length: pages * PAGE_SIZE, kind: kind)
        nextVMAId += 1
        nextVA += UInt64(pages * PAGE_SIZE) + 1 << 21   // a guard gap between mappings
        vmas.append(v)
        return v
    }

    /// mmap of anonymous host memory.
    public func mmapHost(length: Int) throws(EngineError) -> VMA {
        newVMA(length, .anonymous(try BackingMemory(length: length)))
    }

    /// `mmap()` of `/sys/bus/pci/devices/<bdf>/p2pmem/allocate` (`p2pmem_alloc_mmap`, 6.2+).
    public func mmapP2PMem(_ device: BDF, length: Int, shared: Bool = true, offset: Int = 0) throws(EngineError) -> VMA {
        guard kernel.userspaceP2PDMA else {
            throw EngineError(.ENOENT, "p2pmem/allocate does not exist before 6.2 (kernel \(kernel))")
        }
        guard let provider = providers[device] else {
            throw EngineError(.ENOENT, "\(device) has no p2pmem directory: not a p2pdma provider")
        }
        guard shared else { throw EngineError(.EINVAL, "p2pmem/allocate needs MAP_SHARED") }
        guard offset == 0 else { throw EngineError(.EINVAL, "p2pmem/allocate needs offset 0") }
        guard provider.alive else { throw EngineError(.ENODEV, "provider \(device) is going away") }
        let pages = (length + PAGE_SIZE - 1) / PAGE_SIZE
        guard let first = provider.allocate(pages: pages) else {
            throw EngineError(.ENOMEM, "no \(pages * PAGE_SIZE) contiguous bytes in \(device)'s pool (available \(provider.available))")
        }
        for p in first..<(first + pages) { provider.refcount[p] = 1 }   // the PTE's reference
        return newVMA(length, .p2pmem(provider, firstPage: first))
    }

    /// `mmap()` of `resourceN` (or a VFIO region): a `VM_IO|VM_PFNMAP` mapping, no struct pages.
    /// `length`: map only the BAR's first bytes, as `mmap(resourceN, length)` does — a 4 MiB
    /// transfer into a 64 GiB BAR maps 4 MiB, and only those pages are ever touched.
    public func mmapResource(_ device: BDF, bar: Int, length: Int? = nil) throws(EngineError) -> VMA {
        guard let d = topology.device(device), let b = d.bars.first(where: { $0.index == bar }),
              b.space == .memory, let size = b.size, size > 0 else {
            throw EngineError(.EINVAL, "\(device) has no memory BAR \(bar) to map")
        }
        let mapped = min(Int(size), max(PAGE_SIZE, length ?? Int(size)))
        return newVMA(mapped, .pfnmap(device, bar: bar, try memory(of: device, bar: bar, size: Int(size))))
    }

    /// The simulated BAR's memory: the whole BAR (reserved, not touched), or an error — never
    /// a smaller buffer than the BAR a caller will address.
    func memory(of device: BDF, bar: Int, size: Int) throws(EngineError) -> BackingMemory {
        if let p = providers[device], p.bar == bar { return p.memory }
        if let m = barMemory[device]?[bar] { return m }
        let m = try BackingMemory(length: size)
        barMemory[device, default: [:]][bar] = m
        return m
    }

    public func munmap(_ v: VMA) {
        guard let i = vmas.firstIndex(where: { $0 === v }) else { return }
        zapPTEs(v)
        vmas.remove(at: i)
    }

    /// Drops the PTE references of a mapping (munmap, or the provider's unbind zapping it).
    private func zapPTEs(_ v: VMA) {
        guard !v.zapped else { return }
        v.zapped = true
        if case .p2pmem(let provider, let first) = v.kind {
            for p in first..<(first + v.length / PAGE_SIZE) { provider.put(p) }
        }
    }

    // MARK: GUP / PUP

    /// `pin_user_pages()` / `get_user_pages()`: returns the pages taken (partial success
    /// returns what it got; an error only when no page was taken).
    public func getUserPages(_ start: UInt64, pages n: Int, flags: FOLL) throws(EngineError) -> [PageRef] {
        try validate(flags)
        var got: [PageRef] = []
        got.reserveCapacity(n)
        var current: VMA? = nil
        for i in 0..<n {
            let address = start + UInt64(i * PAGE_SIZE)
            // One VMA lookup per run of pages (find_vma), not per page.
            if current == nil || address >= current!.start + UInt64(current!.length) { current = vma(containing: address) }
            do throws(EngineError) {
                guard let v = current else { throw EngineError(.EFAULT, "no mapping at 0x\(String(address, radix: 16))") }
                got.append(try grab(v, address, flags))
            } catch {
                if got.isEmpty { throw error }
                return got
            }
        }
        return got
    }

    /// `is_valid_gup_args` (and 6.2's check_vma_flags for LONGTERM with P2PDMA).
    func validate(_ flags: FOLL) throws(EngineError) {
        if flags.contains(.GET) && flags.contains(.PIN) { throw EngineError(.EINVAL, "FOLL_GET and FOLL_PIN together") }
        if flags.contains(.LONGTERM) && !flags.contains(.PIN) { throw EngineError(.EINVAL, "FOLL_LONGTERM without FOLL_PIN") }
        if flags.contains(.LONGTERM) && flags.contains(.PCI_P2PDMA) {
            if kernel < KernelVersion(6, 3) { throw EngineError(.EOPNOTSUPP, "FOLL_LONGTERM with FOLL_PCI_P2PDMA (check_vma_flags, 6.2)") }
            throw EngineError(.EINVAL, "FOLL_LONGTERM with FOLL_PCI_P2PDMA: P2PDMA pages cannot be pinned long-term")
        }
    }

    private func grab(_ v: VMA, _ address: UInt64, _ flags: FOLL) throws(EngineError) -> PageRef {
        let page = Int(address - v.start) / PAGE_SIZE
        let pin = flags.contains(.PIN)
        let amount = pin ? GUP_PIN_COUNTING_BIAS : 1
        switch v.kind {
        case .pfnmap(let d, let bar, _):
            throw EngineError(.EFAULT, "VM_IO|VM_PFNMAP mapping of \(d) BAR \(bar): no struct pages to pin")
        case .p2pmem(let provider, let first):
            if flags.isSuperset(of: [.PIN, .LONGTERM, .WRITE]) && kernel.longtermWriteFileCheck {
                throw EngineError(.EFAULT, "check_vma_flags: a FOLL_LONGTERM|FOLL_WRITE pin of \(provider.device)'s p2pmem/allocate mapping, a shared file mapping that needs dirty tracking (writable_file_mapping_allowed, 6.5+)")
            }
            guard flags.contains(.PCI_P2PDMA) else {
                throw EngineError(.EREMOTEIO, "P2PDMA page of \(provider.device) without FOLL_PCI_P2PDMA")
            }
            provider.refcount[first + page] += amount
            if pin { vmstat.nr_foll_pin_acquired += 1 }
            return PageRef(p2p: provider, first + page, pinned: pin, vmaID: v.id, vmaPage: page)
        case .anonymous(let memory):
            hostPins[v.id, default: [:]][page, default: 0] += amount
            if pin { vmstat.nr_foll_pin_acquired += 1 }
            return PageRef(host: memory, page, pinned: pin, vmaID: v.id, vmaPage: page)
        }
    }

    /// `unpin_user_pages()` / `put_page()` for what `getUserPages` returned.
    public func putUserPages(_ pages: [PageRef]) {
        for p in pages {
            let amount = p.pinned ? GUP_PIN_COUNTING_BIAS : 1
            if let provider = p.provider {
                provider._withUnsafeGuaranteedRef { $0.put(p.index, amount) }
            } else {
                hostPins[p.vmaID]?[p.vmaPage]! -= amount
                if hostPins[p.vmaID]?[p.vmaPage] == 0 { hostPins[p.vmaID]?[p.vmaPage] = nil }
            }
            if p.pinned { vmstat.nr_foll_pin_released += 1 }
        }
    }

    // MARK: scatter/gather and DMA mapping

    /// Builds an SG list: adjacent pages coalesce up to `maxSegment`, never across pgmaps.
    public func buildSG(_ pages: [PageRef], maxSegment: Int = 64 << 10) -> [SGSegment] {
        var out: [SGSegment] = []
        for p in pages {
            if var last = out.last, last.length + PAGE_SIZE <= maxSegment, last.continues(with: p) {
                last.length += PAGE_SIZE
                out[out.count - 1] = last
            } else {
                out.append(SGSegment(first: p, length: PAGE_SIZE))
            }
        }
        return out
    }

    /// `dma_map_sgtable()` for `client`: bus addresses for BUS_ADDR, IOVA (translating IOMMU)
    /// or physical addresses for THRU_HOST_BRIDGE, -EREMOTEIO with full unwind otherwise.
    public func dmaMap(_ sg: [SGSegment], client: BDF) throws(EngineError) -> [DMASegment] {
        var mapped: [DMASegment] = []
        var cache: (BDF, MapType)? = nil
        let iommu = topology.device(client)?.sysfs?.iommuType
        let translating = iommu == "DMA" || iommu == "DMA-FQ"
        for s in sg {
            switch s.first.kind {
            case .p2p(let provider, let page):
                let type: MapType
                if let c = cache, c.0 == provider.device { type = c.1 } else {
                    type = mapType(provider: provider.device, client: client)
                    cache = (provider.device, type)
                }
                let phys = provider.busAddress + UInt64(page * PAGE_SIZE)
                switch type {
                case .busAddr:
                    mapped.append(DMASegment(segment: s, dmaAddress: phys, busAddress: true))
                case .thruHostBridge:
                    mapped.append(DMASegment(segment: s, dmaAddress: translating ? allocIOVA(s.length) : phys, busAddress: false))
                case .notSupported:
                    dmaUnmap(mapped)
                    throw EngineError(.EREMOTEIO, "\(provider.device) → \(client) is NOT_SUPPORTED: dma_map_sg refuses the P2P segment")
                }
            case .host(_, let page):
                mapped.append(DMASegment(segment: s, dmaAddress: translating ? allocIOVA(s.length) : 0x1_0000_0000 + UInt64(page * PAGE_SIZE), busAddress: false))
            }
        }
        return mapped
    }

    /// `pci_p2pdma_map_type` with the provider's cache.
    public func mapType(provider: BDF, client: BDF) -> MapType {
        if let t = mapTypeCache[provider]?[client] { return t }
        let t = analyzer.verdict(provider: provider, client: client).mapType
        if providers[provider] != nil { mapTypeCache[provider, default: [:]][client] = t }
        return t
    }

    /// Replaces the machine's state (e.g. an ACS bit flipped with setpci); cached map types stay.
    public func update(topology: Topology) {
        self.topology = topology
        analyzer = analyzer.with(topology: topology)
    }

    private func allocIOVA(_ length: Int) -> UInt64 {
        defer { nextIOVA += UInt64(length) }
        return nextIOVA
    }

    public func dmaUnmap(_ segments: [DMASegment]) {}

    // MARK: lifetime

    public enum UnbindResult: Sendable {
        case done
        /// memunmap_pages waits: these pages still hold pins (who holds them, page counts).
        case waiting(pinnedPages: Int, holders: [String])
    }

    /// Unbinding the provider's driver: zap every allocate mapping, kill the pgmap ref, then
    /// wait until no page is referenced. Call again (`finishUnbind`) once pins are released.
    public func unbind(_ device: BDF) throws(EngineError) -> UnbindResult {
        guard let provider = providers[device] else { throw EngineError(.ENODEV, "\(device) is not a p2pdma provider") }
        // The VMAs stay (the process still has them) with no PTEs behind them: the next
        // access faults, and p2pmem mappings have no fault handler, so it is SIGBUS.
        for v in vmas { if case .p2pmem(let p, _) = v.kind, p === provider { zapPTEs(v) } }
        provider.releaseDriverPages()
        provider.killRef()
        return finishUnbind(device)
    }

    public func finishUnbind(_ device: BDF) -> UnbindResult {
        guard let provider = providers[device] else { return .done }
        let pinned = (0..<provider.pageCount).filter { provider.refcount[$0] > 0 }
        if pinned.isEmpty {
            providers[device] = nil
            mapTypeCache[device] = nil   // pci_p2pdma_release destroys the cache
            return .done
        }
        return .waiting(pinnedPages: pinned.count, holders: ["\(pinned.count) page(s) pinned (in-flight I/O or a leaked pin)"])
    }

    // MARK: accounting

    /// What would leak if the process exited now without cleaning up.
    public struct Leaks: Sendable, Equatable {
        public var pins: Int
        public var pages: Int
        public var poolBytes: Int
        public var mappings: Int
        public var dmabufAttachments: Int
        public var isEmpty: Bool { pins == 0 && pages == 0 && poolBytes == 0 && mappings == 0 && dmabufAttachments == 0 }
    }

    public func leaks() -> Leaks {
        var pages = 0, pool = 0
        for p in providers.values {
            let mappedPages = vmas.reduce(0) { n, v in
                if case .p2pmem(let q, _) = v.kind, q === p, !v.zapped { return n + v.length / PAGE_SIZE }
                return n
            }
            let referenced = p.refcount.lazy.filter { $0 > 0 }.count
            pages += max(0, referenced - mappedPages - p.driverPages)
            pool += max(0, p.size - p.available - (mappedPages + p.driverPages) * PAGE_SIZE)
        }
        let hostPinned = hostPins.values.reduce(0) { $0 + $1.count }
        return Leaks(pins: vmstat.outstanding, pages: pages + hostPinned, poolBytes: pool, mappings: vmas.count,
                     dmabufAttachments: dmabufs.reduce(0) { $0 + $1.attachments.count })
    }

    // MARK: dma-buf (VFIO export, 6.19+)

    /// `VFIO_DEVICE_FEATURE_DMA_BUF`: export BAR ranges of a vfio-pci device as a dma-buf.
    public func exportDmabuf(_ device: BDF, bar: Int, ranges: [(offset: UInt64, length: UInt64)]) throws(EngineError) -> DmaBuf {
        guard kernel.dmabufProviders else { throw EngineError(.EOPNOTSUPP, "VFIO dma-buf export arrives in 6.19 (kernel \(kernel))") }
        guard !ranges.isEmpty else { throw EngineError(.EINVAL, "nr_ranges is 0") }
        guard bar >= 0 && bar < 6 else { throw EngineError(.ENODEV, "region \(bar) is not BAR0–5") }
        guard let d = topology.device(device), let b = d.bars.first(where: { $0.index == bar }), let size = b.size,
              b.space == .memory, let base = b.address else {
            throw EngineError(.EINVAL, "\(device) has no memory BAR \(bar)")
        }
        var total: UInt64 = 0
        for r in ranges {
            guard r.length > 0, r.offset % UInt64(PAGE_SIZE) == 0, r.length % UInt64(PAGE_SIZE) == 0 else {
                throw EngineError(.EINVAL, "range \(r.offset)+\(r.length) is empty or not page aligned")
            }
            let (end, overflow) = r.offset.addingReportingOverflow(r.length)
            guard !overflow else { throw EngineError(.EOVERFLOW, "range end overflows") }
            guard end <= size else { throw EngineError(.EINVAL, "range end \(end) is beyond BAR \(bar) (\(size) bytes)") }
            total += r.length
        }
        let buf = DmaBuf(device: device, bar: bar, barAddress: base, ranges: ranges, size: Int(total),
                         memory: try memory(of: device, bar: bar, size: Int(size)))
        dmabufs.append(buf)
        return buf
    }

    /// Importer attach + map (`dma_buf_phys_vec_to_sgt`): BUS_ADDR gives bus addresses,
    /// THRU_HOST_BRIDGE an IOVA or physical address, anything else -EINVAL.
    public func attach(_ buf: DmaBuf, importer: BDF, peer2peer: Bool = true) throws(EngineError) -> DmaBufAttachment {
        guard !buf.revoked else { throw EngineError(.ENODEV, "dma-buf of \(buf.device) is revoked") }
        guard peer2peer else { throw EngineError(.EOPNOTSUPP, "importer did not ask for peer-to-peer") }
        let type = analyzer.verdict(provider: buf.device, client: importer).mapType   // 6.19 providers: no pool, no cache
        let translating = ["DMA", "DMA-FQ"].contains(topology.device(importer)?.sysfs?.iommuType ?? "")
        let addresses: [UInt64]
        switch type {
        case .busAddr: addresses = buf.ranges.map { buf.barAddress + $0.offset }
        case .thruHostBridge: addresses = buf.ranges.map { translating ? allocIOVA(Int($0.length)) : buf.barAddress + $0.offset }
        case .notSupported: throw EngineError(.EINVAL, "\(buf.device) → \(importer) is NOT_SUPPORTED: the exporter cannot map it")
        }
        let a = DmaBufAttachment(importer: importer, mapType: type, dmaAddresses: addresses)
        buf.attachments.append(a)
        return a
    }

    public func detach(_ buf: DmaBuf, _ a: DmaBufAttachment) {
        buf.attachments.removeAll { $0 === a }
    }

    /// Revoke (memory decode off, reset, D3hot): importers' mappings are invalidated.
    public func revoke(_ buf: DmaBuf) -> Int {
        buf.revoked = true
        let n = buf.attachments.count
        for a in buf.attachments { a.invalidated = true }
        buf.attachments.removeAll()
        return n
    }

    public func release(_ buf: DmaBuf) {
        dmabufs.removeAll { $0 === buf }
    }
}
