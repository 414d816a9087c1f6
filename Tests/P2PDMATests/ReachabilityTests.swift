import Testing
import Foundation
import PCITopology
@testable import PCISources
@testable import P2PDMA

/// A client whose DMA mask cannot address the provider's BAR: said in the verdict's detail and
/// by the doctor, only where the pair's DMA uses the BAR's bus address; and kept by snapshots.
@Suite struct ReachabilityTests {
    /// The default fabric with nic0's driver limiting it to `bits` of address.
    func fabric(maskBits bits: Int?) throws -> (Topology, BDF, BDF) {
        var t = try DemoFabrics.load("icelake-gpu-switch")
        var nic = try t.resolve("nic0")
        var f = nic.sysfs ?? SysfsFacts()
        f.dmaMaskBits = bits
        nic.sysfs = f
        t = t.replacing(nic)
        return (t, try t.resolve("gpu0").bdf, nic.bdf)
    }

    @Test func aThirtyTwoBitClientCannotReachAHighBAR() throws {
        let (t, gpu, nic) = try fabric(maskBits: 32)
        let a = P2PAnalyzer(topology: t, kernel: KernelVersion(6, 12), cpu: CPUInfo(vendor: "intel", family: 6))
        let v = a.verdict(provider: gpu, client: nic)
        let high = try #require(t.device(gpu)?.bars.first { ($0.address ?? 0) + ($0.size ?? 0) > 1 << 32 }, "the fabric's GPU has a BAR above 4 GiB")
        #expect(v.mapType == .busAddr && v.reason.contains("DMA mask is 32 bits: it cannot address \(gpu) BAR \(high.index)"), "\(v.reason)")
        let findings = Doctor(analyzer: a).findings()
        let f = try #require(findings.first { $0.code == "dma-mask-too-narrow" })
        #expect(f.devices.first == nic && f.devices.contains(gpu) && f.remedy.contains("dma_set_mask_and_coherent"))
        // The pair asked about: the same finding.
        #expect(Doctor(analyzer: a).findings(for: v).contains { $0.code == "dma-mask-too-narrow" })
    }

    @Test func aWideMaskOrNoMaskSaysNothing() throws {
        for bits in [64, nil] as [Int?] {
            let (t, gpu, nic) = try fabric(maskBits: bits)
            let a = P2PAnalyzer(topology: t, kernel: KernelVersion(6, 12), cpu: CPUInfo(vendor: "intel", family: 6))
            #expect(!a.verdict(provider: gpu, client: nic).reason.contains("DMA mask"))
            #expect(!Doctor(analyzer: a).findings().contains { $0.code == "dma-mask-too-narrow" })
        }
    }

    @Test func snapshotsKeepTheMaskAndRefuseANonsenseOne() throws {
        var f = SysfsFacts()
        f.dmaMaskBits = 40
        let back = try Snapshot.decodeSysfs(Snapshot.encodeSysfs(f), file: "s.json", field: "devices[0].sysfs")
        #expect(back.dmaMaskBits == 40)
        var bad = f
        bad.dmaMaskBits = 65
        #expect(throws: SourceError.self) { try Snapshot.decodeSysfs(Snapshot.encodeSysfs(bad), file: "s.json", field: "devices[0].sysfs") }
    }
}
