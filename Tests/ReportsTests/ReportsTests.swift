import Testing
import P2PDMA
import P2PEngine
import PCISources
import PCITopology
import Reports

/// The reports are values made by pure functions: called directly, not through the binary.
@Suite struct TransferReportTests {
    func fabric() throws -> (Topology, P2PAnalyzer) {
        let t = try DemoFabrics.load("icelake-gpu-switch")
        return (t, P2PAnalyzer(topology: t, kernel: KernelVersion(6, 19), cpu: CPUInfo(vendor: "intel", family: 6)))
    }

    @Test func aRefusedMethodNamesTheOnesThatWork() throws {
        let (t, a) = try fabric()
        let nic = try t.resolve("nic0").bdf, gpu = try t.resolve("gpu0").bdf
        // RDMA registration of a GPU BAR mapped through resourceN (no struct pages) is refused;
        // the dma-buf route for the same pair works.
        let request = TransferRequest(from: nic, to: gpu, size: 4 << 20, method: .rdma)
        let outcome = TransferRunner(engine: try Engine(topology: t, analyzer: a)).run(request)
        let report = TransferReport.modelled(outcome, request, t, a)
        #expect(!report.outcome.ok && report.worksVia?.contains(.dmabuf) == true, "\(String(describing: report.worksVia)) \(String(describing: outcome.error))")
        #expect(report.prediction?.why == a.verdict(provider: gpu, client: nic).reason && report.real == false && report.throttled == true)
        #expect(report.title.hasPrefix("nic0 (") && report.title.contains("via rdma, kernel 6.19"))
    }

    @Test func aDoneTransferSuggestsNothingAndHostHasNoPrediction() throws {
        let (t, a) = try fabric()
        let nvme0 = try t.resolve("nvme0").bdf
        let request = TransferRequest(from: nvme0, to: nil, size: 4 << 20, method: .odirect)
        let report = TransferReport.modelled(TransferRunner(engine: try Engine(topology: t, analyzer: a)).run(request), request, t, a)
        #expect(report.outcome.ok && report.outcome.verified && report.worksVia == nil && report.prediction == nil && report.to == "host")
    }
}

@Suite struct BARLayoutTests {
    @Test func windowsNestOutermostFirstAndBARsSitInside() throws {
        let t = try DemoFabrics.load("icelake-gpu-switch")
        let gpu = try t.resolve("gpu0")
        let layout = BARLayout(t, gpu)
        #expect(!layout.windows.isEmpty && layout.windows.map(\.depth) == layout.windows.map(\.depth).sorted(), "outermost first")
        #expect(layout.barDepth == (layout.windows.map(\.depth).max() ?? 0) + 1)
        #expect(!layout.bars.isEmpty && layout.bars.allSatisfy { $0.outsideOf == nil }, "the fabric's BARs are inside their windows")
        // An aperture given by the machine comes first, one level out.
        let ap = BARLayout(t, gpu, apertures: [.init(bridge: nil, kind: "aperture", base: 0, size: 1 << 40)])
        #expect(ap.windows.first?.kind == "aperture" && ap.windows.first?.depth == 1 && ap.barDepth == layout.barDepth + 1)
    }

    @Test func aBAROutsideItsBridgesWindowsIsNamed() throws {
        var t = try DemoFabrics.load("icelake-gpu-switch")
        var gpu = try t.resolve("gpu0")
        let i = try #require(gpu.bars.firstIndex { $0.space == .memory && $0.address != nil && $0.size != nil })
        gpu.bars[i].address = 0x10   // far below every window above it
        t = t.replacing(gpu)
        let layout = BARLayout(t, gpu)
        let above = t.upstreamPath(gpu.bdf).first
        #expect(layout.bars.first { $0.bar.index == gpu.bars[i].index }?.outsideOf == above)
    }

    @Test func hostAperturesFromProcIomem() throws {
        let iomem = """
        00000000-00000fff : Reserved
        c0000000-febfffff : PCI Bus 0000:00
          c0000000-c0ffffff : 0000:00:02.0
        380000000000-3fffffffffff : PCI Bus 0000:00
        400000000000-40ffffffffff : PCI Bus 0000:80
        """
        let root = try #require(BDF("0000:00:00.0"))
        let ap = HostApertures.parse(iomem, rootBus: root)
        #expect(ap.count == 2 && ap[0].base == 0xc000_0000 && ap[0].size == 0x3ec0_0000 && ap[1].base == 0x3800_0000_0000)
    }
}
