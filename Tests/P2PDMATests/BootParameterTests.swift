import Testing
import Foundation
import PCITopology
import PCISources
@testable import P2PDMA

/// Boot parameters against the ACS Control the ports have now, on the lab's recorded guests:
/// a finding for each parameter that cannot have worked, none where the kernel did as asked.
@Suite struct BootParameterTests {
    static let recorded = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LabTests/Recorded").path

    /// The IOMMU guest (ACS redirect on every root port) with the given command line.
    func findings(_ cmdline: [String], snapshot: String = "intel-iommu", kernel: KernelVersion = KernelVersion(6, 12)) throws -> [Finding] {
        var t = try Snapshot.load(path: Self.recorded + "/\(snapshot)/snapshot.json")
        var facts = try #require(t.host.facts)
        facts.cmdlineFlags = cmdline
        t.host.facts = facts
        return Doctor(analyzer: P2PAnalyzer(topology: t, kernel: kernel, cpu: CPUInfo(vendor: "intel", family: 6))).bootParameterFindings(facts)
    }

    @Test func pciNoacsIsNoMainlineOption() throws {
        let f = try findings(["intel_iommu=on", "pci=noacs"])
        let hit = try #require(f.first { $0.code == "boot-param-noacs" })
        #expect(hit.message.contains("not a mainline kernel option") && hit.remedy.contains("pci=disable_acs_redir=0000:00:10.0"), "\(hit.remedy)")
    }

    @Test func theACSOverrideChangesGroupsNotACSCtl() throws {
        let f = try findings(["intel_iommu=on", "pcie_acs_override=downstream,multifunction"])
        #expect(f.contains { $0.code == "boot-param-acs-override" && $0.message.contains("changes IOMMU groups, not ACS Control") })
    }

    @Test func anOptionThisKernelDoesNotKnow() throws {
        let f = try findings(["intel_iommu=on", "pci=config_acs=0x00xx@0000:00:10.0"], kernel: KernelVersion(6, 1))
        let hit = try #require(f.first { $0.code == "boot-param-unknown" })
        #expect(hit.message.contains("kernel 6.1") && hit.remedy.contains("pci=disable_acs_redir="), "\(hit.remedy)")
        #expect(!f.contains { $0.code == "boot-param-no-effect" }, "an option the kernel does not know names no port")
    }

    @Test func aNamedPortThatStillRedirects() throws {
        let f = try findings(["intel_iommu=on", "pci=disable_acs_redir=0000:00:10.0"])
        let hit = try #require(f.first { $0.code == "boot-param-no-effect" })
        #expect(hit.devices.map(\.description) == ["0000:00:10.0"] && hit.message.contains("ReqRedir+") && hit.remedy.contains("0000:00:10.0"), "\(hit.message)")
    }

    @Test func aSpecThatNamesNoFunction() throws {
        let f = try findings(["intel_iommu=on", "pci=disable_acs_redir=0000:7f:00.0"])
        #expect(f.contains { $0.code == "boot-param-no-device" && $0.message.contains("0000:7f:00.0") })
    }

    /// The real kernel took config_acs for two ports (7.2.13): nothing to say.
    @Test func parametersThatWorkedSayNothing() throws {
        let t = try Snapshot.load(path: Self.recorded + "/7.2-iommu-config-acs/snapshot.json")
        let facts = try #require(t.host.facts)
        #expect(facts.cmdlineFlags.contains { $0.hasPrefix("pci=config_acs=") }, "the recorded boot has the parameter")
        let f = Doctor(analyzer: P2PAnalyzer(topology: t, kernel: KernelVersion(parsing: "7.2.13")!, cpu: CPUInfo(vendor: "intel", family: 6))).bootParameterFindings(facts)
        #expect(f.isEmpty, "\(f.map(\.message))")
    }
}
