import Testing
import P2PDMA
import PCISources
import PCITopology
@testable import P2PEngine
import RealBackends

/// An engine on the default demo fabric with the given kernel's rules; every test ends by
/// checking that nothing leaked.
func makeEngine(kernel: KernelVersion = KernelVersion(6, 19)) throws -> Engine {
    let t = try DemoFabrics.load(DemoFabrics.defaultName)
    return try Engine(topology: t, analyzer: P2PAnalyzer(topology: t, kernel: kernel, cpu: CPUInfo(vendor: "intel", family: 6)))
}

func bdf(_ e: Engine, _ alias: String) throws -> BDF { try e.topology.resolve(alias).bdf }

func expectErrno(_ errno: Errno, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
    do { try body(); Issue.record("expected \(errno.name), got success", sourceLocation: sourceLocation) } catch let e as EngineError {
        #expect(e.errno == errno, "\(e)", sourceLocation: sourceLocation)
    } catch { Issue.record("unexpected \(error)", sourceLocation: sourceLocation) }
}

@Suite struct ProviderTests {
    @Test func providersComeFromPublishedP2PMem() throws {
        let e = try makeEngine()
        let nvme1 = try bdf(e, "nvme1")
        let p = try #require(e.providers[nvme1])
        #expect(p.size == 256 << 20 && p.available == p.size && p.published && e.providers.count == 1)
    }

    @Test func addResourceChecks() throws {
        let e = try makeEngine()
        let gpu = try e.topology.resolve("gpu0")
        expectErrno(.EINVAL) { _ = try Provider.addResource(gpu, bar: 4, published: false) }            // no such BAR
        expectErrno(.EINVAL) { _ = try Provider.addResource(gpu, bar: 1, size: 1 << 20, offset: 64 << 30, published: false) }
        expectErrno(.EINVAL) { _ = try Provider.addResource(gpu, bar: 1, size: 64 << 30, offset: 2 << 20, published: false) }
        expectErrno(.EINVAL) { _ = try Provider.addResource(gpu, bar: 1, size: 3 << 20 / 2, published: false) }   // not 2 MiB
        let ok = try Provider.addResource(gpu, bar: 3, published: false)
        #expect(ok.size == 32 << 20)
    }

    @Test func allocateMmapRulesAndAvailable() throws {
        let e = try makeEngine()
        let nvme1 = try bdf(e, "nvme1")
        expectErrno(.EINVAL) { _ = try e.mmapP2PMem(nvme1, length: 1 << 20, shared: false) }
        expectErrno(.EINVAL) { _ = try e.mmapP2PMem(nvme1, length: 1 << 20, offset: 4096) }
        expectErrno(.ENOENT) { _ = try e.mmapP2PMem(try bdf(e, "nvme0"), length: 1 << 20) }
        let a = try e.mmapP2PMem(nvme1, length: 200 << 20)
        #expect(e.providers[nvme1]!.available == 56 << 20)
        expectErrno(.ENOMEM) { _ = try e.mmapP2PMem(nvme1, length: 100 << 20) }
        e.munmap(a)
        #expect(e.providers[nvme1]!.available == 256 << 20)
        #expect(e.leaks().isEmpty)
    }

    @Test func allocateNeedsKernel62() throws {
        let e = try makeEngine(kernel: KernelVersion(5, 15))
        expectErrno(.ENOENT) { _ = try e.mmapP2PMem(try bdf(e, "nvme1"), length: 1 << 20) }
    }
}

@Suite struct GUPTests {
    @Test func argumentValidation() throws {
        let e = try makeEngine()
        let v = try e.mmapHost(length: 1 << 20)
        defer { e.munmap(v) }
        expectErrno(.EINVAL) { _ = try e.getUserPages(v.start, pages: 1, flags: [.GET, .PIN]) }
        expectErrno(.EINVAL) { _ = try e.getUserPages(v.start, pages: 1, flags: [.LONGTERM, .GET]) }
        expectErrno(.EINVAL) { _ = try e.getUserPages(v.start, pages: 1, flags: [.PIN, .LONGTERM, .PCI_P2PDMA]) }
        let old = try makeEngine(kernel: KernelVersion(6, 2))
        let w = try old.mmapHost(length: 4096)
        expectErrno(.EOPNOTSUPP) { _ = try old.getUserPages(w.start, pages: 1, flags: [.PIN, .LONGTERM, .PCI_P2PDMA]) }
        old.munmap(w)
    }

