import Testing
import PCISources
import PCITopology
@testable import P2PDMA

/// `doctor --gds`: one test per finding, each shown failing (or warning) and passing, on the
/// Gen5 demo server with the host and driver facts a captured root would give.
@Suite struct GDSReadinessTests {
    static let goodDriver = GDSFacts.NVIDIADriver(version: "570.86.15", openKernelModule: true,
                                                  registryDwords: ["rmforcestaticbar1": "1", "rmforcedisableiomapwc": "1"])
    static let goodFacts = GDSFacts(nvidia: goodDriver, multipath: .off)
    static let enabled = HostFacts(p2pdma: .enabled(evidence: "/proc/config.gz"))

    func readiness(_ t: Topology? = nil, host: HostFacts? = enabled, facts: GDSFacts? = goodFacts, kernel: KernelVersion = KernelVersion(6, 12)) throws -> GDSReadiness {
        let t = try t ?? DemoFabrics.load("sapphire-h100")
        return GDSReadiness(P2PAnalyzer(topology: t, kernel: kernel, cpu: CPUInfo(vendor: t.host.cpuVendor, family: t.host.cpuFamily)), host: host, facts: facts, runningKernel: (kernel, "/proc/sys/kernel/osrelease"))
    }

    func status(_ r: GDSReadiness, _ id: String) -> GDSCheck.Status? {
        (r.commonChecks + r.nvidiaChecks + r.pairs.flatMap(\.checks)).first { $0.id == id }?.status
    }

    @Test func aMachineSetUpForTheP2PDMAModeIsReady() throws {
        let r = try readiness()
        #expect(r.pairs.count == 16, "8 GPUs × 2 NVMe")
        #expect(r.pairs.allSatisfy { $0.ready == true && $0.stack == .gds }, "\(r.pairs.flatMap(\.checks).filter { $0.status != .pass })")
        #expect((r.commonChecks + r.nvidiaChecks).allSatisfy { $0.status == .pass })
    }

    @Test func withoutDriverFactsNothingIsCalledReady() throws {
        let r = try readiness(host: nil, facts: nil)
        #expect(r.pairs.allSatisfy { $0.ready == nil })
        #expect(status(r, "kernel-p2pdma") == .unknown && status(r, "nvidia-open-module") == .unknown && status(r, "nvme-md") == .unknown)
    }

    @Test func kernelWithoutP2PDMA() throws {
        let r = try readiness(host: HostFacts(p2pdma: .disabled(file: "/boot/config-6.1.0-28-amd64")))
        #expect(status(r, "kernel-p2pdma") == .fail && r.pairs.allSatisfy { $0.ready == false })
        #expect(r.commonChecks[0].source == "/boot/config-6.1.0-28-amd64" && r.commonChecks[0].remedy != nil)
    }

    @Test func kernelBefore6_2() throws {
        #expect(status(try readiness(kernel: KernelVersion(6, 1)), "kernel-version") == .fail)
        #expect(status(try readiness(kernel: KernelVersion(6, 2)), "kernel-version") == .pass)
    }

    @Test func nativeMultipath() throws {
        var f = Self.goodFacts
        f.multipath = .on
        let r = try readiness(facts: f)
        #expect(status(r, "nvme-multipath") == .fail && r.pairs.allSatisfy { $0.ready == false })
        f.multipath = .notBuilt
        #expect(status(try readiness(facts: f), "nvme-multipath") == .pass)
    }

    @Test func nvmeOverFabrics() throws {
        var f = Self.goodFacts
        f.fabricControllers = ["nvme4": "tcp"]
        let r = try readiness(facts: f)
        #expect(status(r, "nvme-of") == .warn && r.pairs.allSatisfy { $0.ready == true }, "local pairs still work")
        #expect(r.commonChecks.first { $0.id == "nvme-of" }?.detail.contains("nvme4 (tcp)") == true)
    }

    @Test(arguments: [GDSFacts.NVIDIADriver?.none,
                      GDSFacts.NVIDIADriver(version: "570.86.15", openKernelModule: false, registryDwords: [:]),
                      GDSFacts.NVIDIADriver(version: "550.54.14", openKernelModule: true, registryDwords: [:])])
    func driverNotLoadedProprietaryOrTooOld(_ d: GDSFacts.NVIDIADriver?) throws {
        let r = try readiness(facts: GDSFacts(nvidia: d, multipath: .off))
        #expect(status(r, "nvidia-open-module") == .fail && r.pairs.allSatisfy { $0.ready == false })
        #expect(r.nvidiaChecks.first?.remedy?.contains("565") == true)
    }

