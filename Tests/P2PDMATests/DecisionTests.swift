import Testing
import PCITopology
import PCISources
@testable import P2PDMA

let b = Fabric.bdf

/// Every branch of calc_map_type_and_dist and host_bridge_whitelist, on small machines.
@Suite struct DecisionTests {
    @Test func switchWithoutACSIsBusAddr() {
        let a = Fabric.switchBox().analyzer()
        let v = a.verdict(provider: b("0000:03:00.0"), client: b("0000:04:00.0"))
        #expect(v.mapType == .busAddr && v.distance == 4)
        #expect(v.commonUpstream == b("0000:01:00.0") && v.acsRedirect.isEmpty)
        #expect(v.pathClass == .pix)
        #expect(v.hops.map(\.short) == ["03:00.0", "02:00.0", "01:00.0", "02:01.0", "04:00.0"])
    }

    @Test func acsRedirectOnDownstreamPortsGoesThroughTheHostBridge() {
        let a = Fabric.switchBox(dspACS: [.requestRedirect, .completionRedirect]).analyzer()
        let v = a.verdict(provider: b("0000:03:00.0"), client: b("0000:04:00.0"))
        // P's port is tested on the way up, C's port on the way down below the common ancestor.
        #expect(v.acsRedirect == [b("0000:02:00.0"), b("0000:02:01.0")])
        #expect(v.mapType == .thruHostBridge && v.distance == 4)
        guard case .allowlisted(let e)? = v.hostBridgeRule else { Issue.record("rule \(String(describing: v.hostBridgeRule))"); return }
        #expect(e.first?.device == 0x09a2)
    }

    @Test func egressControlAloneCountsAsRedirect() {
        let a = Fabric.switchBox(dspACS: [.egressControl], hostDevice: 0x1234).analyzer()
        #expect(a.verdict(provider: b("0000:03:00.0"), client: b("0000:04:00.0")).mapType == .notSupported)
        let benign = Fabric.switchBox(dspACS: [.sourceValidation, .upstreamForwarding], hostDevice: 0x1234).analyzer()
        #expect(benign.verdict(provider: b("0000:03:00.0"), client: b("0000:04:00.0")).mapType == .busAddr)
    }

    @Test func notAllowlistedHostBridgeRefuses() {
        let a = Fabric.switchBox(hostDevice: 0x4641).analyzer()
        let v = a.verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0"))
        #expect(v.mapType == .notSupported && v.commonUpstream == nil)
        // No common ancestor: both depths, each counting the device itself.
        #expect(v.distance == 4 + 2)
        #expect(v.pathClass == .phb)
        #expect(v.reason.contains("not in the P2PDMA allowlist"))
    }

    @Test func functionsOfOneDevice() {
        var f = Fabric()
        f.hostBridge("0000:00:00.0")
        f.rootPort("0000:00:01.0", sec: 1)
        f.endpoint("0000:01:00.0", classCode: 0x0200, multifunction: true)
        f.endpoint("0000:01:00.1", classCode: 0x0200, multifunction: true)
        let v = f.analyzer().verdict(provider: b("0000:01:00.0"), client: b("0000:01:00.1"))
        #expect(v.mapType == .busAddr && v.distance == 2 && v.pathClass == .pix)
        let same = f.analyzer().verdict(provider: b("0000:01:00.0"), client: b("0000:01:00.0"))
        #expect(same.distance == 0 && same.mapType == .busAddr && same.pathClass == .same)
    }

    @Test func acsOnAnEndpointIsTested() {
        var f = Fabric()
        f.hostBridge("0000:00:00.0", device: 0x4641)
        f.rootPort("0000:00:01.0", sec: 1)
        f.endpoint("0000:01:00.0", classCode: 0x0200, multifunction: true, acs: [.requestRedirect])
        f.endpoint("0000:01:00.1", classCode: 0x0200, multifunction: true)
        let v = f.analyzer().verdict(provider: b("0000:01:00.0"), client: b("0000:01:00.1"))
        #expect(v.acsRedirect == [b("0000:01:00.0")] && v.mapType == .notSupported)
        // The client side: tested below the common ancestor too.
        let back = f.analyzer().verdict(provider: b("0000:01:00.1"), client: b("0000:01:00.0"))
        #expect(back.acsRedirect == [b("0000:01:00.0")])
    }

