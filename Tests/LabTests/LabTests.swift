import Foundation
import Testing
@testable import Lab
import P2PDMA
import P2PEngine
import PCISources
import PCITopology

/// Recorded boots of the lab's 6.12 kernel (`p2ptop lab check --keep`): the guest's snapshot,
/// lspci and observations. The model must agree with them without QEMU.
enum Recorded {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Recorded").path

    static func load(_ name: String) throws -> (Topology, LabReport, String) {
        let base = dir + "/" + name
        let t = try Snapshot.load(path: base + "/snapshot.json")
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: base + "/observed.json")))
        let report = try LabReport.decode(bytes, file: base + "/observed.json")
        let lspci = try String(contentsOfFile: base + "/lspci.txt", encoding: .utf8)
        return (t, report, lspci)
    }
}

@Suite struct RecordedKernelTests {
    /// Every experiment of three real boots agrees with the model, and the runs are not empty:
    /// each has the verdicts, pins, RDMA, BAR and unbind experiments.
    /// Recorded boots: lab-switch on 6.12.95 (intel, amd, intel-iommu) and on the other
    /// kernels, lab-hosts (three host bridges) on each.
    static let boots: [(name: String, kernel: String, hosts: Bool)] = [
        ("intel", "6.12.95", false), ("amd", "6.12.95", false), ("intel-iommu", "6.12.95", false),
        ("6.12-hosts-intel", "6.12.95", true), ("6.12-hosts-intel-iommu", "6.12.95", true),
        ("6.1-intel", "6.1.176", false), ("6.1-iommu-two-ports", "6.1.176", false),
        ("7.2-intel", "7.2.13", false), ("7.2-intel-iommu", "7.2.13", false), ("7.2-iommu-config-acs", "7.2.13", false), ("7.2-hosts-amd", "7.2.13", true),
    ]

    @Test(arguments: RecordedKernelTests.boots.map(\.name))
    func modelAgreesWithTheRecordedKernel(_ name: String) throws {
        let boot = try #require(Self.boots.first { $0.name == name })
        let (t, report, lspci) = try Recorded.load(name)
        #expect(report.kernel == boot.kernel && t.host.kernelRelease == boot.kernel)
        let experiments = Conformance(snapshot: t, iommu: name.contains("iommu")).compare(report, lspci: lspci)
        let disagreements = experiments.filter { !$0.agree }.map { "\($0.name): predicted \($0.predicted), kernel \($0.observed)" }
        #expect(disagreements.isEmpty, "\(disagreements)")
        #expect(experiments.count >= (boot.hosts ? 35 : 40))
        let kinds = Set(report.observations.map(\.step.kind))
        var expected: [LabStep.Kind] = [.verdict, .reason, .pins, .p2pmemRule, .available, .rdmaRegister, .rdmaDmabuf, .rdmaWrite, .unbind]
        if !boot.hosts { expected += [.barRead, .barWrite] }
        for k in expected {
            #expect(kinds.contains(k), "\(name) has no \(k) experiment")
        }
    }

