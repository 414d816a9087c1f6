#if canImport(Glibc)
@preconcurrency import Glibc   // memcpy, memcmp: the bytes a transfer moves
#endif
import P2PDMA
import PCITopology

/// How a transfer reaches the memory: the consumers of kernel-p2pdma.md §3.4 and §5.2.
public enum TransferMethod: String, Sendable, CaseIterable {
    /// O_DIRECT block I/O into a p2pmem mapping: transient FOLL_PCI_P2PDMA pins per I/O.
    case odirect
    /// RDMA `ibv_reg_mr` of the mapping: FOLL_PIN|FOLL_LONGTERM, no FOLL_PCI_P2PDMA.
    case rdma
    /// RDMA `ibv_reg_dmabuf_mr` on a VFIO dma-buf export of the BAR: no struct pages, no pins.
    case dmabuf
    /// CPU copy through a `resourceN` mapping (MMIO writes), no DMA at all.
    case cpu
    /// Zero-copy network send (MSG_ZEROCOPY): the socket takes page references without
    /// FOLL_PCI_P2PDMA, so p2pmem is refused and host memory works.
    case zerocopy
}

public struct TransferRequest: Sendable {
    public var from: BDF?          // nil = host memory
    public var to: BDF?            // nil = host memory
    public var size: Int
    public var block: Int
    public var queueDepth: Int
    public var method: TransferMethod
    public var unthrottled: Bool
    /// odirect through io_uring with the buffer registered once (`IORING_REGISTER_BUFFERS`):
    /// long-term pins up front, none per I/O.
    public var registeredBuffer: Bool
    /// odirect through io_uring: each I/O is first tried without blocking (IOCB_NOWAIT).
    public var nowait: Bool
    /// The block queue's largest I/O (`queue/max_sectors_kb` × 1024); nil: unknown (no split).
    public var queueLimit: Int?

    public init(from: BDF?, to: BDF?, size: Int, block: Int = 1 << 20, queueDepth: Int = 4, method: TransferMethod, unthrottled: Bool = false,
                registeredBuffer: Bool = false, nowait: Bool = false, queueLimit: Int? = nil) {
        self.from = from; self.to = to; self.size = size; self.block = block
        self.queueDepth = queueDepth; self.method = method; self.unthrottled = unthrottled; self.registeredBuffer = registeredBuffer
        self.nowait = nowait; self.queueLimit = queueLimit
    }

    /// `BIO_MAX_VECS`: the pages one bio holds.
    static let bioMaxPages = 256

    /// Pages a nowait attempt pins before giving up with -EAGAIN (io-wq then pins them all
    /// again), for an I/O of `pages`: the first bio's pages when a second bio would be needed,
    /// all of them when the queue would have to split it, else none.
    func nowaitRetryPages(_ pages: Int, kernel: KernelVersion) -> Int {
        guard nowait, !registeredBuffer, kernel.nowaitSplitRetry else { return 0 }
        if pages > Self.bioMaxPages { return Self.bioMaxPages }
        if let limit = queueLimit, pages * PAGE_SIZE > limit { return pages }
        return 0
    }
}

/// Runs one transfer on an engine, moving real bytes and verifying them.
public struct TransferRunner {
    /// The most memory a transfer touches at once: larger transfers cycle through a window of
    /// this size (as p2pmem-test does), so a 64 GiB BAR never becomes 64 GiB of resident memory.
    public static let maxWindow = 256 << 20
    /// The largest modelled transfer: bigger ones are refused up front, not run for hours.
    public static let maxSize = 64 << 30

    public let engine: Engine
    /// Called after each batch of I/Os with bytes done so far and pins currently held.
    public var progress: ((Int, Int) -> Void)?
    /// Asked after each batch; true stops the transfer (it unwinds and reports ECANCELED).
    public var shouldCancel: (() -> Bool)?

    /// Shared with transfers running at the same time: the fabric's links are divided max-min
    /// fairly among them (nil: this transfer has the fabric to itself).
    public var arbiter: FabricArbiter?
    /// A device that drops a write: the I/O with this index moves no bytes. For tests that
    /// show verification catching it (nil in every real use).
    public var dropIO: Int?
    /// The time a transfer runs on: the model's (the default: a modelled transfer takes the
    /// fabric's time without sleeping) or the wall clock (a live demo's pacing, or the engine's
    /// own cost when unthrottled).
    public var clock: any EngineClock
    private let pace = Pace()