    /// Two root buses (two host bridges), each with an endpoint on a root port.
    static func twoHostBridges(_ v1: UInt16, _ d1: UInt16, _ v2: UInt16, _ d2: UInt16, numa: (Int, Int)? = nil) -> Fabric {
        var f = Fabric()
        f.hostBridge("0000:00:00.0", vendor: v1, device: d1)
        f.rootPort("0000:00:01.0", sec: 1)
        f.endpoint("0000:01:00.0", numa: numa?.0)
        f.hostBridge("0000:80:00.0", vendor: v2, device: d2)
        f.rootPort("0000:80:01.0", sec: 0x81)
        f.endpoint("0000:81:00.0", numa: numa?.1)
        return f
    }

    @Test func sameHostBridgeFlag() {
        let a = Self.twoHostBridges(0x8086, 0x2f00, 0x8086, 0x2f00).analyzer()
        let across = a.verdict(provider: b("0000:01:00.0"), client: b("0000:81:00.0"))
        #expect(across.mapType == .notSupported)
        guard case .needsSameHostBridge? = across.hostBridgeRule else { Issue.record("rule"); return }
        // Within one host bridge the same entry allows it.
        var f = Fabric.switchBox(hostDevice: 0x2f00)
        f.endpoint("0000:05:00.1")
        let within = f.analyzer().verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0"))
        #expect(within.mapType == .thruHostBridge)
    }

    @Test func twoAllowlistedHostBridgesWithoutTheFlag() {
        let a = Self.twoHostBridges(0x8086, 0x09a2, 0x8086, 0x09a2, numa: (0, 1)).analyzer()
        let v = a.verdict(provider: b("0000:01:00.0"), client: b("0000:81:00.0"))
        #expect(v.mapType == .thruHostBridge && v.hostBridges.count == 2 && v.pathClass == .sys)
        let one = Self.twoHostBridges(0x8086, 0x09a2, 0x8086, 0x1234).analyzer()
        #expect(one.verdict(provider: b("0000:01:00.0"), client: b("0000:81:00.0")).mapType == .notSupported)
        let sameNode = Self.twoHostBridges(0x8086, 0x09a2, 0x8086, 0x09a2, numa: (0, 0)).analyzer()
        #expect(sameNode.verdict(provider: b("0000:01:00.0"), client: b("0000:81:00.0")).pathClass == .node)
    }

    @Test(arguments: [(KernelVersion(5, 17), MapType.notSupported), (KernelVersion(5, 18), .thruHostBridge)])
    func allowlistEras(kernel: KernelVersion, expected: MapType) {
        let a = Fabric.switchBox().analyzer(kernel: kernel)
        #expect(a.verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0")).mapType == expected)
    }

    @Test func sandyBridgeEntryArrivesIn54() {
        let f = Fabric.switchBox(hostDevice: 0x3c00)
        #expect(f.analyzer(kernel: KernelVersion(5, 4)).verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0")).mapType == .thruHostBridge)
        #expect(f.analyzer(kernel: KernelVersion(5, 3)).verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0")).mapType == .notSupported)
    }

    @Test func amdCPURule() {
        let f = Fabric.switchBox(hostVendor: 0x1022, hostDevice: 0x1480)
        let p = b("0000:03:00.0"), c = b("0000:05:00.0")
        #expect(f.analyzer(cpu: CPUInfo(vendor: "amd", family: 0x19)).verdict(provider: p, client: c).mapType == .thruHostBridge)
        #expect(f.analyzer(cpu: CPUInfo(vendor: "amd", family: 0x17)).verdict(provider: p, client: c).mapType == .thruHostBridge)
        #expect(f.analyzer(cpu: CPUInfo(vendor: "amd", family: 0x16)).verdict(provider: p, client: c).mapType == .notSupported)
        #expect(f.analyzer(cpu: .unknown).verdict(provider: p, client: c).reason.contains("CPU unknown"))
        // The rule arrived in 5.9.
        #expect(f.analyzer(kernel: KernelVersion(5, 8), cpu: CPUInfo(vendor: "amd", family: 0x19)).verdict(provider: p, client: c).mapType == .notSupported)
    }

    @Test func legacyKernelsRejectInsteadOfRouting() {
        let acs = Fabric.switchBox(dspACS: [.requestRedirect]).analyzer(kernel: KernelVersion(5, 1))
        let v = acs.verdict(provider: b("0000:03:00.0"), client: b("0000:04:00.0"))
        #expect(v.mapType == .notSupported && v.distance == nil && v.kernelDistance == -2)
        let none = Fabric.switchBox().analyzer(kernel: KernelVersion(5, 1)).verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0"))
        #expect(none.mapType == .notSupported && none.distance == nil && none.kernelDistance == -1)
        let ok = Fabric.switchBox().analyzer(kernel: KernelVersion(4, 20)).verdict(provider: b("0000:03:00.0"), client: b("0000:04:00.0"))
        #expect(ok.mapType == .busAddr && ok.distance == 4)
    }

