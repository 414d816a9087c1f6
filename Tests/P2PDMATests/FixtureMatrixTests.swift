import Foundation
import Testing
import TestSupport
import PCISources
import PCITopology
@testable import P2PDMA

enum SharedFixtures {
    static let lspci: String? = TestMachine.fixtures.map { $0 + "/lspci" }
    static var dumps: [String] {
        guard let dir = lspci else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".dump") }.sorted()
    }
}

/// Real machines give matrices that obey the kernel's invariants.
@Suite(.needsFixtures)
struct FixtureMatrixTests {
    @Test(arguments: SharedFixtures.dumps)
    func matrixInvariants(_ dump: String) throws {
        let t = try DumpReader.load(path: SharedFixtures.lspci! + "/" + dump)
        for kernel in [KernelVersion(5, 10), .latest] {
            let a = P2PAnalyzer(topology: t, kernel: kernel, cpu: .unknown)
            let eps = a.endpoints
            #expect(eps.allSatisfy { $0.headerType == 0 && $0.baseClass != 0x06 })
            let pairs = a.matrix(eps)
            #expect(pairs.count == eps.count * (eps.count - 1))
            var byPair: [[BDF]: Verdict] = [:]
            for v in pairs { byPair[[v.provider, v.client]] = v }
            for v in pairs {
                if v.mapType == .busAddr { #expect(v.commonUpstream != nil && v.acsRedirect.isEmpty, "\(dump) \(v.provider)→\(v.client)") }
                if v.commonUpstream == nil { #expect(v.mapType != .busAddr) }
                #expect((v.distance ?? -1) >= 0, "the current kernels always compute a distance")
                let back = byPair[[v.client, v.provider]]!
                #expect(back.distance == v.distance && back.mapType == v.mapType, "\(dump): symmetric \(v.provider)⇄\(v.client)")
                #expect(v.pathClass != .same)
            }
        }
    }

    /// The laptop: two NVMe drives on separate root ports of an Alder Lake host bridge that is
    /// not allowlisted, root ports with ACS redirect on.
    @Test func alderLakeLaptop() throws {
        let t = try DumpReader.load(path: SharedFixtures.lspci! + "/ml-alderlake-laptop-rtx3070ti-gl9755.dump")
        let a = P2PAnalyzer(topology: t, kernel: KernelVersion(6, 8), cpu: CPUInfo(vendor: "intel", family: 6))
        let v = a.verdict(provider: try t.resolve("nvme0").bdf, client: try t.resolve("nvme1").bdf)
        #expect(v.mapType == .notSupported && v.distance == 4 && !v.acsRedirect.isEmpty && v.commonUpstream == nil)
        #expect(v.pathClass == .phb)
        let gpuAudio = a.verdict(provider: BDF("0000:01:00.0")!, client: BDF("0000:01:00.1")!)
        #expect(gpuAudio.commonUpstream == BDF("0000:00:01.0") && gpuAudio.distance == 2)
        // The root port above the GPU redirects: its functions meet there but go up anyway.
        #expect(gpuAudio.acsRedirect == [BDF("0000:00:01.0")!] && gpuAudio.mapType == .notSupported)
        let findings = Doctor(analyzer: a).findings()
        #expect(findings.contains { $0.code == "acs-redirect" && $0.remedy.contains("pci=disable_acs_redir=0000:00:01.0;") })
        #expect(findings.contains { $0.code == "host-bridge-not-allowlisted" })
        // The GPU is x16, the root port above it x8: the slot limits it, nothing is downtrained.
        #expect(!findings.contains { $0.code == "link-downtrained" } && findings.contains { $0.code == "link-limited-by-port" && $0.devices == [BDF("0000:01:00.0")!, BDF("0000:00:01.0")!] })
        // Its resizable BARs already sit at their largest supported sizes.
        #expect(!findings.contains { $0.code == "rebar-small" })
    }
}

/// A link is judged from both ends: no "downtrained" where the port above explains the width
/// or speed, on any real machine; the laptop's x16 GPU in an x8 slot is limited by the slot.
@Suite(.needsFixtures)
struct LinkJudgementTests {
    @Test(arguments: SharedFixtures.dumps)
    func downtrainedOnlyBelowBothEnds(_ dump: String) throws {
        let t = try DumpReader.load(path: SharedFixtures.lspci! + "/" + dump)
        let findings = Doctor(analyzer: P2PAnalyzer(topology: t)).findings()
        for f in findings where f.code == "link-downtrained" {
            let j = try #require(t.linkJudgement(f.devices[0]))
            let s = try #require(j.status)
            #expect(s.speed < j.capability.speed || s.width < j.capability.width, "\(dump) \(f.message)")
            if let p = j.partner { #expect(j.capability.width <= p.width && j.capability.speed <= p.speed) }
        }
        for d in t.devices {
            guard let j = t.linkJudgement(d.bdf), let p = j.partner, let s = j.status, s.width > 0 else { continue }
            // Where the status equals what both ends allow, nothing is downtrained.
            if s.width == min(j.device.width, p.width) && s.speed == min(j.device.speed, p.speed) { #expect(!j.isDowntrained, "\(dump) \(d.bdf)") }
        }
    }

    @Test func theLaptopsGPUIsLimitedByItsSlot() throws {
        let t = try DumpReader.load(path: SharedFixtures.lspci! + "/ml-alderlake-laptop-rtx3070ti-gl9755.dump")
        let gpu = try t.resolve("gpu0").bdf
        let j = try #require(t.linkJudgement(gpu))
        #expect(j.device.width == 16 && j.partner?.width == 8 && j.capability.width == 8 && !j.isDowntrained && j.limitedByPartner)
        let findings = Doctor(analyzer: P2PAnalyzer(topology: t)).findings()
        #expect(!findings.contains { $0.code == "link-downtrained" && $0.devices.contains(gpu) }, "\(findings.map(\.message))")
        let slot = try #require(findings.first { $0.code == "link-limited-by-port" && $0.devices.first == gpu })
        #expect(slot.severity == .info && slot.message.contains("is x8") && slot.remedy.contains("the slot, not the card"))
        // The GPU's audio function shares the link and the port: the port is named once.
        #expect(findings.filter { $0.code == "link-limited-by-port" && $0.devices.last == j.partnerPort }.count == 1)
    }
}