    @Test func p2pPagesNeedTheFlagAndCountWithTheBias() throws {
        let e = try makeEngine()
        let nvme1 = try bdf(e, "nvme1")
        let v = try e.mmapP2PMem(nvme1, length: 16 * 4096)
        expectErrno(.EREMOTEIO) { _ = try e.getUserPages(v.start, pages: 4, flags: [.PIN]) }
        let pages = try e.getUserPages(v.start, pages: 4, flags: [.PIN, .PCI_P2PDMA, .WRITE])
        let p = e.providers[nvme1]!
        #expect(pages.count == 4 && pages.allSatisfy(\.isP2PDMA))
        #expect(p.refcount[0] == 1 + GUP_PIN_COUNTING_BIAS && p.pins(0) == 1 && p.pinned(0))
        #expect(e.vmstat.nr_foll_pin_acquired == 4 && e.vmstat.outstanding == 4)
        let got = try e.getUserPages(v.start, pages: 1, flags: [.GET, .PCI_P2PDMA])
        #expect(p.refcount[0] == 2 + GUP_PIN_COUNTING_BIAS && e.vmstat.nr_foll_pin_acquired == 4, "FOLL_GET is not a pin")
        e.putUserPages(got)
        e.putUserPages(pages)
        #expect(e.vmstat.outstanding == 0 && p.refcount[0] == 1)
        e.munmap(v)
        #expect(e.leaks().isEmpty)
    }

    @Test func pfnmapIsEFAULT() throws {
        let e = try makeEngine()
        let v = try e.mmapResource(try bdf(e, "gpu0"), bar: 1)
        expectErrno(.EFAULT) { _ = try e.getUserPages(v.start, pages: 1, flags: [.PIN, .PCI_P2PDMA]) }
        expectErrno(.EFAULT) { _ = try e.getUserPages(0x1000, pages: 1, flags: [.PIN]) }
        e.munmap(v)
    }

    @Test func partialSuccessReturnsWhatItGot() throws {
        let e = try makeEngine()
        let v = try e.mmapHost(length: 3 * 4096)
        let got = try e.getUserPages(v.start, pages: 8, flags: [.PIN])   // runs off the end
        #expect(got.count == 3)
        e.putUserPages(got)
        e.munmap(v)
        #expect(e.leaks().isEmpty)
    }

    /// The lab's 6.12: a writable MR (FOLL_LONGTERM|FOLL_WRITE) of p2pmem is EFAULT from
    /// check_vma_flags before any page is looked at; a read-only one reaches the page and gets
    /// EREMOTEIO (no FOLL_PCI_P2PDMA); before 6.5 both got EREMOTEIO.
    @Test func rdmaLongTermPinOfP2PMemIsRefused() throws {
        let e = try makeEngine(kernel: KernelVersion(6, 12))
        let v = try e.mmapP2PMem(try bdf(e, "nvme1"), length: 1 << 20)
        expectErrno(.EFAULT) { _ = try e.registerMR(v, access: [.localWrite, .remoteWrite]) }
        expectErrno(.EREMOTEIO) { _ = try e.registerMR(v, access: [.remoteRead]) }
        expectErrno(.EFAULT) { _ = try e.registerIOUringBuffer(v) }
        #expect(e.vmstat.outstanding == 0 && e.vmstat.nr_foll_pin_acquired == 0)
        e.munmap(v)
        let old = try makeEngine(kernel: KernelVersion(6, 4))
        let w = try old.mmapP2PMem(try bdf(old, "nvme1"), length: 1 << 20)
        expectErrno(.EREMOTEIO) { _ = try old.registerMR(w, access: [.localWrite]) }
        old.munmap(w)
        let host = try e.mmapHost(length: 1 << 20)
        let pinned = try e.registerMR(host, access: [.localWrite])
        #expect(pinned.count == 256 && e.vmstat.outstanding == 256)
        e.putUserPages(pinned)
        e.munmap(host)
        #expect(e.leaks().isEmpty)
    }