    @Test func zenRootComplexWhitelistIn52() {
        let f = Fabric.switchBox(hostVendor: 0x1022, hostDevice: 0x1450)
        let v = f.analyzer(kernel: KernelVersion(5, 2)).verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0"))
        #expect(v.mapType == .thruHostBridge && v.distance == 0x1000 + 6)
        #expect(f.analyzer(kernel: KernelVersion(5, 1)).verdict(provider: b("0000:03:00.0"), client: b("0000:05:00.0")).mapType == .notSupported)
    }

    @Test func rootPortCountsAsHostBridgeDeviceFrom519() {
        var f = Fabric()   // nothing at 00.0: the first function on the root bus is a root port
        f.rootPort("0000:00:01.0", sec: 1)
        f.endpoint("0000:01:00.0")
        f.rootPort("0000:00:02.0", sec: 2)
        f.endpoint("0000:02:00.0")
        // Make the root ports' IDs an allowlisted pair (Skylake-E root ports, 5.7+).
        f.devices[0].config.bytes[2] = 0x31; f.devices[0].config.bytes[3] = 0x20
        f.devices = f.devices.map { Device(bdf: $0.bdf, config: $0.config) }
        let p = b("0000:01:00.0"), c = b("0000:02:00.0")
        #expect(f.analyzer(kernel: KernelVersion(5, 19)).verdict(provider: p, client: c).mapType == .thruHostBridge)
        #expect(f.analyzer(kernel: KernelVersion(5, 18)).verdict(provider: p, client: c).mapType == .notSupported)
    }

    @Test func pathClassesCountSwitches() {
        var f = Fabric()
        f.hostBridge("0000:00:00.0")
        f.rootPort("0000:00:01.0", sec: 1, sub: 6)
        f.upstream("0000:01:00.0", sec: 2, sub: 6)       // switch 1
        f.downstream("0000:02:00.0", sec: 3)
        f.endpoint("0000:03:00.0")
        f.downstream("0000:02:01.0", sec: 4, sub: 6)
        f.upstream("0000:04:00.0", sec: 5, sub: 6)       // switch 2, below switch 1
        f.downstream("0000:05:00.0", sec: 6)
        f.endpoint("0000:06:00.0")
        f.endpoint("0000:06:00.1")
        let a = f.analyzer()
        let across = a.verdict(provider: b("0000:03:00.0"), client: b("0000:06:00.0"))
        #expect(across.pathClass == .pxb && across.mapType == .busAddr && across.distance == 3 + 3)
        #expect(a.verdict(provider: b("0000:06:00.0"), client: b("0000:06:00.1")).pathClass == .pix)
        #expect(a.verdict(provider: b("0000:06:00.0"), client: b("0000:06:00.0")).pathClass == .same)
    }

    @Test func unknownACSWithoutRootIsReported() {
        var f = Fabric.switchBox()
        // A 64-byte view of the switch port: capabilities unreadable.
        let i = f.devices.firstIndex { $0.bdf == b("0000:02:00.0") }!
        f.devices[i] = Device(bdf: f.devices[i].bdf, config: ConfigSpace(Array(f.devices[i].config.bytes.prefix(64))))
        let v = f.analyzer().verdict(provider: b("0000:03:00.0"), client: b("0000:04:00.0"))
        #expect(v.acsUnknown == [b("0000:02:00.0")] && v.reason.contains("not in "))
    }

    @Test func kernelAndCPUParsing() {
        #expect(KernelVersion(parsing: "6.8.0-45-generic") == KernelVersion(6, 8))
        #expect(KernelVersion(parsing: "5.15") == KernelVersion(5, 15))
        #expect(KernelVersion(parsing: "six") == nil && KernelVersion(parsing: "6") == nil)
        #expect(CPUInfo(parsing: "amd:0x19") == CPUInfo(vendor: "amd", family: 0x19))
        #expect(CPUInfo(parsing: "intel:6") == CPUInfo(vendor: "intel", family: 6))
        #expect(CPUInfo(parsing: "amd") == nil)
    }
}

