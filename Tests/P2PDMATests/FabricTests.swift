import Testing
import PCISources
import PCITopology
@testable import P2PDMA

/// The bundled demo machines keep the promises the demos rely on.
@Suite struct DemoFabricTests {
    /// Every demo fabric's bridges forward what is below them, as after the kernel's resource
    /// assignment: each BAR inside the window of its kind on every bridge above it, sibling
    /// ports' windows disjoint, and a port with nothing below forwarding nothing.
    @Test(arguments: DemoFabrics.all.map(\.name))
    func bridgeWindowsHoldTheBARsBelow(_ name: String) throws {
        let t = try DemoFabrics.load(name)
        var checked = 0
        for d in t.devices where d.bridge == nil {
            for bar in d.bars where bar.space == .memory {
                guard let a = bar.address, let size = bar.size, size > 0 else { continue }
                let kind: BridgeWindow.Kind = bar.prefetchable && a >= 1 << 32 ? .prefetchable : .memory
                for b in t.upstreamPath(d.bdf) where t.device(b)?.headerType == 1 {
                    let w = try #require(t.device(b)?.bridge?.windows.first { $0.kind == kind && $0.isEnabled }, "\(name): \(b) has no \(kind) window for \(d.bdf) BAR \(bar.index)")
                    #expect(a >= w.base && a + size - 1 <= w.limit, "\(name): \(d.bdf) BAR \(bar.index) outside \(b)'s \(kind) window")
                    checked += 1
                }
            }
        }
        #expect(checked > 0, "\(name): no BAR under any bridge — nothing was checked")
        for parent in Set(t.devices.compactMap { t.parent($0.bdf) }) {
            let siblings = t.devices.filter { t.parent($0.bdf) == parent && $0.bridge != nil && $0.headerType == 1 }
            for (i, p) in siblings.enumerated() {
                for q in siblings.dropFirst(i + 1) {
                    for wp in p.bridge!.windows where wp.isEnabled {
                        for wq in q.bridge!.windows where wq.isEnabled && wq.kind == wp.kind {
                            #expect(wp.limit < wq.base || wq.limit < wp.base, "\(name): \(p.bdf) and \(q.bdf) \(wp.kind) windows overlap")
                        }
                    }
                }
            }
        }
    }

    @Test func defaultFabricHasTheCast() throws {
        let t = try DemoFabrics.load(DemoFabrics.defaultName)
        let a = P2PAnalyzer(topology: t, kernel: KernelVersion(parsing: t.host.kernelRelease!)!,
                            cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))
        #expect(a.kernel >= KernelVersion(6, 19))
        let nvme0 = try t.resolve("nvme0"), nvme1 = try t.resolve("nvme1"), gpu0 = try t.resolve("gpu0"), nic0 = try t.resolve("nic0")
        let pool = try #require(nvme1.sysfs?.p2pmem)
        #expect(pool.published && pool.size == 256 << 20 && pool.available == pool.size)
        #expect(a.verdict(provider: nvme1.bdf, client: nvme0.bdf).mapType == .busAddr)
        #expect(a.verdict(provider: gpu0.bdf, client: nic0.bdf).mapType == .busAddr)
        let refused = t.devices.filter { t.kind($0.bdf) == .nvme && a.verdict(provider: nvme1.bdf, client: $0.bdf).mapType == .notSupported }
        #expect(!refused.isEmpty, "some NVMe must be refused P2P with nvme1")
        // The GPU's 64 GiB BAR1 is 64-bit prefetchable with its size known, like sysfs says.
        let bar1 = try #require(gpu0.bars.first { $0.index == 1 })
        #expect(bar1.is64Bit && bar1.prefetchable && bar1.size == 64 << 30)
        // ACS redirect on socket 1's first downstream port sends gpu1↔nic1 through the host bridge.
        #expect(a.verdict(provider: try t.resolve("gpu1").bdf, client: try t.resolve("nic1").bdf).mapType == .thruHostBridge)
    }

    @Test func workstationRefusesAndEpycAllows() throws {
        let w = try DemoFabrics.load("workstation")
        let wa = P2PAnalyzer(topology: w, kernel: .latest, cpu: CPUInfo(vendor: "intel", family: 6))
        #expect(wa.matrix(wa.endpoints).filter { $0.commonUpstream == nil }.allSatisfy { $0.mapType == .notSupported })
        let e = try DemoFabrics.load("epyc-mi25")
        let ea = P2PAnalyzer(topology: e, kernel: .latest, cpu: CPUInfo(vendor: e.host.cpuVendor, family: e.host.cpuFamily))
        let gpus = ea.endpoints.filter { e.kind($0.bdf) == .gpu }
        #expect(gpus.count == 4)
        #expect(ea.matrix(gpus).allSatisfy { $0.mapType == .thruHostBridge })
        let rebar = try #require(gpus[0].capabilities.resizableBARs.first)
        #expect(rebar.currentSize == 16 << 30 && rebar.largestSize == 16 << 30)
    }

    @Test(arguments: DemoFabrics.all.map(\.name))
    func fabricsSurviveASnapshot(_ name: String) throws {
        let t = try DemoFabrics.load(name)
        let replay = try Snapshot.decode(Snapshot.encode(t), file: name)
        #expect(replay.devices == t.devices && replay.aliases == t.aliases && replay.host == t.host)
        #expect(t.anomalies.isEmpty)
    }

    @Test func unknownFabricIsAClearError() {
        #expect(throws: SourceError.self) { try DemoFabrics.load("nope") }
    }
}