    /// io_uring's nowait attempt pins, is refused with EAGAIN where the bio would split (or need
    /// a second bio), and io-wq pins again: the lab's 6.12 counted 2048 pins for 4 MiB.
    @Test func ioUringNowaitSplitPinsTwice() throws {
        let e = try makeEngine(kernel: KernelVersion(6, 12))
        func pins(_ block: Int, limit: Int?, nowait: Bool = true, kernel: KernelVersion = KernelVersion(6, 12)) throws -> Int {
            let engine = try makeEngine(kernel: kernel)
            let r = TransferRunner(engine: engine).run(TransferRequest(from: try bdf(engine, "nvme0"), to: nil, size: 4 << 20, block: block, queueDepth: 4,
                                                                       method: .odirect, unthrottled: true, nowait: nowait, queueLimit: limit))
            #expect(r.ok && r.leaks?.isEmpty == true)
            return r.pinsAcquired
        }
        _ = e
        #expect(try pins(1 << 20, limit: 512 << 10) == 2048)
        #expect(try pins(256 << 10, limit: 512 << 10) == 1024)
        #expect(try pins(256 << 10, limit: 128 << 10) == 2048)
        #expect(try pins(2 << 20, limit: nil) == 1024 + 2 * 256)   // a second bio needed: the first one's pages again
        #expect(try pins(1 << 20, limit: 512 << 10, nowait: false) == 1024)
        #expect(try pins(1 << 20, limit: 512 << 10, kernel: KernelVersion(6, 6)) == 1024)
    }
}

@Suite struct MappingTests {
    @Test func sgCoalescesWithinOnePgmapUpToMaxSegment() throws {
        let e = try makeEngine()
        let v = try e.mmapP2PMem(try bdf(e, "nvme1"), length: 64 * 4096)
        let pages = try e.getUserPages(v.start, pages: 64, flags: [.PIN, .PCI_P2PDMA])
        let sg = e.buildSG(pages)
        #expect(sg.count == 4 && sg.allSatisfy { $0.length == 64 << 10 })
        #expect(e.buildSG(pages, maxSegment: 1 << 20).count == 1)
        let h = try e.mmapHost(length: 4 * 4096)
        let hp = try e.getUserPages(h.start, pages: 4, flags: [.PIN])
        #expect(e.buildSG(Array(pages.prefix(4)) + hp, maxSegment: 1 << 20).count == 2, "never across pgmaps")
        e.putUserPages(pages + hp); e.munmap(v); e.munmap(h)
        #expect(e.leaks().isEmpty)
    }

    @Test func dmaMapGivesBusAddressesOrRefusesWithUnwind() throws {
        let e = try makeEngine()
        let nvme1 = try bdf(e, "nvme1")
        let v = try e.mmapP2PMem(nvme1, length: 8 * 4096)
        let pages = try e.getUserPages(v.start, pages: 8, flags: [.PIN, .PCI_P2PDMA])
        let mapped = try e.dmaMap(e.buildSG(pages), client: try bdf(e, "nvme0"))
        #expect(mapped.count == 1 && mapped[0].busAddress && mapped[0].dmaAddress == e.providers[nvme1]!.busAddress)
        expectErrno(.EREMOTEIO) { _ = try e.dmaMap(e.buildSG(pages), client: try bdf(e, "nvme2")) }
        let thru = try e.dmaMap(e.buildSG(pages), client: try bdf(e, "nic1"))   // cross-socket: host bridge
        #expect(!thru[0].busAddress)
        e.putUserPages(pages); e.munmap(v)
        #expect(e.leaks().isEmpty)
    }
}

