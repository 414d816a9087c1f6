import Testing
@testable import PCITopology

/// Test shorthand: a GPU-like function unless told otherwise.
func ConfigBuilder(size: Int = 4096, vendor: UInt16 = 0x10de, device: UInt16 = 0x2330, classCode: UInt16 = 0x0302,
                   header: UInt8 = 0) -> ConfigSpaceBuilder {
    ConfigSpaceBuilder(size: size, vendor: vendor, device: device, classCode: classCode, header: header)
}

@Suite struct DecodingTests {
    @Test func identityAndMultifunction() {
        var b = ConfigBuilder(header: 0x80)
        b.bytes[0x08] = 0xa1; b.bytes[0x09] = 0x02
        let d = Device(bdf: BDF(bus: 0x17, device: 0, function: 0), config: b.config)
        #expect(d.vendorID == 0x10de && d.deviceID == 0x2330 && d.classCode == 0x0302)
        #expect(d.revision == 0xa1 && d.progIf == 0x02 && d.isMultiFunction && d.headerType == 0)
    }

    @Test func sixtyFourBitPrefetchableBARAndUpperSlot() {
        var b = ConfigBuilder()
        b.w32(0x10, 0x0000_000c); b.w32(0x14, 0x0000_0060)
        let d = Device(bdf: BDF(bus: 1, device: 0, function: 0), config: b.config)
        #expect(d.bars.count == 2)
        #expect(d.bars[0].address == 0x60_0000_0000 && d.bars[0].is64Bit && d.bars[0].prefetchable)
        #expect(d.bars[0].size == nil, "a dump does not know sizes")
        #expect(d.bars[1].upperHalfOf == 0 && d.bars[1].address == nil)
    }

    @Test func osResourcesGiveSizesAndTypes() {
        var b = ConfigBuilder()
        b.w32(0x10, 0xfb00_0000)
        var facts = SysfsFacts()
        facts.resources = [OSResource(base: 0xfb00_0000, size: 16 << 20, flags: 0x40200),
                           OSResource(base: 0x1f0, size: 8, flags: 0x110)] + Array(repeating: OSResource(base: 0, size: 0), count: 4)
        let d = Device(bdf: BDF(bus: 0, device: 1, function: 1), config: b.config, sysfs: facts)
        #expect(d.bars.map(\.size) == [16 << 20, 8])
        #expect(d.bars[1].space == .io && !d.bars[1].isVirtual, "IORESOURCE_IO makes a legacy port region I/O")
    }

    @Test func disabledWhenCommandBitClear() {
        var b = ConfigBuilder()
        b.w16(4, 0)
        b.w32(0x10, 0xfb00_0000)
        #expect(Device(bdf: BDF(bus: 0, device: 2, function: 0), config: b.config).bars[0].disabled)
    }

    @Test func linkCapabilityStatusAndDowngrade() {
        var b = ConfigBuilder()
        b.express(at: 0x40, type: 0, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 8)
        let d = Device(bdf: BDF(bus: 1, device: 0, function: 0), config: b.config)
        let link = try! #require(d.link)
        #expect(link.capability.text == "16GT/s x16" && link.status?.text == "16GT/s x8")
        #expect(link.isDowngraded)
        #expect(d.express?.portType == .endpoint)
    }

    @Test func rootPortsAreNeverMarkedDowngraded() {
        var b = ConfigBuilder(classCode: 0x0604, header: 1)
        b.express(at: 0x40, type: 4, capSpeed: 3, capWidth: 16, staSpeed: 1, staWidth: 1)
        let d = Device(bdf: BDF(bus: 0, device: 1, function: 0), config: b.config)
        #expect(d.link?.isDowngraded == false)
    }

    @Test func capabilityLoopIsReportedNotFollowed() {
        var b = ConfigBuilder()
        b.cap(at: 0x40, id: 0x01, next: 0x50)
        b.cap(at: 0x50, id: 0x05, next: 0x40)
        let caps = Device(bdf: BDF(bus: 0, device: 0, function: 0), config: b.config).capabilities
        #expect(caps.standard.map(\.offset) == [0x40, 0x50])
        #expect(caps.anomalies.contains { $0.contains("loops") })
    }