@Suite struct VirtualFunctionTests {
    /// A NIC PF on 03:00.0 under a switch with two VFs on bus 07, which no bridge's bus range
    /// holds (VFs may sit on buses past the PF's): the kernel's upstream() of a VF is its PF's
    /// upstream bridge, whatever bus the VF is on.
    @Test func vfsHangWherePFHangs() {
        var f = Fabric.switchBox()
        f.endpoint("0000:03:00.0", classCode: 0x0200)
        for fn in ["0000:07:00.2", "0000:07:00.3"] {
            f.endpoint(fn, classCode: 0x0200)
            var facts = SysfsFacts(); facts.physfn = b("0000:03:00.0")
            let last = f.devices.removeLast()
            f.devices.append(Device(bdf: last.bdf, config: last.config, sysfs: facts))
        }
        f.devices.removeAll { $0.bdf == b("0000:03:00.0") && $0.classCode == 0x0108 }
        let a = f.analyzer()
        #expect(f.topology.parent(b("0000:07:00.2")) == nil, "lspci's tree puts them on a root bus")
        let vfToPF = a.verdict(provider: b("0000:07:00.2"), client: b("0000:03:00.0"))
        #expect(vfToPF.distance == 2 && vfToPF.mapType == .busAddr)
        let vfToVF = a.verdict(provider: b("0000:07:00.2"), client: b("0000:07:00.3"))
        #expect(vfToVF.distance == 2 && vfToVF.commonUpstream == b("0000:02:00.0"))
        let vfToPeer = a.verdict(provider: b("0000:07:00.3"), client: b("0000:04:00.0"))
        #expect(vfToPeer.distance == 4 && vfToPeer.mapType == .busAddr)
    }
}

/// The doctor's host rules: kernel config, lockdown, iomem=strict, memlock vs RDMA pinning.
@Suite struct HostFindingTests {
    func doctor() throws -> Doctor {
        let t = Topology(devices: [], host: HostInfo(), source: SourceInfo(kind: .fabric, path: nil))
        return Doctor(analyzer: P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: nil, family: nil)))
    }

    func codes(_ h: HostFacts) throws -> [String] { try doctor().hostFindings(h).map(\.code) }

    @Test func eachRuleFiresOnlyOnItsFact() throws {
        let good = HostFacts(p2pdma: .enabled(evidence: "/boot/config-6.8"), lockdown: "none", memlockSoft: nil, rdmaDevices: ["mlx5_0"])
        #expect(try codes(good).isEmpty)
        var h = good; h.p2pdma = .disabled(file: "/proc/config.gz")
        #expect(try codes(h) == ["p2pdma-config-off"])
        #expect(try doctor().hostFindings(h).first?.severity == .error)
        h = good; h.p2pdma = .unknown(why: "no config")
        #expect(try codes(h) == ["p2pdma-config-unknown"])
        h = good; h.lockdown = "integrity"
        #expect(try codes(h) == ["lockdown"])
        h = good; h.lockdown = nil
        #expect(try codes(h).isEmpty, "unknown lockdown is no finding")
        h = good; h.iomemStrict = true
        #expect(try codes(h) == ["iomem-strict"])
    }

    @Test func memlockMattersOnlyWithRDMAAndWithoutCapIPCLock() throws {
        var h = HostFacts(p2pdma: .enabled(evidence: "x"), memlockSoft: 8 << 20, memlockHard: 8 << 20, capIPCLock: false, rdmaDevices: ["mlx5_0"])
        let f = try doctor().hostFindings(h)
        #expect(f.map(\.code) == ["memlock-low"])
        #expect(f.first?.message.contains("RLIMIT_MEMLOCK is 8 MiB: ibv_reg_mr of a 64 MiB buffer on mlx5_0 fails with ENOMEM") == true)
        h.capIPCLock = true
        #expect(try codes(h).isEmpty)
        h.capIPCLock = false; h.rdmaDevices = []
        #expect(try codes(h).isEmpty)
        h.rdmaDevices = ["mlx5_0"]; h.memlockSoft = 64 << 20
        #expect(try codes(h).isEmpty, "exactly the buffer size is enough")
        #expect(try doctor().hostFindings(h, rdmaPinBytes: 1 << 30).map(\.code) == ["memlock-low"])
    }
}

/// `pci_p2pdma_distance_many` and `pci_p2pmem_find_many` on the demo GPU server.
@Suite struct ProviderChoiceTests {
    func analyzer(_ t: Topology) -> P2PAnalyzer { P2PAnalyzer(topology: t, kernel: .latest, cpu: CPUInfo(vendor: "intel", family: 6)) }