@Suite struct LifetimeTests {
    @Test func unbindZapsMappingsAndWaitsForPins() throws {
        let e = try makeEngine()
        let nvme1 = try bdf(e, "nvme1")
        let v = try e.mmapP2PMem(nvme1, length: 16 * 4096)
        let pins = try e.getUserPages(v.start, pages: 2, flags: [.PIN, .PCI_P2PDMA])
        guard case .waiting(let pinned, _) = try e.unbind(nvme1) else { Issue.record("unbind did not wait"); return }
        #expect(pinned == 2)
        #expect(e.vmas.allSatisfy(\.zapped) && e.vma(containing: v.start) == nil, "allocate mappings are zapped first")
        #expect(e.access(v.start) == .SIGBUS && e.access(0x10) == .SIGSEGV, "the lab's 6.12 killed the holder with SIGBUS")
        expectErrno(.ENODEV) { _ = try e.mmapP2PMem(nvme1, length: 4096) }
        e.putUserPages(pins)
        guard case .done = e.finishUnbind(nvme1) else { Issue.record("unbind did not finish"); return }
        e.munmap(v)
        #expect(e.providers[nvme1] == nil && e.leaks().isEmpty)
    }

    @Test func dmabufExportChecksAttachAndRevoke() throws {
        let e = try makeEngine()
        let gpu = try bdf(e, "gpu0"), nic = try bdf(e, "nic0")
        expectErrno(.EINVAL) { _ = try e.exportDmabuf(gpu, bar: 1, ranges: []) }
        expectErrno(.ENODEV) { _ = try e.exportDmabuf(gpu, bar: 6, ranges: [(0, 4096)]) }
        expectErrno(.EINVAL) { _ = try e.exportDmabuf(gpu, bar: 1, ranges: [(100, 4096)]) }
        expectErrno(.EINVAL) { _ = try e.exportDmabuf(gpu, bar: 1, ranges: [(0, 65 << 30)]) }
        let buf = try e.exportDmabuf(gpu, bar: 1, ranges: [(0, 1 << 20)])
        expectErrno(.EOPNOTSUPP) { _ = try e.attach(buf, importer: nic, peer2peer: false) }
        let a = try e.attach(buf, importer: nic)
        #expect(a.mapType == .busAddr && a.dmaAddresses.first == e.topology.device(gpu)!.bars.first { $0.index == 1 }!.address)
        #expect(e.revoke(buf) == 1 && a.invalidated)
        expectErrno(.ENODEV) { _ = try e.attach(buf, importer: nic) }
        e.release(buf)
        #expect(e.leaks().isEmpty)
        let old = try makeEngine(kernel: KernelVersion(6, 18))
        expectErrno(.EOPNOTSUPP) { _ = try old.exportDmabuf(gpu, bar: 1, ranges: [(0, 4096)]) }
    }
}

@Suite struct TransferTests {
    func run(_ e: Engine, _ from: String?, _ to: String?, _ size: Int, _ method: TransferMethod) throws -> TransferOutcome {
        TransferRunner(engine: e).run(TransferRequest(from: try from.map { try bdf(e, $0) }, to: try to.map { try bdf(e, $0) },
                                                      size: size, block: 1 << 20, queueDepth: 4, method: method, unthrottled: true))
    }

    @Test func odirectIntoP2PMemPinsEachPageOnceAndCyclesTheWindow() throws {
        let e = try makeEngine()
        let r = try run(e, "nvme0", "nvme1", 300 << 20, .odirect)   // larger than the 256 MiB CMB
        #expect(r.ok && r.verified && r.bytes == 300 << 20 && r.window == 256 << 20)
        #expect(r.pinsAcquired == (300 << 20) / PAGE_SIZE && r.pinsReleased == r.pinsAcquired && r.pinsOutstandingAfter == 0)
        #expect(r.mapType == .busAddr && r.leaks?.isEmpty == true)
    }

    @Test func odirectOn5xFindsOnlyAPFNMAP() throws {
        let r = try run(try makeEngine(kernel: KernelVersion(5, 15)), "nvme0", "nvme1", 8 << 20, .odirect)
        #expect(!r.ok && r.error?.errno == .EFAULT && r.pinsAcquired == 0)
    }

    @Test func odirect62TakesReferencesNotPins() throws {
        let r = try run(try makeEngine(kernel: KernelVersion(6, 2)), "nvme0", "nvme1", 8 << 20, .odirect)
        #expect(r.ok && r.pinsAcquired == 0 && r.leaks?.isEmpty == true)
    }

