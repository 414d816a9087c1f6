import Testing
@testable import PCITopology

/// A small machine: root port → switch (upstream + two downstream) → GPU and NVMe; NIC on
/// another root port.
func sampleTopology() -> Topology {
    func bridge(_ bdf: BDF, type: UInt8, sec: UInt8, sub: UInt8) -> Device {
        var b = ConfigBuilder(vendor: 0x10b5, device: 0x9797, classCode: 0x0604, header: 1)
        b.bytes[0x18] = bdf.bus; b.bytes[0x19] = sec; b.bytes[0x1a] = sub
        b.express(at: 0x40, type: type, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16)
        return Device(bdf: bdf, config: b.config)
    }
    func endpoint(_ bdf: BDF, classCode: UInt16, progIf: UInt8 = 0) -> Device {
        var b = ConfigBuilder(classCode: classCode)
        b.bytes[0x09] = progIf
        b.express(at: 0x40, type: 0, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16)
        return Device(bdf: bdf, config: b.config)
    }
    var host = ConfigBuilder(vendor: 0x8086, device: 0x09a2, classCode: 0x0600)
    host.bytes[6] = 0
    return Topology(devices: [
        endpoint(BDF(bus: 0x05, device: 0, function: 0), classCode: 0x0108, progIf: 2),
        Device(bdf: BDF(bus: 0, device: 0, function: 0), config: host.config),
        bridge(BDF(bus: 0, device: 1, function: 0), type: 4, sec: 1, sub: 5),
        bridge(BDF(bus: 1, device: 0, function: 0), type: 5, sec: 2, sub: 5),
        bridge(BDF(bus: 2, device: 0, function: 0), type: 6, sec: 3, sub: 3),
        bridge(BDF(bus: 2, device: 1, function: 0), type: 6, sec: 5, sub: 5),
        endpoint(BDF(bus: 3, device: 0, function: 0), classCode: 0x0302),
        bridge(BDF(bus: 0, device: 2, function: 0), type: 4, sec: 6, sub: 6),
        endpoint(BDF(bus: 6, device: 0, function: 0), classCode: 0x0207),
    ], source: SourceInfo(kind: .dump))
}

@Suite struct TopologyTests {
    @Test func parentsFollowBridgeBusRanges() {
        let t = sampleTopology()
        #expect(t.parent(BDF(bus: 3, device: 0, function: 0)) == BDF(bus: 2, device: 0, function: 0))
        #expect(t.parent(BDF(bus: 5, device: 0, function: 0)) == BDF(bus: 2, device: 1, function: 0))
        #expect(t.parent(BDF(bus: 1, device: 0, function: 0)) == BDF(bus: 0, device: 1, function: 0))
        #expect(t.parent(BDF(bus: 0, device: 1, function: 0)) == nil)
        #expect(t.upstreamPath(BDF(bus: 3, device: 0, function: 0)).map(\.short) == ["02:00.0", "01:00.0", "00:01.0"])
    }

    @Test func kindsAndAliasesInBDFOrder() {
        let t = sampleTopology()
        #expect(t.alias(BDF(bus: 3, device: 0, function: 0)) == "gpu0")
        #expect(t.alias(BDF(bus: 5, device: 0, function: 0)) == "nvme0")
        #expect(t.alias(BDF(bus: 6, device: 0, function: 0)) == "nic0")
        #expect(t.alias(BDF(bus: 1, device: 0, function: 0)) == "sw0")
        #expect(t.alias(BDF(bus: 0, device: 2, function: 0)) == "rp1")
        #expect(t.kind(BDF(bus: 0, device: 0, function: 0)) == .hostBridge)
        #expect(t.kind(BDF(bus: 2, device: 1, function: 0)) == .switchDownstream)
    }

    @Test func resolveAcceptsAliasesBDFsAndSelectors() throws {
        let t = sampleTopology()
        #expect(try t.resolve("GPU0").bdf == BDF(bus: 3, device: 0, function: 0))
        #expect(try t.resolve("0000:05:00.0").bdf.bus == 5)
        #expect(try t.resolve("06:00.0").bdf.bus == 6)
        #expect(try t.resolve("6:").bdf.bus == 6)
        #expect(throws: SelectorError.self) { try t.resolve("gpu7") }
        #expect(throws: SelectorError.self) { try t.resolve("00:") }  // several match
    }

    @Test func treeMatchesLspciDrawing() {
        let t = sampleTopology()
        let tree = TreeRenderer(topology: t) { _ in nil }.render()
        #expect(tree == """
            -[0000:00]-+-00.0
                       +-01.0-[01-05]----00.0-[02-05]--+-00.0-[03]----00.0
                       |                               \\-01.0-[05]----00.0
                       \\-02.0-[06]----00.0

            """)
    }

    @Test func bridgeLoopIsBrokenAndReported() {
        func bridge(_ bus: UInt8, sec: UInt8) -> Device {
            var b = ConfigBuilder(classCode: 0x0604, header: 1)
            b.bytes[0x18] = bus; b.bytes[0x19] = sec; b.bytes[0x1a] = sec
            return Device(bdf: BDF(bus: bus, device: 0, function: 0), config: b.config)
        }
        let t = Topology(devices: [bridge(2, sec: 3), bridge(3, sec: 2)], source: SourceInfo(kind: .dump))
        #expect(!t.anomalies.isEmpty)
        #expect(t.upstreamPath(BDF(bus: 2, device: 0, function: 0)).count < 2)
        _ = TreeRenderer(topology: t) { _ in nil }.render()  // terminates
    }
}

@Suite struct SysfsLinkTests {
    func device(_ facts: SysfsFacts) -> Device {
        var b = ConfigBuilder(size: 64)
        b.bytes[6] |= 0x10   // has capabilities, but they are past the readable 64 bytes
        return Device(bdf: BDF(bus: 1, device: 0, function: 0), config: b.config, sysfs: facts)
    }

    @Test func unprivilegedLiveReadsTheLinkFromSysfs() throws {
        var f = SysfsFacts()
        f.maxLinkSpeed = "16.0 GT/s PCIe"; f.maxLinkWidth = 16
        f.currentLinkSpeed = "2.5 GT/s PCIe"; f.currentLinkWidth = 16
        let live = Topology(devices: [device(f)], source: SourceInfo(kind: .live, privileged: false))
        let known = try #require(live.link(of: live.devices[0]))
        #expect(known.source == "sysfs" && known.link.capability.text == "16GT/s x16" && known.link.status?.text == "2.5GT/s x16")
        #expect(known.link.isDowngraded)
        // A captured tree or a root-read machine reports config space only, like lspci.
        let captured = Topology(devices: [device(f)], source: SourceInfo(kind: .sysfsRoot))
        #expect(captured.link(of: captured.devices[0]) == nil)
        f.maxLinkSpeed = "Unknown"
        let unknown = Topology(devices: [device(f)], source: SourceInfo(kind: .live, privileged: false))
        #expect(unknown.link(of: unknown.devices[0]) == nil)
    }
}