    @Test func extendedLoopAndPointerOutsideConfigSpace() {
        var b = ConfigBuilder()
        b.express(at: 0x40, type: 0, capSpeed: 3, capWidth: 4, staSpeed: 3, staWidth: 4)
        b.ext(at: 0x100, id: 0x0d, next: 0x140)
        b.w16(0x104, 0x1f); b.w16(0x106, 0x0c)
        b.ext(at: 0x140, id: 0x01, next: 0x100)
        let caps = Device(bdf: BDF(bus: 0, device: 0, function: 0), config: b.config).capabilities
        #expect(caps.extended.map(\.id) == [0x0d, 0x01])
        #expect(caps.anomalies.contains { $0.contains("loops") })
        #expect(caps.acs?.capability.names == ["SrcValid", "TransBlk", "ReqRedir", "CmpltRedir", "UpstreamFwd"])
        #expect(caps.acs?.control == [.requestRedirect, .completionRedirect])
        #expect(caps.hasExtended(.aer) && !caps.hasExtended(.dpc))

        var c = ConfigBuilder(size: 128)
        c.cap(at: 0x40, id: 0x01, next: 0xf0)
        let short = Device(bdf: BDF(bus: 0, device: 0, function: 0), config: c.config).capabilities
        #expect(short.anomalies.contains { $0.contains("outside") })
    }

    @Test func headerOnlyConfigMeansCapabilitiesUnknown() {
        var b = ConfigBuilder(size: 64)
        b.bytes[6] |= 0x10
        let caps = Device(bdf: BDF(bus: 0, device: 0, function: 0), config: b.config).capabilities
        #expect(caps.coverage == .unreadable)
        var c = ConfigBuilder(size: 256)
        c.express(at: 0x40, type: 0, capSpeed: 3, capWidth: 4, staSpeed: 3, staWidth: 4)
        #expect(Device(bdf: BDF(bus: 0, device: 0, function: 0), config: c.config).capabilities.coverage == .standardOnly)
    }

    @Test func resizableBARSizes() {
        var b = ConfigBuilder()
        b.express(at: 0x40, type: 0, capSpeed: 4, capWidth: 16, staSpeed: 4, staWidth: 16)
        b.ext(at: 0x100, id: 0x15, next: 0)
        b.w32(0x104, 0x0000_3ff0)           // 1 MB … 512 MB
        b.w32(0x108, 1 << 5 | 8 << 8 | 0)   // one BAR, BAR 0, current 256 MB
        let r = try! #require(Device(bdf: BDF(bus: 1, device: 0, function: 0), config: b.config).capabilities.resizableBARs.first)
        #expect(r.barIndex == 0 && r.currentSize == 256 << 20)
        #expect(r.supportedSizes.first == 1 << 20 && r.largestSize == 512 << 20)
    }

    @Test func sriovCountsAndVFBARs() {
        var b = ConfigBuilder(classCode: 0x0200)
        b.express(at: 0x40, type: 0, capSpeed: 3, capWidth: 8, staSpeed: 3, staWidth: 8)
        b.ext(at: 0x100, id: 0x01)
        b.ext(at: 0x160, id: 0x10)
        b.w16(0x168, 0x0009); b.w16(0x16c, 8); b.w16(0x16e, 64); b.w16(0x170, 4); b.w16(0x17a, 0x1018)
        b.w32(0x184, 0xe000_000c); b.w32(0x188, 0x1)
        let s = try! #require(Device(bdf: BDF(bus: 3, device: 0, function: 0), config: b.config).capabilities.sriov)
        #expect(s.totalVFs == 64 && s.numVFs == 4 && s.initialVFs == 8 && s.enabled && s.vfDeviceID == 0x1018)
        #expect(s.vfBARs.first?.address == 0x1_e000_0000 && s.vfBARs.first?.is64Bit == true)
    }
}

@Suite struct BDFAndSelectorTests {
    @Test func parsesAndPrints() {
        #expect(BDF("0000:3b:00.1")?.description == "0000:3b:00.1")
        #expect(BDF("3b:1f.7") == BDF(domain: 0, bus: 0x3b, device: 0x1f, function: 7))
        #expect(BDF("10000:00:04.0")?.domain == 0x10000)
        for bad in ["3b:20.0", "3b:00.8", "zz:00.0", "3b00.0", ""] { #expect(BDF(bad) == nil, "\(bad)") }
    }

    @Test func slotAndIDFilters() throws {
        let f = try SlotFilter(parsing: "3b:")
        #expect(f.matches(BDF(bus: 0x3b, device: 2, function: 0)) && !f.matches(BDF(bus: 0x3c, device: 0, function: 0)))
        let g = try SlotFilter(parsing: "1:*:.1")
        #expect(g.matches(BDF(domain: 1, bus: 9, device: 3, function: 1)) && !g.matches(BDF(domain: 0, bus: 9, device: 3, function: 1)))
        #expect(throws: SelectorError.self) { try SlotFilter(parsing: "3b:40.0") }
        #expect(throws: SelectorError.self) { try IDFilter(parsing: "10de") }
        let id = try IDFilter(parsing: "10de::0302")
        var b = ConfigBuilder()
        #expect(id.matches(Device(bdf: BDF(bus: 1, device: 0, function: 0), config: b.config)))
        b.w16(0x0a, 0x0300)
        #expect(!id.matches(Device(bdf: BDF(bus: 1, device: 0, function: 0), config: b.config)))
    }
}