    /// Refused with EINVAL from 6.17 (the block layer's DMA iterator), EREMOTEIO before; a
    /// registered buffer's own EFAULT comes first; either way nothing stays pinned.
    @Test func refusedPathLeavesNothingPinned() throws {
        for (kernel, errno) in [(KernelVersion(6, 19), Errno.EINVAL), (KernelVersion(6, 12), .EREMOTEIO)] {
            let e = try makeEngine(kernel: kernel)
            let r = try run(e, "nvme2", "nvme1", 8 << 20, .odirect)
            #expect(!r.ok && r.error?.errno == errno && r.mapType == .notSupported, "\(kernel): \(String(describing: r.error))")
            #expect(r.pinsOutstandingAfter == 0 && r.leaks?.isEmpty == true)
        }
        let e = try makeEngine(kernel: KernelVersion(6, 12))
        let fixed = TransferRunner(engine: e).run(TransferRequest(from: try bdf(e, "nvme2"), to: try bdf(e, "nvme1"), size: 4 << 20, block: 1 << 20,
                                                                  queueDepth: 4, method: .odirect, unthrottled: true, registeredBuffer: true))
        #expect(fixed.error?.errno == .EFAULT && fixed.pinsOutstandingAfter == 0 && fixed.leaks?.isEmpty == true, "\(String(describing: fixed.error))")
    }

    @Test func rdmaAndDmabuf() throws {
        let e = try makeEngine()
        let mr = try run(e, "nic0", "nvme1", 8 << 20, .rdma)
        #expect(!mr.ok && mr.error?.errno == .EFAULT && mr.leaks?.isEmpty == true)
        let host = try run(e, "nic0", nil, 8 << 20, .rdma)
        #expect(host.ok && host.verified && host.pinsAcquired == 2048 && host.pinsReleased == 2048)
        let db = try run(e, "nic0", "gpu0", 32 << 20, .dmabuf)
        #expect(db.ok && db.verified && db.pinsAcquired == 0 && db.mapType == .busAddr && db.leaks?.isEmpty == true)
        let old = try run(try makeEngine(kernel: KernelVersion(6, 8)), "nic0", "gpu0", 1 << 20, .dmabuf)
        #expect(!old.ok && old.error?.errno == .EOPNOTSUPP)
    }

    @Test func zeroCopySendRefusesP2PMemAndSendsHostMemory() throws {
        let e = try makeEngine()
        let p2p = try run(e, "nvme1", "nic0", 4 << 20, .zerocopy)
        #expect(!p2p.ok && p2p.error?.errno == .EREMOTEIO && p2p.leaks?.isEmpty == true)
        let host = try run(e, nil, "nic0", 4 << 20, .zerocopy)
        #expect(host.ok && host.verified && host.pinsAcquired == 0 && host.leaks?.isEmpty == true)
    }

    @Test func throttledTransferFollowsTheBottleneck() throws {
        let e = try makeEngine()
        let r = TransferRunner(engine: e).run(TransferRequest(from: try bdf(e, "nvme0"), to: try bdf(e, "nvme1"), size: 64 << 20, method: .odirect))
        let bw = try #require(r.bottleneck?.bytesPerSecond)
        #expect(r.ok && r.seconds >= Double(64 << 20) / bw * 0.95, "never faster than the bottleneck link")
    }

    /// Transfers running together share their links max-min fairly: with three other flows on
    /// the same links this one gets a quarter of the bottleneck, and leaves the arbiter when done.
    @Test func concurrentTransfersShareTheFabric() throws {
        let e = try makeEngine()
        let nvme0 = try bdf(e, "nvme0"), nvme1 = try bdf(e, "nvme1")
        let links = FabricModel.links(e.analyzer.verdict(provider: nvme1, client: nvme0), in: e.topology, dataFromProvider: true)
        let arbiter = FabricArbiter()
        let others = (0..<3).map { _ in arbiter.join(links) }
        let bw = try #require(links.map(\.1).min())
        #expect(others.allSatisfy { abs((arbiter.rate($0) ?? 0) - bw / 3) < 1 }, "three flows: a third each")
        let r = TransferRunner(engine: e, arbiter: arbiter).run(TransferRequest(from: nvme0, to: nvme1, size: 64 << 20, method: .odirect))
        #expect(r.ok && r.seconds >= Double(64 << 20) / (bw / 4) * 0.95, "a quarter of \(bw / 1e9) GB/s: took \(r.seconds) s")
        #expect(arbiter.activeFlows == 3, "the finished transfer left")
        arbiter.leave(others[0]); arbiter.leave(others[1])
        #expect(abs((arbiter.rate(others[2]) ?? 0) - bw) < 1, "alone again: the whole link")
        // A flow on other links is not slowed by these.
        let gpu = try bdf(e, "gpu0"), nic = try bdf(e, "nic0")
        let elsewhere = arbiter.join(FabricModel.links(e.analyzer.verdict(provider: gpu, client: nic), in: e.topology, dataFromProvider: true))
        #expect(abs((arbiter.rate(others[2]) ?? 0) - bw) < 1 && (arbiter.rate(elsewhere) ?? 0) > 0)
    }
}