    /// Every kernel a rule says it was verified on has a recorded boot here, so the claim is
    /// replayed on every `swift test` and not only where QEMU runs.
    @Test func everyVerifiedKernelHasARecordedBoot() {
        let recorded = Set(Self.boots.map(\.kernel))
        for rule in KernelRules.all {
            for k in rule.verified { #expect(recorded.contains(k), "\(rule.id): verified on \(k), but no boot of \(k) is recorded") }
        }
        #expect(recorded == ["6.1.176", "6.12.95", "7.2.13"])
    }

    /// The three map types and the kernel's answers each variant is there for.
    @Test func eachVariantShowsItsVerdict() throws {
        func row(_ name: String, _ experiment: String) throws -> LabExperiment? {
            let (t, report, lspci) = try Recorded.load(name)
            return Conformance(snapshot: t, iommu: name.contains("iommu")).compare(report, lspci: lspci).first { $0.name == experiment }
        }
        let bus = try #require(try row("intel", "nvme0 → p2pmem nvme1"))
        #expect(bus.predicted == "BUS_ADDR" && bus.observed == "ok" && bus.detail.hasPrefix("verified, 1024 pins"))
        let refused = try #require(try row("intel", "nvme2 → p2pmem nvme1"))
        #expect(refused.predicted == "NOT_SUPPORTED" && refused.observed == "EREMOTEIO")
        let thru = try #require(try row("amd", "nvme2 → p2pmem nvme1"))
        #expect(thru.predicted == "THRU_HOST_BRIDGE" && thru.observed == "ok")
        let acs = try #require(try row("intel-iommu", "nvme4 → p2pmem nvme3"))
        #expect(acs.predicted == "NOT_SUPPORTED" && acs.observed == "EREMOTEIO")
        let acsNoIOMMU = try #require(try row("intel", "nvme4 → p2pmem nvme3"))
        #expect(acsNoIOMMU.predicted == "BUS_ADDR" && acsNoIOMMU.observed == "ok")
        let pinned = try #require(try row("intel", "unbind nvme3 under nvme4's O_DIRECT"))
        #expect(pinned.predicted == "waits" && pinned.observed == "waits" && pinned.detail.contains("1024 pages pinned"))
        let unpinned = try #require(try row("intel-iommu", "unbind nvme3 under nvme4's O_DIRECT"))
        #expect(unpinned.predicted == "returns" && unpinned.observed == "returns", "the read was refused: nothing pinned")
        let reason = try #require(try row("intel-iommu", "reason nvme4 → p2pmem nvme3"))
        #expect(reason.observed == "ACS redirect: pci=disable_acs_redir=0000:00:12.0; not allowlisted; host bridge 0000:00:00.0 8086:29c0" && reason.agree)
        // 7.2: the block layer's DMA iterator refuses with EINVAL, and the model says so.
        let refused72 = try #require(try row("7.2-intel", "nvme2 → p2pmem nvme1"))
        #expect(refused72.predicted == "NOT_SUPPORTED" && refused72.observed == "EINVAL" && refused72.agree)
        let acs72 = try #require(try row("7.2-intel-iommu", "nvme4 → p2pmem nvme3"))
        #expect(acs72.observed == "EINVAL" && acs72.agree)
        // ACS Control after boot: 6.1 keeps SV and UF where disable_acs_redir names a port;
        // 7.2's config_acs gives each port its own value (x bits from the firmware's 0).
        let acs61 = try #require(try row("6.1-iommu-two-ports", "ACSCtl 0000:00:12.0 (rp2) after boot"))
        #expect(acs61.observed == "0x0011 SrcValid UpstreamFwd" && acs61.agree, "\(acs61)")
        let ctl72 = try #require(try row("7.2-iommu-config-acs", "ACSCtl 0000:00:12.0 (rp2) after boot"))
        #expect(ctl72.observed == "0x0001 SrcValid" && ctl72.agree, "\(ctl72)")
        let acs72other = try #require(try row("7.2-iommu-config-acs", "ACSCtl 0000:00:10.0 (rp0) after boot"))
        #expect(acs72other.observed == "0x0000" && acs72other.agree)
        // The same observation read as 6.12's answer is a disagreement: the rule can fail.
        var (t, report, _) = try Recorded.load("7.2-intel")
        t.host.kernelRelease = "6.12.95"
        let i = try #require(report.observations.firstIndex { $0.step.name == "nvme2 → p2pmem nvme1" && $0.step.kind == .verdict })
        #expect(!Conformance(snapshot: t, iommu: false).compare(report.observations[i]).agree)
        // lab-hosts: across host bridges AMD crosses, below one switch of an expander bridge
        // the pair is BUS_ADDR.
        let cross = try #require(try row("7.2-hosts-amd", "nvme0 → p2pmem nvme2"))
        #expect(cross.predicted == "THRU_HOST_BRIDGE" && cross.observed == "ok")
        let below = try #require(try row("7.2-hosts-amd", "nvme3 → p2pmem nvme2"))
        #expect(below.predicted == "BUS_ADDR" && below.observed == "ok")
        // The first device on root bus 40 is its root port at 40:01.0 (no 40:00.0): from 5.19
        // the kernel takes it for the host bridge and names it; before, bus 40 had none.
        let first = try #require(try row("6.12-hosts-intel-iommu", "reason nvme5 → p2pmem nvme4"))
        #expect(first.observed == "ACS redirect: pci=disable_acs_redir=0000:40:01.0; not allowlisted; host bridge 0000:40:01.0 1b36:000c" && first.agree)
        // Without the kernel's host-bridge line the prediction (which names 40:01.0) disagrees.
        let (h, hostsReport, _) = try Recorded.load("6.12-hosts-intel-iommu")
        var r = try #require(hostsReport.observations.first { $0.step.kind == .reason && $0.step.name == "nvme5 → p2pmem nvme4" })
        r.kernelLog.removeAll { $0.contains("Host bridge not in P2PDMA whitelist") }
        #expect(!r.kernelLog.isEmpty && !Conformance(snapshot: h, iommu: true).compare(r).agree)
        let hostsIntel = try #require(try row("6.12-hosts-intel", "nvme4 → p2pmem nvme1"))
        #expect(hostsIntel.predicted == "NOT_SUPPORTED" && hostsIntel.observed == "EREMOTEIO")
    }

    /// The doctor's remedy for the ACS-redirected pair is exactly what the kernel suggests.
    @Test func doctorRemedyIsTheKernelsParameter() throws {
        let (t, report, _) = try Recorded.load("intel-iommu")
        let remedy = try #require(Conformance(snapshot: t, iommu: true).doctorRemedy())
        let kernelSaid = report.observations.flatMap(\.kernelLog).first { $0.contains("pci=disable_acs_redir=") }
        #expect(remedy == "pci=disable_acs_redir=0000:00:12.0")
        #expect(kernelSaid?.hasSuffix(remedy) == true, "\(kernelSaid ?? "no kernel line")")
        let plain = try Recorded.load("intel").0
        #expect(Conformance(snapshot: plain, iommu: false).doctorRemedy() == nil, "no redirect, no remedy")
    }

    /// A prediction that is wrong must show up: flip one observation and the check disagrees.
    @Test func aWrongObservationIsADisagreement() throws {
        var (t, report, _) = try Recorded.load("intel")
        let i = try #require(report.observations.firstIndex { $0.step.kind == .verdict && $0.observed == "EREMOTEIO" })
        report.observations[i].observed = "ok"
        let j = try #require(report.observations.firstIndex { $0.step.kind == .pins && $0.step.queue == "threads" })
        report.observations[j].observed = "1023"
        let k = try #require(report.observations.firstIndex { $0.step.kind == .rdmaRegister && $0.step.variant == "write" && $0.step.memory != .host })
        report.observations[k].observed = "EREMOTEIO"
        let bad = Conformance(snapshot: t, iommu: false).compare(report, lspci: nil).filter { !$0.agree }
        #expect(bad.count == 3)
        // Before writable_file_mapping_allowed (6.5) EREMOTEIO is what the model says; and
        // before 6.7 io_uring's nowait attempt split the bio instead of pinning twice.
        t.host.kernelRelease = "6.4.0"
        let old = Conformance(snapshot: t, iommu: false).compare(report, lspci: nil)
        #expect(old.first { $0.name == report.observations[k].step.name }?.agree == true)
        #expect(old.contains { !$0.agree && $0.name.contains("io_uring qd4 1024K") && $0.predicted == "1024" })
    }
}

@Suite struct LspciComparisonTests {
    @Test func parsesRegionsLinksAndACS() throws {
        let text = """
        0000:00:12.0 0604: 1b36:000c
        \tControl: I/O+ Mem+ BusMaster+
        \tRegion 0: Memory at fea14000 (32-bit, non-prefetchable) [size=4K]
        \t\tLnkSta:\tSpeed 2.5GT/s, Width x1 (ok)
        \t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-
        0000:06:00.0 0108: 1b36:0010 (rev 02) (prog-if 02 [NVM Express])
        \tRegion 0: Memory at fe600000 (64-bit, non-prefetchable) [size=16K]
        \tRegion 2: Memory at fc000000 (64-bit, prefetchable) [size=16M]
        \tRegion 4: I/O ports at c000 [size=32]
        """
        let f = LspciComparison.parse(text)
        #expect(f.count == 2 && f[0].ids == "1b36:000c" && f[1].ids == "1b36:0010")
        #expect(f[0].link == "2.5GT/s x1" && f[0].acsControl == "SrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-")
        #expect(f[1].regions == ["0 mem 0xfe600000 16K", "2 mem 0xfc000000 16M", "4 io 0xc000 32"])
        #expect(ByteSize.text(16 << 20, .lspci) == "16M" && ByteSize.text(4096, .lspci) == "4K" && ByteSize.text(96 << 10, .lspci) == "96K"
                && ByteSize.text(1536, .lspci) == "1536" && ByteSize.text(66048 << 20, .lspci) == "66048M", "lspci's own rule: the largest unit that divides")
    }