    @Test func closestPublishedPoolServesEveryClient() throws {
        let t = try DemoFabrics.load("icelake-gpu-switch")
        let a = analyzer(t)
        let nic = try t.resolve("nic0").bdf, nvme0 = try t.resolve("nvme0").bdf, nvme1 = try t.resolve("nvme1").bdf, nvme2 = try t.resolve("nvme2").bdf
        let choice = a.p2pmemFindMany(clients: [nic, nvme0])
        let expected = try #require(a.verdict(provider: nvme1, client: nic).distance) + (try #require(a.verdict(provider: nvme1, client: nvme0).distance))
        #expect(choice.closest == [nvme1] && choice.distance == expected, "the sum of the clients' distances")
        #expect(a.distanceMany(provider: nvme1, clients: []).distance == nil, "no clients: -1")
        let refused = a.p2pmemFindMany(clients: [nic, nvme2])
        #expect(refused.closest.isEmpty && refused.distance == nil)
        #expect(refused.considered.first?.refusedBy?.client == nvme2, "one NOT_SUPPORTED pair rules the provider out, and says which")
    }

    @Test func equallyCloseProvidersAreAllCandidates() throws {
        let base = try DemoFabrics.load("icelake-gpu-switch")
        let nvme0 = try base.resolve("nvme0").bdf, nic = try base.resolve("nic0").bdf
        // Publish a second pool on nvme0, beside nvme1's; and an unpublished one, never considered.
        let gpu = try base.resolve("gpu0").bdf
        let devices = base.devices.map { d -> Device in
            var d = d
            if d.bdf == nvme0 { d.sysfs?.p2pmem = P2PMem(size: 64 << 20, available: 64 << 20, published: true) }
            if d.bdf == gpu { d.sysfs?.p2pmem = P2PMem(size: 64 << 20, available: 64 << 20, published: false) }
            return d
        }
        let t = Topology(devices: devices, host: base.host, source: base.source)
        let a = analyzer(t)
        let choice = a.p2pmemFindMany(clients: [nic])
        let nvme1 = try t.resolve("nvme1").bdf
        #expect(Set(choice.considered.map { $0.provider }) == Set([nvme0, nvme1]), "unpublished pools are not offered")
        let d0 = a.verdict(provider: nvme0, client: nic).distance, d1 = a.verdict(provider: nvme1, client: nic).distance
        #expect(d0 == d1, "both pools sit below nic0's switch, equally far")
        #expect(Set(choice.closest) == Set([nvme0, nvme1]) && choice.distance == d0, "equals are all candidates: the kernel picks one at random")
    }
}

/// Resizable BAR below a narrow bridge window: the doctor names the window that stops it.
@Suite struct RebarWindowTests {
    func machine(windowMB: UInt32) -> Topology {
        var f = Fabric()
        f.hostBridge("0000:00:00.0")
        var port = ConfigSpaceBuilder(vendor: 0x8086, device: 0x347a, classCode: 0x0604, header: 1)
        port.buses(primary: 0, secondary: 1, subordinate: 1)
        port.express(type: 4, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16)
        // 64-bit prefetchable window at 0x60_0000_0000 of `windowMB` MiB.
        let limit = 0x60_0000_0000 as UInt64 + UInt64(windowMB) << 20 - 1
        port.w16(0x24, 0x0001); port.w16(0x26, UInt16((limit >> 16) & 0xfff0) | 1)
        port.w32(0x28, 0x60); port.w32(0x2c, UInt32(limit >> 32))
        f.add("0000:00:01.0", port)
        var gpu = ConfigSpaceBuilder(vendor: 0x10de, device: 0x2482, classCode: 0x0300)
        gpu.express(type: 0, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16)
        gpu.ext(at: 0x100, id: 0x15)                                  // ReBAR: 256 MB … 16 GB, now 256 MB
        gpu.w32(0x104, (1 << 12) | (1 << 13) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 18))
        gpu.w32(0x108, 1 << 5 | 8 << 8 | 1)
        f.add("0000:01:00.0", gpu)
        return f.topology
    }

    @Test func theNarrowWindowIsNamed() throws {
        let t = machine(windowMB: 512)
        let rebar = try #require(t.device(BDF("0000:01:00.0")!)?.capabilities.resizableBARs.first)
        #expect(rebar.currentSize == 256 << 20 && rebar.largestSize == 16 << 30)
        let f = try #require(Doctor(analyzer: P2PAnalyzer(topology: t, kernel: .latest, cpu: .unknown)).findings().first { $0.code == "rebar-small" })
        #expect(f.message.contains("forwards only a 512 MiB prefetchable window"), "\(f.message)")
        let wide = machine(windowMB: 32 << 10)
        let g = try #require(Doctor(analyzer: P2PAnalyzer(topology: wide, kernel: .latest, cpu: .unknown)).findings().first { $0.code == "rebar-small" })
        #expect(!g.message.contains("forwards only"), "a 32 GB window leaves room: \(g.message)")
    }
}