/// Verification that can fail: the destination starts as the complement of the source, so a
/// write the device drops is caught; the reported rate follows the fabric model, not the host.
@Suite struct VerificationTests {
    func request(_ e: Engine, _ from: String, _ to: String, _ size: Int, _ method: TransferMethod, unthrottled: Bool = true) throws -> TransferRequest {
        TransferRequest(from: try bdf(e, from), to: try bdf(e, to), size: size, block: 1 << 20, queueDepth: 4, method: method, unthrottled: unthrottled)
    }

    @Test func aDroppedWriteIsCaught() throws {
        for (from, to, method) in [("nvme0", "nvme1", TransferMethod.odirect), ("nic0", "gpu0", .dmabuf)] {
            let e = try makeEngine()
            var runner = TransferRunner(engine: e)
            runner.dropIO = 5
            let r = runner.run(try request(e, from, to, 16 << 20, method))
            #expect(!r.ok && !r.verified && r.error?.errno == .EFAULT && r.error?.message.contains("verification failed") == true, "\(method): \(String(describing: r.error))")
            #expect(r.leaks?.isEmpty == true, "a failed verification still unwinds every pin")
            // The same transfer without the fault verifies.
            let ok = TransferRunner(engine: try makeEngine()).run(try request(e, from, to, 16 << 20, method))
            #expect(ok.ok && ok.verified, "\(method)")
        }
    }

    @Test func aThrottledRateIsTheModelsOnEveryRun() throws {
        var seconds: Set<Double> = []
        for _ in 0..<3 {
            let e = try makeEngine()
            let r = TransferRunner(engine: e, clock: WallClock()).run(try request(e, "nvme0", "nvme1", 64 << 20, .odirect, unthrottled: false))
            #expect(r.ok && r.rateSource == .model && r.engineSeconds != nil, "paced on the wall clock, the engine's own time is measured too")
            seconds.insert(r.seconds)
            // 64 MiB over the x4 Gen4 bottleneck plus 16 batches of 4 I/Os at 10 µs each.
            let link = try #require(r.bottleneck?.bytesPerSecond)
            let expected = Double(64 << 20) / link + Double(64 / 4) * FabricModel.perIOSeconds
            #expect(abs(r.seconds - expected) / expected < 1e-9, "\(r.seconds) vs \(expected)")
        }
        #expect(seconds.count == 1, "the model's clock does not depend on the machine")
        // On the model's clock (the default) the same transfer sleeps nowhere: the clock ends
        // exactly at the modelled time, and nothing claims to have measured the engine.
        let clock = ModelClock(), me = try makeEngine()
        let m = TransferRunner(engine: me, clock: clock).run(try request(me, "nvme0", "nvme1", 64 << 20, .odirect, unthrottled: false))
        #expect(m.ok && m.rateSource == .model && m.seconds == seconds.first && m.engineSeconds == nil && m.verifySeconds == nil)
        #expect(abs(clock.now() - m.seconds) < 1e-9, "the model's clock moved by the transfer's modelled time: \(clock.now()) vs \(m.seconds)")
        let e = try makeEngine()
        let fast = TransferRunner(engine: e).run(try request(e, "nvme0", "nvme1", 64 << 20, .odirect, unthrottled: true))
        #expect(fast.rateSource == .engine && fast.engineSeconds == nil)
    }
}