    @Test func aDifferenceIsNamed() throws {
        let (t, _, lspci) = try Recorded.load("intel-iommu")
        let same = LspciComparison.compare(t, lspci: lspci).filter { !$0.agree }
        #expect(same.isEmpty)
        let changed = lspci.replacingOccurrences(of: "ACSCtl:\tSrcValid+ TransBlk- ReqRedir+", with: "ACSCtl:\tSrcValid+ TransBlk- ReqRedir-")
        #expect(changed != lspci)
        let acs = try #require(LspciComparison.compare(t, lspci: changed).first { $0.name == "topology: ACS control" })
        #expect(!acs.agree && acs.detail.contains("ReqRedir-"))
        #expect(!LspciComparison.compare(t, lspci: "").contains { $0.agree }, "an empty lspci proves nothing")
    }
}

@Suite struct KernelReasonTests {
    @Test func classifiesThePciWarnLines() {
        let lines = [
            "nvme 0000:06:00.1: ACS redirect is set between the client and provider (0000:06:00.0)",
            "nvme 0000:06:00.1: to disable ACS redirect for this path, add the kernel parameter: pci=disable_acs_redir=0000:00:12.0;0000:00:11.0",
            "nvme 0000:06:00.1: cannot be used for peer-to-peer DMA as the client and provider (0000:06:00.0) do not share an upstream bridge or whitelisted host bridge",
        ]
        #expect(KernelReason.classify(lines) == "ACS redirect: pci=disable_acs_redir=0000:00:11.0;0000:00:12.0; not allowlisted")
        #expect(KernelReason.classify(Array(lines.suffix(1))) == "not allowlisted")
        #expect(KernelReason.classify(["nvme 0000:04:00.0: added peer-to-peer DMA memory"]) == "none")
    }
}