    /// Where the pacing stands: the time the bytes so far are due by, at the rates they had.
    final class Pace {
        var flow: Int?
        var start = -1.0, bytes = 0, due = 0.0
        /// The model's clock: the time the bytes and I/Os so far take on the fabric.
        var modelled = 0.0, ios = 0
    }

    public init(engine: Engine, clock: any EngineClock = ModelClock(), arbiter: FabricArbiter? = nil,
                progress: ((Int, Int) -> Void)? = nil, shouldCancel: (() -> Bool)? = nil) {
        self.engine = engine; self.clock = clock; self.arbiter = arbiter; self.progress = progress; self.shouldCancel = shouldCancel
    }

    /// The data a device "holds" at an absolute offset: a pattern no two offsets share.
    static func fill(_ p: UnsafeMutableRawPointer, length: Int, offset: Int, seed: UInt64) {
        let words = p.bindMemory(to: UInt64.self, capacity: length / 8)
        var x = UInt64(offset / 8)
        for i in 0..<(length / 8) {
            words[i] = (x &* 0x9e37_79b9_7f4a_7c15) ^ seed
            x &+= 1
        }
    }

    /// The destination before a pass: every byte the complement of what the source holds there,
    /// so that a byte the device never writes cannot pass verification by chance.
    static func fillUnlike(_ p: UnsafeMutableRawPointer, source: UnsafeRawPointer, length: Int) {
        let words = length / 8
        let d = p.bindMemory(to: UInt64.self, capacity: words), s = source.bindMemory(to: UInt64.self, capacity: words)
        for i in 0..<words { d[i] = ~s[i] }
        for i in (words * 8)..<length { p.storeBytes(of: ~source.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
    }

    /// Touches each page once so that first-touch page faults of the simulated BAR (a cost a
    /// real BAR does not have) stay out of the timed DMA phase.
    static func prefault(_ p: UnsafeMutableRawPointer, length: Int) {
        var off = 0
        while off < length { p.storeBytes(of: 0, toByteOffset: off, as: UInt8.self); off += PAGE_SIZE }
    }

    /// The bottleneck link on the path provider → client (the fabric model's links).
    func bottleneck(_ v: Verdict) -> (BDF, LinkState, Double)? { FabricModel.bottleneck(v, in: engine.topology) }

    public func run(_ r: TransferRequest) -> TransferOutcome {
        let startPins = engine.vmstat
        var result = TransferOutcome()
        do throws(EngineError) {
            guard r.size > 0, r.size <= Self.maxSize, r.block > 0, r.block <= Self.maxWindow, r.queueDepth >= 1, r.queueDepth <= 1024 else {
                throw EngineError(.EINVAL, "size must be 1 byte to \(Self.maxSize >> 30) GiB, block at most \(Self.maxWindow >> 20) MiB, queue depth 1 to 1024")
            }
            // The path's verdict comes first: a pair the kernel cannot map (NOT_SUPPORTED) is
            // refused with -EREMOTEIO at dma-map time whatever the method would have said.
            if let from = r.from, let to = r.to, from != to {
                let v = engine.analyzer.verdict(provider: to, client: from)
                result.mapType = v.mapType
                result.path = v.hops
                if v.mapType != .notSupported, let b = bottleneck(v) { result.bottleneck = (b.0, b.1, b.2) }
                // A registered io_uring buffer is pinned before any I/O: its own refusal
                // (EFAULT for p2pmem from 6.5) comes first, and odirect meets the mapping's.
                if v.mapType == .notSupported && !(r.method == .odirect && r.registeredBuffer) {
                    throw refusal(r, from: from, to: to, reason: v.reason)
                }
            }
            switch r.method {
            case .odirect: try odirect(r, &result)
            case .rdma: try rdma(r, &result)
            case .dmabuf: try dmabuf(r, &result)
            case .cpu: try cpu(r, &result)
            case .zerocopy: try zerocopy(r, &result)
            }
        } catch {
            result.error = error
        }
        if let id = pace.flow { arbiter?.leave(id); pace.flow = nil }
        // Throttled, the reported time is the model's: bytes over the bottleneck's share plus
        // the per-I/O cost — the engine still moved and checked every byte, at its own speed.
        if !r.unthrottled && pace.modelled > 0 && result.ok {
            result.engineSeconds = clock.measuresWallTime ? result.seconds : nil
            result.seconds = pace.modelled
            result.rateSource = .model
        }
        if !clock.measuresWallTime { result.verifySeconds = nil }
        result.pinsAcquired = engine.vmstat.nr_foll_pin_acquired - startPins.nr_foll_pin_acquired
        result.pinsReleased = engine.vmstat.nr_foll_pin_released - startPins.nr_foll_pin_released
        result.pinsOutstandingAfter = engine.vmstat.outstanding
        result.leaks = engine.leaks()
        return result
    }

    private func describePath(_ provider: BDF, _ client: BDF, _ result: inout TransferOutcome) -> Verdict {
        let v = engine.analyzer.verdict(provider: provider, client: client)
        result.mapType = v.mapType
        result.path = v.hops
        if let b = bottleneck(v) { result.bottleneck = (b.0, b.1, b.2) }
        if let arbiter, pace.flow == nil { pace.flow = arbiter.join(FabricModel.links(v, in: engine.topology, dataFromProvider: true)) }
        return v
    }

    /// Waits on the clock so that the `bytes` moved since `start` take as long as the fabric allows: the
    /// bottleneck link's rate, or this transfer's fair share of the fabric while others run
    /// (the share may change between calls, so each step is paced at the rate it had).
    private func throttle(_ r: TransferRequest, _ result: TransferOutcome, bytes: Int, start: Double) {
        guard !r.unthrottled, let link = result.bottleneck?.bytesPerSecond else { return }
        let bw = pace.flow.flatMap { arbiter?.rate($0) } ?? link
        if pace.start != start { pace.start = start; pace.bytes = 0; pace.due = start }
        var step = bw.isFinite && bw > 0 ? Double(bytes - pace.bytes) / bw : 0
        let newIOs = result.ios - pace.ios
        if newIOs > 0 { step += Double((newIOs + r.queueDepth - 1) / max(1, r.queueDepth)) * FabricModel.perIOSeconds }
        pace.ios = result.ios
        pace.due += step
        pace.modelled += step
        pace.bytes = bytes
        clock.wait(until: pace.due)
    }

    /// How the kernel refuses a NOT_SUPPORTED pair: -EREMOTEIO from dma_map_sg; from 6.17 an
    /// NVMe read maps with the block layer's DMA iterator, which ends the request with
    /// BLK_STS_INVAL, so O_DIRECT sees EINVAL (KernelRules.blockDMAIterator).
    func refusal(_ r: TransferRequest, from: BDF, to: BDF, reason: String) -> EngineError {
        if r.method == .odirect, engine.kernel.blockDMAIterator, engine.topology.kind(from) == .nvme {
            return EngineError(.EINVAL, "\(from) → \(to) is NOT_SUPPORTED: \(reason); the block layer's DMA iterator ends the request with BLK_STS_INVAL")
        }
        return EngineError(.EREMOTEIO, "\(from) → \(to) is NOT_SUPPORTED: \(reason)")
    }

    /// The destination mapping for a provider's memory: p2pmem/allocate on 6.2+, otherwise
    /// the only way a process could map the BAR, `resourceN` (PFNMAP).
    private func mapDestination(_ device: BDF, length: Int) throws(EngineError) -> VMA {
        if engine.kernel.userspaceP2PDMA, let p = engine.providers[device] {
            return try engine.mmapP2PMem(device, length: min(length, p.available / PAGE_SIZE * PAGE_SIZE))
        }
        if engine.providers[device] != nil || engine.topology.device(device) != nil {
            let bar = engine.providers[device]?.bar ?? largestBAR(device)
            return try engine.mmapResource(device, bar: bar, length: length)
        }
        throw EngineError(.ENODEV, "no device \(device)")
    }

    private func largestBAR(_ device: BDF) -> Int {
        engine.topology.device(device)?.bars.filter { $0.space == .memory }.max { ($0.size ?? 0) < ($1.size ?? 0) }?.index ?? 0
    }

    /// O_DIRECT read from the block device `from` into `to`'s memory (p2pmem-test's shape: a
    /// transfer larger than the window cycles through it).
    private func odirect(_ r: TransferRequest, _ result: inout TransferOutcome) throws(EngineError) {
        guard let blockDevice = r.from else { throw EngineError(.EINVAL, "odirect needs a block device to read from") }
        if let target = r.to, engine.topology.kind(blockDevice) != .nvme {
            throw EngineError(.EREMOTEIO, "\(blockDevice) is not an NVMe queue: no QUEUE_FLAG_PCI_P2PDMA, so O_DIRECT into \(target)'s memory gets no FOLL_PCI_P2PDMA")
        }
        if let target = r.to { _ = describePath(target, blockDevice, &result) }
        // Host memory (no --to device) is one anonymous buffer of the transfer's size, as the
        // real O_DIRECT reads use.
        let dest: VMA
        if let t = r.to { dest = try mapDestination(t, length: min(r.size, Self.maxWindow)) } else { dest = try engine.mmapHost(length: min(r.size, Self.maxWindow)) }
        defer { engine.munmap(dest) }
        let registered = r.registeredBuffer ? try engine.registerIOUringBuffer(dest) : nil
        defer { if let registered { engine.putUserPages(registered) } }
        result.window = dest.length
        TransferRunner.prefault(dest.pointer(page: 0), length: dest.length)
        // 6.2–6.3 O_DIRECT took plain references; FOLL_PIN came with iov_iter_extract_pages (6.4).
        var flags: FOLL = [.WRITE, .PCI_P2PDMA]
        flags.insert(engine.kernel.directIOPins ? .PIN : .GET)
        let blockPages = max(1, r.block / PAGE_SIZE)
        let media = try BackingMemory(length: dest.length)
        var done = 0
        var dmaTime = 0.0
        let seed: UInt64 = 0x5eed_0000 | UInt64(blockDevice.packed)
        while done < r.size {
            let pass = min(r.size - done, dest.length)
            TransferRunner.fill(media.base, length: pass, offset: done, seed: seed)   // the drive's data
            TransferRunner.fillUnlike(dest.pointer(page: 0), source: media.base, length: pass)
            let passStart = clock.now()
            var page = 0
            let passPages = (pass + PAGE_SIZE - 1) / PAGE_SIZE
            while page < passPages {
                // Queue depth: up to `queueDepth` I/Os in flight, each holding its pins.
                var inflight: [(pages: [PageRef], dma: [DMASegment], at: Int)] = []
                for _ in 0..<max(1, r.queueDepth) where page < passPages {
                    let n = min(blockPages, passPages - page)
                    // A registered buffer's I/Os use its long-term pins (no GUP of their own).
                    let pages: [PageRef]
                    let retried = r.nowaitRetryPages(n, kernel: engine.kernel)
                    if retried > 0 {   // the nowait attempt: pinned, refused with -EAGAIN, unpinned
                        engine.putUserPages(try engine.getUserPages(dest.start + UInt64(page * PAGE_SIZE), pages: retried, flags: flags))
                    }
                    if let registered { pages = Array(registered[page..<(page + n)]) } else {
                        pages = try engine.getUserPages(dest.start + UInt64(page * PAGE_SIZE), pages: n, flags: flags)
                    }
                    let dma: [DMASegment]
                    // nvme-pci sets dma_set_max_seg_size(UINT_MAX): one segment per contiguous run.
                    do { dma = try engine.dmaMap(engine.buildSG(pages, maxSegment: Int(UInt32.max)), client: blockDevice) } catch {
                        if registered == nil { engine.putUserPages(pages) }
                        for io in inflight where registered == nil { engine.dmaUnmap(io.dma); engine.putUserPages(io.pages) }
                        if error.errno == .EREMOTEIO, let t = r.to { throw refusal(r, from: blockDevice, to: t, reason: error.message) }
                        throw error
                    }
                    inflight.append((pages, dma, result.ios == dropIO ? -1 : page))
                    page += pages.count
                    result.ios += 1
                }
                progress?(done + page * PAGE_SIZE, engine.vmstat.outstanding)
                if shouldCancel?() == true {
                    for io in inflight where registered == nil { engine.dmaUnmap(io.dma); engine.putUserPages(io.pages) }
                    throw EngineError(.ECANCELED, "cancelled after \(done + page * PAGE_SIZE) bytes")
                }
                for io in inflight {
                    // The device's DMA engine writes each mapped segment (a dropped I/O: none).
                    if io.at < 0 { engine.dmaUnmap(io.dma); if registered == nil { engine.putUserPages(io.pages) }; continue }
                    var off = io.at * PAGE_SIZE
                    for seg in io.dma {
                        let n = min(seg.segment.length, pass - off)
                        if n > 0 { memcpy(seg.segment.first.pointer, media.pointer(off), n) }   // memcpy, not copyMemory (memmove)
                        off += seg.segment.length
                    }
                    engine.dmaUnmap(io.dma)
                    if registered == nil { engine.putUserPages(io.pages) }
                }
                throttle(r, result, bytes: min(pass, page * PAGE_SIZE), start: passStart)
            }
            dmaTime += clock.now() - passStart
            let v0 = clock.now()
            guard memcmp(dest.pointer(page: 0), media.base, pass) == 0 else {
                throw EngineError(.EFAULT, "verification failed in the window at offset \(done)")
            }
            result.verifySeconds = (result.verifySeconds ?? 0) + clock.now() - v0
            done += pass
        }
        result.bytes = done
        result.verified = true
        result.seconds = dmaTime
    }

    /// RDMA: register the target memory with `ibv_reg_mr` (long-term pin), then write into it.
    private func rdma(_ r: TransferRequest, _ result: inout TransferOutcome) throws(EngineError) {
        guard let nic = r.from else { throw EngineError(.EINVAL, "rdma needs the RDMA NIC as --from") }
        guard engine.topology.kind(nic) == .nic else { throw EngineError(.ENODEV, "\(nic) is not an RDMA NIC") }
        let region: VMA
        if let target = r.to {
            _ = describePath(target, nic, &result)
            region = try mapDestination(target, length: min(r.size, Self.maxWindow))
        } else {
            region = try engine.mmapHost(length: min(r.size, Self.maxWindow))
        }
        defer { engine.munmap(region) }
        result.window = region.length
        // A writable MR (the peer writes into it): ib_umem_get pins FOLL_LONGTERM|FOLL_WRITE.
        let pages = try engine.registerMR(region, access: [.localWrite, .remoteWrite])
        defer { engine.putUserPages(pages) }
        _ = try engine.dmaMap(engine.buildSG(pages), client: nic)
        try writeThrough(r, &result, into: { off in region.pointer(page: off / PAGE_SIZE) }, window: region.length, seed: UInt64(nic.packed))
    }

    /// dma-buf: export the target's BAR through VFIO, import it as an RDMA MR, write into it.
    private func dmabuf(_ r: TransferRequest, _ result: inout TransferOutcome) throws(EngineError) {
        guard let nic = r.from, let target = r.to else { throw EngineError(.EINVAL, "dmabuf needs --from NIC and --to device") }
        guard engine.topology.kind(nic) == .nic else { throw EngineError(.ENODEV, "\(nic) is not an RDMA NIC") }
        _ = describePath(target, nic, &result)
        let bar = largestBAR(target)
        let barSize = Int(engine.topology.device(target)?.bars.first { $0.index == bar }?.size ?? 0)
        let length = min(r.size, barSize, Self.maxWindow) / PAGE_SIZE * PAGE_SIZE
        let buf = try engine.exportDmabuf(target, bar: bar, ranges: [(0, UInt64(length))])
        defer { engine.release(buf) }
        let attachment = try engine.attach(buf, importer: nic)
        defer { engine.detach(buf, attachment) }
        result.window = length
        try writeThrough(r, &result, into: { buf.pointer($0) }, window: length, seed: UInt64(nic.packed) << 1)
    }

    /// MSG_ZEROCOPY send of `from`'s memory (a p2pmem mapping, or host) by the NIC `to`:
    /// `iov_iter_get_pages` takes references (FOLL_GET) without FOLL_PCI_P2PDMA.
    private func zerocopy(_ r: TransferRequest, _ result: inout TransferOutcome) throws(EngineError) {
        guard let nic = r.to, engine.topology.kind(nic) == .nic else { throw EngineError(.ENODEV, "zerocopy needs --to NIC") }
        let region: VMA
        if let source = r.from {
            _ = describePath(source, nic, &result)
            region = try mapDestination(source, length: min(r.size, 64 << 20))
        } else {
            region = try engine.mmapHost(length: min(r.size, 64 << 20))
        }
        defer { engine.munmap(region) }
        result.window = region.length
        let blockPages = max(1, r.block / PAGE_SIZE)
        let wire = try BackingMemory(length: region.length)   // what the NIC puts on the wire
        TransferRunner.fill(region.pointer(page: 0), length: region.length, offset: 0, seed: 0x2c)
        let start = clock.now()
        var done = 0
        while done < r.size {
            let off = done % region.length
            let n = min(blockPages, (region.length - off) / PAGE_SIZE, (r.size - done + PAGE_SIZE - 1) / PAGE_SIZE)
            let pages = try engine.getUserPages(region.start + UInt64(off), pages: n, flags: [.GET])
            defer { engine.putUserPages(pages) }
            guard pages.count == n else { throw EngineError(.EFAULT, "short page grab") }
            _ = try engine.dmaMap(engine.buildSG(pages), client: nic)
            memcpy(wire.pointer(off), region.pointer(page: off / PAGE_SIZE), n * PAGE_SIZE)
            done += n * PAGE_SIZE
            result.ios += 1
            throttle(r, result, bytes: done, start: start)
        }
        result.seconds = clock.now() - start
        let v0 = clock.now()
        guard memcmp(wire.base, region.pointer(page: 0), min(region.length, r.size)) == 0 else {
            throw EngineError(.EFAULT, "verification failed")
        }
        result.verifySeconds = clock.now() - v0
        result.bytes = done
        result.verified = true
    }

    /// CPU copy into the target's BAR through `resourceN` (MMIO; no DMA, no pins).
    private func cpu(_ r: TransferRequest, _ result: inout TransferOutcome) throws(EngineError) {
        guard let target = r.to else { throw EngineError(.EINVAL, "cpu needs --to device") }
        let region = try engine.mmapResource(target, bar: engine.providers[target]?.bar ?? largestBAR(target), length: min(max(r.size, PAGE_SIZE), Self.maxWindow))
        defer { engine.munmap(region) }
        let window = min(region.length, max(r.size, PAGE_SIZE), Self.maxWindow)
        result.window = window
        try writeThrough(r, &result, into: { region.pointer(page: $0 / PAGE_SIZE) }, window: window, seed: 0xc0)
    }

    /// Writes `r.size` bytes block by block into a window (cycling), verifying each pass.
    private func writeThrough(_ r: TransferRequest, _ result: inout TransferOutcome,
                              into pointer: (Int) -> UnsafeMutableRawPointer, window: Int, seed: UInt64) throws(EngineError) {
        let media = try BackingMemory(length: window)
        TransferRunner.prefault(pointer(0), length: min(window, r.size))
        var done = 0
        var dmaTime = 0.0
        while done < r.size {
            let pass = min(r.size - done, window)
            TransferRunner.fill(media.base, length: pass, offset: done, seed: seed)
            TransferRunner.fillUnlike(pointer(0), source: media.base, length: pass)
            let start = clock.now()
            var off = 0
            while off < pass {
                let n = min(r.block, pass - off)
                if result.ios != dropIO { memcpy(pointer(off), media.pointer(off), n) }
                off += n
                result.ios += 1
                progress?(done + off, engine.vmstat.outstanding)
                throttle(r, result, bytes: off, start: start)
            }
            dmaTime += clock.now() - start
            let v0 = clock.now()
            guard memcmp(pointer(0), media.base, pass) == 0 else { throw EngineError(.EFAULT, "verification failed at offset \(done)") }
            result.verifySeconds = (result.verifySeconds ?? 0) + clock.now() - v0
            done += pass
        }
        result.bytes = done
        result.verified = true
        result.seconds = dmaTime
    }
}
