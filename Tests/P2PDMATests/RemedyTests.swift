import Testing
@testable import P2PDMA
import PCISources
import PCITopology

/// Each kind of remedy is true for the kernel it is given: parameters only where that kernel
/// has them, whole; a newer kernel only where a release's allowlist has the host bridge.
@Suite struct RemedyTests {
    func findings(_ fabric: String, kernel: KernelVersion, cpu: CPUInfo? = nil) throws -> [Finding] {
        let t = try DemoFabrics.load(fabric)
        let a = P2PAnalyzer(topology: t, kernel: kernel, cpu: cpu ?? CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily))
        return Doctor(analyzer: a).findings()
    }

    func tokens(_ s: String) -> [Substring] { s.split(separator: " ") }

    @Test func acsRedirectParametersFollowTheKernel() throws {
        let new = try #require(try findings("workstation", kernel: KernelVersion(6, 12)).first { $0.code == "acs-redirect" })
        #expect(tokens(new.remedy).contains("pci=disable_acs_redir=0000:00:01.0;0000:00:06.0;0000:00:1c.0;0000:00:1c.4"))
        // config_acs (6.11+): one whole parameter, RR/CR/EC off (bits 2, 3, 5), the rest unchanged.
        #expect(tokens(new.remedy).contains("pci=config_acs=0x00xx@0000:00:01.0;0x00xx@0000:00:06.0;0x00xx@0000:00:1c.0;0x00xx@0000:00:1c.4"))
        let older = try #require(try findings("workstation", kernel: KernelVersion(6, 8)).first { $0.code == "acs-redirect" })
        #expect(older.remedy.contains("pci=disable_acs_redir=") && !older.remedy.contains("config_acs"))
        let ancient = try #require(try findings("workstation", kernel: KernelVersion(4, 14)).first { $0.code == "acs-redirect" })
        #expect(!ancient.remedy.contains("pci=") || ancient.remedy.contains("has no pci=disable_acs_redir"))
        #expect(ancient.remedy.contains("4.19"))
    }

    @Test func aNewerKernelOnlyWhereSomeReleaseListsTheHostBridge() throws {
        // Ice Lake-SP (8086:09a2): listed since 5.18 — on 5.15 the remedy names that release.
        let ice = try findings("icelake-gpu-switch", kernel: KernelVersion(5, 15)).filter { $0.code == "host-bridge-not-allowlisted" }
        let listed = try #require(ice.first { $0.message.contains("8086:09a2") })
        #expect(listed.remedy.hasPrefix("run Linux 5.18 or later: its allowlist has 8086:09a2"))
        // On 6.12 the same bridge is allowlisted: no finding for it.
        #expect(try !findings("icelake-gpu-switch", kernel: KernelVersion(6, 12)).contains { $0.message.contains("8086:09a2") })
        // Alder Lake (8086:4641) is in no release: no kernel is proposed, the alternatives are.
        let alder = try #require(try findings("workstation", kernel: KernelVersion(6, 12)).first { $0.code == "host-bridge-not-allowlisted" })
        #expect(alder.remedy.hasPrefix("no Linux release allowlists host bridge 8086:4641"))
        #expect(!alder.remedy.contains("run Linux") && alder.remedy.contains("one PCIe switch") && alder.remedy.contains("AMD Zen host"))
    }

    @Test func vmdDomainsAndAMDHostsGetTheirOwnAlternatives() throws {
        let vmd = try #require(try findings("icelake-gpu-switch", kernel: KernelVersion(6, 12)).first { $0.message.contains("10000:00") })
        #expect(vmd.remedy.contains("Intel VMD domain") && vmd.remedy.contains("turn Intel VMD off") && !vmd.remedy.contains("AMD"))
        // An AMD Zen host on a kernel before the Zen rule: never told to buy an AMD host.
        let t = try DemoFabrics.load("epyc-mi25")
        let a = P2PAnalyzer(topology: t, kernel: KernelVersion(5, 4), cpu: CPUInfo(vendor: "amd", family: 0x17))
        for f in Doctor(analyzer: a).findings() where f.code == "host-bridge-not-allowlisted" {
            #expect(!f.remedy.contains("AMD Zen host"))
        }
    }
}