@Suite struct LabDescriptionTests {
    @Test func fragmentHashIsFNV1aOfTheText() {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in LabKernelConfig.fragment.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        #expect(LabKernelConfig.fragmentHash == String(format: "%016llx", h))
        #expect(LabKernelConfig.cacheKey(sourceVersion: "6.12.95").hasPrefix("6.12.95-"))
        #expect(LabKernelConfig.requested.contains("CONFIG_PCI_P2PDMA") && LabKernelConfig.requested.contains("CONFIG_RDMA_RXE"))
    }

    @Test func missingOptionsAreNamed() {
        let config = LabKernelConfig.fragment.replacingOccurrences(of: "CONFIG_PCI_P2PDMA=y", with: "# CONFIG_PCI_P2PDMA is not set")
            .replacingOccurrences(of: "CONFIG_VIRTIO_PCI=y", with: "CONFIG_VIRTIO_PCI=m")
        #expect(LabKernelConfig.missing(from: config) == ["CONFIG_PCI_P2PDMA", "CONFIG_VIRTIO_PCI"])
        #expect(LabKernelConfig.missing(from: config, wanted: ["CONFIG_PCI_P2PDMA"]) == ["CONFIG_PCI_P2PDMA"])
        #expect(LabKernelConfig.missing(from: LabKernelConfig.fragment).isEmpty)
    }