    @Test(arguments: ["nvidia-static-bar1", "nvidia-iomap-wc"])
    func registryKeys(_ id: String) throws {
        var d = Self.goodDriver
        d.registryDwords?[id == "nvidia-static-bar1" ? "rmforcestaticbar1" : "rmforcedisableiomapwc"] = "0"
        let r = try readiness(facts: GDSFacts(nvidia: d, multipath: .off))
        #expect(status(r, id) == .fail && r.pairs.allSatisfy { $0.ready == false })
        #expect(r.nvidiaChecks.first { $0.id == id }?.remedy?.contains("RMForceStaticBar1=1;RmForceDisableIomapWC=1;") == true)
    }

    @Test func pageRefcountChangeOnNewerKernels() throws {
        #expect(status(try readiness(kernel: KernelVersion(6, 14)), "uvm-p2p-refcount") == .pass)
        let r = try readiness(kernel: KernelVersion(6, 16))
        #expect(status(r, "uvm-p2p-refcount") == .warn)
        #expect(r.nvidiaChecks.first { $0.id == "uvm-p2p-refcount" }?.detail.contains("#1023") == true)
        // The proprietary module has no such check (it fails the module check instead).
        let closed = try readiness(facts: GDSFacts(nvidia: GDSFacts.NVIDIADriver(version: "570.86.15", openKernelModule: false), multipath: .off),
                                   kernel: KernelVersion(6, 16))
        #expect(status(closed, "uvm-p2p-refcount") == nil)
    }

    /// An older GPU (V100, 10de:1db4) fails; a display-class Ampere (the workstation's RTX) warns.
    @Test func gpuGeneration() throws {
        let t = try DemoFabrics.load("sapphire-h100")
        let gpu = try t.resolve("gpu0").bdf
        let v100 = t.devices.map { d -> Device in
            guard d.bdf == gpu else { return d }
            var bytes = d.config.bytes
            bytes[2] = 0xb4; bytes[3] = 0x1d
            return Device(bdf: d.bdf, config: ConfigSpace(bytes), sysfs: d.sysfs)
        }
        let r = try readiness(Topology(devices: v100, host: t.host, source: t.source))
        #expect(r.pairs.filter { $0.gpu == gpu }.allSatisfy { $0.ready == false && $0.checks[0].status == .fail })
        #expect(r.pairs.filter { $0.gpu != gpu }.allSatisfy { $0.ready == true })
        let w = try readiness(try DemoFabrics.load("workstation"))
        #expect(status(w, "gpu-generation") == .warn)
    }

    @Test func aDriveInAnMDArray() throws {
        let t = try DemoFabrics.load("sapphire-h100")
        let nvme = try t.resolve("nvme0").bdf
        let devices = t.devices.map { d -> Device in
            guard d.bdf == nvme else { return d }
            var s = d.sysfs ?? SysfsFacts()
            s.osDevices = [OSDevice(kind: .nvme, name: "nvme0"), OSDevice(kind: .block, name: "nvme0n1")]
            return Device(bdf: d.bdf, config: d.config, sysfs: s)
        }
        var f = Self.goodFacts
        f.mdMembers = ["nvme0n1p2": "md127", "nvme10n1": "md0"]   // nvme10n1 is another drive's
        let r = try readiness(Topology(devices: devices, host: t.host, source: t.source), facts: f)
        let inArray = r.pairs.filter { $0.nvme == nvme }, others = r.pairs.filter { $0.nvme != nvme }
        #expect(inArray.allSatisfy { $0.ready == false && $0.checks.contains { $0.id == "nvme-md" && $0.detail.contains("nvme0n1p2 in md127") } })
        #expect(others.allSatisfy { $0.ready == true }, "nvme10n1 is not nvme1n1's partition")
    }

    /// The workstation: every root port redirects and its host bridge is not allowlisted.
    @Test func aPairTheKernelRefuses() throws {
        let r = try readiness(try DemoFabrics.load("workstation"))
        #expect(!r.pairs.isEmpty && r.pairs.allSatisfy { $0.ready == false && $0.verdict.mapType == .notSupported })
        #expect(status(r, "pair-verdict") == .fail)
    }

    /// AMD GPUs are hipFile's: the kernel, NVMe and pair checks, none of NVIDIA's.
    @Test func amdGPUsAreHipFiles() throws {
        let r = try readiness(try DemoFabrics.load("epyc-mi25"), facts: GDSFacts(nvidia: nil, multipath: .off))
        #expect(!r.pairs.isEmpty && r.pairs.allSatisfy { $0.stack == .hipFile && !$0.hostChecks.contains { $0.id.hasPrefix("nvidia") } })
        #expect(r.pairs.contains { $0.ready == true }, "the Zen rule lets some pairs through")
    }
}