    /// The fabric as QEMU arguments: the CMBs, the two functions, the IOMMU only when asked,
    /// and a NIC whose backend reaches no network.
    @Test func qemuArgumentsDescribeTheFabric() {
        let a = QEMUFabric.arguments(.labSwitch, iommu: false) { "/d/\($0).img" }
        let joined = a.joined(separator: " ")
        #expect(joined.contains("nvme,drive=drive-nvme1,serial=p2ptop-nvme1,bus=dsp2,cmb_size_mb=64"))
        #expect(joined.contains("bus=rp3,addr=0.0,multifunction=on,cmb_size_mb=16") && joined.contains("bus=rp3,addr=0.1"))
        #expect(joined.contains("x3130-upstream,id=usp1,bus=rp1") && joined.contains("ivshmem-plain"))
        #expect(!joined.contains("intel-iommu") && QEMUFabric.arguments(.labSwitch, iommu: true) { $0 }.contains("intel-iommu"))
        let netdevs = zip(a, a.dropFirst()).filter { $0.0 == "-netdev" }.map(\.1)
        let networked = netdevs.filter { !$0.hasPrefix("user,") || !$0.contains(",restrict=on") || $0.contains("hostfwd") || $0.contains("guestfwd") }
        #expect(!netdevs.isEmpty && networked.isEmpty, "the guest never reaches a network")
        #expect(LabVariant(fabric: .labSwitch, cpu: .amd, iommu: true, append: ["pci=x"]).kernelArguments == ["intel_iommu=on", "pci=x"])
    }

    @Test func guestInitMountsRunsAndPowersOff() {
        let batch = GuestInit(command: ["/opt/p2ptop", "lab", "observe", "--out", "/run/p2ptop-lab", "it's"], console: .batch).script
        #expect(batch.hasPrefix("#!/bin/sh\n"))
        for needed in ["mount -t proc proc /proc", "mount -t sysfs sysfs /sys", "mount -t 9p", "rdma link add rxe0 type rxe netdev eth0",
                       "/opt/p2ptop lab observe --out /run/p2ptop-lab 'it'\\''s' >/run/p2ptop-lab/stdout", "echo $? >/run/p2ptop-lab/status",
                       "echo o > /proc/sysrq-trigger"] {
            #expect(batch.contains(needed), "\(needed)")
        }
        #expect(batch.range(of: "sync")!.lowerBound < batch.range(of: "sysrq-trigger")!.lowerBound)
        let tty = GuestInit(command: ["/opt/p2ptop"], console: .interactive(rows: 40, columns: 120, term: "xterm"), softRoCE: false).script
        #expect(tty.contains("stty -F /dev/ttyS0 rows 40 cols 120") && tty.contains("setsid -c -w") && !tty.contains("rdma link"))
    }

    /// The plan: every drive into every other function's p2pmem, pins of each queue kind, and
    /// the unbind last (it takes a provider away).
    @Test func planCoversEveryPairAndEndsWithTheUnbind() {
        let drives: [(label: String, bdf: BDF, block: String)] = (0..<5).map { ("nvme\($0)", BDF("0000:0\($0 + 3):00.0")!, "/dev/nvme\($0)n1") }
        let inv = LabPlan.Inventory(drives: drives, providers: [drives[1].bdf, drives[3].bdf], openBARs: [(BDF("0000:00:05.0")!, 2)], rdma: true, dmabufHeap: true)
        let steps = LabPlan.steps(for: inv)
        #expect(steps.filter { $0.kind == .verdict }.count == 8 && steps.filter { $0.kind == .reason }.count == 8)
        #expect(Set(steps.filter { $0.kind == .pins }.map(\.queue)) == ["threads", "io_uring", "io_uring-fixed"])
        #expect(steps.last?.kind == .unbind && steps.last?.device == drives[3].bdf && steps.last?.variant == "")
        let inv2 = LabPlan.Inventory(drives: drives, providers: inv.providers, openBARs: [], rdma: false, dmabufHeap: false, slow: ["nvme4"])
        let pinned = LabPlan.steps(for: inv2).filter { $0.kind == .unbind }
        #expect(pinned.count == 2 && pinned[0].variant == "pinned" && pinned[0].device == drives[4].bdf && pinned[0].memory == .p2pmem(drives[3].bdf) && pinned[1].device == drives[1].bdf)
        #expect(!steps.contains { $0.kind == .verdict && $0.device == $0.memory?.p2pmemDevice })
        let none = LabPlan.steps(for: .init(drives: drives, providers: [], openBARs: [], rdma: false, dmabufHeap: false))
        let others = none.filter { $0.kind != .pins && $0.kind != .barPolicy }
        #expect(others.isEmpty)
    }

    /// The drives' content: never zeros, different per drive, the same every time.
    @Test func drivePatternIsKnownAndNonZero() {
        let a = LabMachine.pattern(label: "nvme0", count: 4096), b = LabMachine.pattern(label: "nvme1", count: 4096)
        #expect(a != b && a == LabMachine.pattern(label: "nvme0", count: 4096))
        #expect(a.filter { $0 == 0 }.count < 64)
    }

    @Test func reportRoundTrips() throws {
        var s = LabStep(.pins, "x", device: BDF("0000:03:00.0"), memory: .p2pmem(BDF("0000:04:00.0")!))
        s.size = 4 << 20; s.queue = "io_uring"; s.queueLimit = 512 << 10
        var o = LabObservation(step: s, observed: "2048")
        o.pinsAcquired = 2048; o.kernelLog = ["a"]
        let r = LabReport(kernel: "6.12.95", drives: [("nvme0", BDF("0000:03:00.0")!, "/dev/nvme0n1")], observations: [o])
        let back = try LabReport.decode(Array(r.json.serialized().utf8), file: "x")
        #expect(back.observations.first?.step == s && back.observations.first?.pinsAcquired == 2048 && back.drives.first?.label == "nvme0")
        #expect(throws: LabError.self) { _ = try LabReport.decode(Array("{\"schema\": \"other\"}".utf8), file: "f") }
    }

    @Test func tableFitsEightyColumns() throws {
        let (t, report, lspci) = try Recorded.load("intel-iommu")
        let run = LabRun(variant: LabVariant(fabric: .labSwitch, iommu: true), kernel: report.kernel,
                         experiments: Conformance(snapshot: t, iommu: true).compare(report, lspci: lspci), failure: nil, seconds: 14)
        let text = LabReportRender.table([run])
        let wide = text.split(separator: "\n").filter { $0.count > 80 }
        #expect(wide.isEmpty, "\(wide)")
        #expect(text.contains("every experiment agrees"))
        let json = LabReportRender.json([run], kernel: "6.12.95").serialized()
        #expect(json.hasPrefix("{\"schema\":\"p2ptop.lab/1\",\"kernel\":\"6.12.95\""))
    }
}

/// `lab kernel --source`: series, newest and paths; the private apt stanza derived from the
/// machine's own Debian entry; the series Debian's lists offer.
@Suite struct KernelSourceTests {
    @Test func sourceSpecs() {
        #expect(LabKernelSource.Spec("6.1") == .series(major: 6, minor: 1))
        #expect(LabKernelSource.Spec("7.2") == .series(major: 7, minor: 2))
        #expect(LabKernelSource.Spec("newest") == .newest)
        #expect(LabKernelSource.Spec("/usr/src/linux-source-6.12.tar.xz") == .path("/usr/src/linux-source-6.12.tar.xz"))
        #expect(LabKernelSource.Spec("6.1.176") == .path("6.1.176") && LabKernelSource.Spec("6.x") == .path("6.x"))
    }

    @Test func thePrivateStanzaKeepsMirrorAndKeyAndAddsTheLabsSuites() throws {
        let system = """
            Types: deb
            # a snapshot comment
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            Types: deb
            URIs: http://mirror.example/debian-security
            Suites: bookworm-security
            Components: main
            """
        let s = try #require(LabKernelSource.privateStanza(from: system))
        #expect(s == """
            Types: deb
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates bookworm-backports sid
            Components: main
            Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

            """)
        #expect(LabKernelSource.privateStanza(from: "Types: deb-src\nURIs: x\nSuites: bookworm\n") == nil)
        #expect(LabKernelSource.privateStanza(from: "Types: deb\nURIs: x\nSuites: bookworm-security\n") == nil)
    }

    @Test func newestIsTheHighestSeriesNotTheLongestName() {
        let search = """
            linux-source-6.1 - Linux kernel source for version 6.1 with Debian patches
            linux-source-6.12 - Linux kernel source for version 6.12 with Debian patches
            linux-source-7.2 - Linux kernel source for version 7.2 with Debian patches
            linux-source-7.10 - a later one
            linux-source-7.2-rt - not a series
            linux-sourcey - no
            """
        #expect(LabKernelSource.seriesNames(in: search) == ["6.1", "6.12", "7.2", "7.10"])
    }

    @Test func cachedKernelsBySeries() {
        #expect(LabKernelBuild.inSeries("6.12.95", "6.12") && !LabKernelBuild.inSeries("6.120.1", "6.12") && LabKernelBuild.inSeries("6.1", "6.1"))
    }
}

/// The README's kernel table: counted per kernel and group, the same from runs and from
/// their p2ptop.lab/1 document; a disagreement or a failed boot shows.
@Suite struct LabSummaryTests {
    func run(_ name: String, _ fabric: LabFabric) throws -> LabRun {
        let (t, report, lspci) = try Recorded.load(name)
        return LabRun(variant: LabVariant(fabric: fabric, iommu: name.contains("iommu")), kernel: report.kernel,
                      experiments: Conformance(snapshot: t, iommu: name.contains("iommu")).compare(report, lspci: lspci), failure: nil, seconds: 30)
    }

    @Test func countsPerKernelAndGroupFromRunsAndFromJSON() throws {
        var runs = [try run("intel", .labSwitch), try run("6.12-hosts-intel", .labHosts)]
        let summary = LabSummary(runs: runs)
        #expect(summary.rows.count == 1 && summary.rows[0].kernel == "6.12.95" && summary.rows[0].boots == 2)
        #expect(summary.rows[0].fabrics == ["lab-switch", "lab-hosts"])
        let total = summary.rows[0].cells.values.reduce(0) { $0 + $1.total }
        #expect(total == runs.reduce(0) { $0 + $1.experiments.count } && summary.allAgree)
        #expect(Set(summary.rows[0].cells.keys) == Set(LabStep.Kind.groups), "\(summary.rows[0].cells.keys)")
        let back = try LabSummary(json: LabReportRender.json(runs, kernel: "6.12.95"), file: "x")
        #expect(back == summary)
        #expect(summary.markdown.split(separator: "\n").count == 3 && summary.markdown.contains("| 6.12.95 | 2 | "))
        #expect(summary.text.split(separator: "\n").allSatisfy { $0.count <= 80 })

        runs[1].experiments[3].agree = false
        runs.append(LabRun(variant: LabVariant(fabric: .labSwitch), kernel: "7.2.13", experiments: [], failure: "panicked", seconds: 1))
        let worse = LabSummary(runs: runs)
        #expect(!worse.allAgree && worse.rows.count == 2 && worse.rows[1].failedBoots == 1)
        #expect(worse.markdown.contains("| 7.2.13 | 1 (1 failed) | —"))
        #expect(throws: LabError.self) { _ = try LabSummary(json: .object([("schema", .string("p2ptop.other/1"))]), file: "f") }
    }
}
