import PCITopology

/// Builds a demo machine function by function: real config-space bytes (decoded like a dump's)
/// plus the sysfs facts a live machine would show (BAR sizes, driver, NUMA, IOMMU group,
/// link attributes, p2pmem). Addresses are assigned from per-host-bridge windows.
struct FabricBuilder {
    private(set) var devices: [Device] = []
    private var nextMMIO: [UInt32: UInt64] = [:]   // per root bus: next 64-bit prefetchable address
    private var nextMMIO32: UInt64 = 0x9000_0000    // the machine's 32-bit MMIO hole, below 4 GiB
    private var nextGroup = 1
    var iommuType = "identity"

    enum Gen: UInt8 { case g1 = 1, g2, g3, g4, g5 }

    /// The function the kernel inspects on a root bus (`pci_host_bridge_dev`).
    mutating func hostBridge(_ bdf: String, vendor: UInt16, device: UInt16, numa: Int, mmioBase: UInt64) {
        let b = BDF(bdf)!
        nextMMIO[b.domain << 8 | UInt32(b.bus)] = mmioBase
        var c = ConfigSpaceBuilder(size: 4096, vendor: vendor, device: device, classCode: 0x0600)
        c.bytes[6] = 0x10
        c.express(type: 9, capSpeed: 0, capWidth: 0, staSpeed: 0, staWidth: 0)
        add(b, c, driver: nil, numa: numa, bars: [])
    }

    /// A Root Port (type 4), switch upstream (5) or downstream (6) port.
    mutating func port(_ bdf: String, type: UInt8, vendor: UInt16, device: UInt16, sec: UInt8, sub: UInt8,
                       gen: Gen, width: UInt32, trainedWidth: UInt16? = nil, acs: ACSBits? = nil, numa: Int) {
        let b = BDF(bdf)!
        var c = ConfigSpaceBuilder(size: 4096, vendor: vendor, device: device, classCode: 0x0604, header: 1)
        c.buses(primary: b.bus, secondary: sec, subordinate: sub)
        c.express(type: type, capSpeed: gen.rawValue, capWidth: width, staSpeed: gen.rawValue, staWidth: trainedWidth ?? UInt16(width))
        if let acs {
            c.acs(capability: [.sourceValidation, .translationBlocking, .requestRedirect, .completionRedirect, .upstreamForwarding, .egressControl, .directTranslatedP2P],
                  control: acs)
        }
        add(b, c, driver: "pcieport", numa: numa, bars: [])
    }

    /// An endpoint with BARs of the given sizes (index → (size, prefetchable)): 64-bit where the
    /// next slot is free for the upper half, else 32-bit below 4 GiB (an A100's BAR 0).
    mutating func endpoint(_ bdf: String, vendor: UInt16, device: UInt16, classCode: UInt16, progIf: UInt8 = 0,
                           subsystem: (UInt16, UInt16)? = nil, gen: Gen, width: UInt32, trainedGen: Gen? = nil,
                           bars: [(index: Int, size: UInt64, prefetchable: Bool)], driver: String, numa: Int,
                           rebar: (bar: Int, sizes: [UInt64])? = nil, p2pmem: (bar: Int, published: Bool)? = nil,
                           multifunction: Bool = false) {
        let b = BDF(bdf)!
        var c = ConfigSpaceBuilder(size: 4096, vendor: vendor, device: device, classCode: classCode, header: multifunction ? 0x80 : 0)
        c.bytes[9] = progIf
        c.bytes[8] = 0x01
        if let s = subsystem { c.w16(0x2c, s.0); c.w16(0x2e, s.1) }
        c.express(type: 0, capSpeed: gen.rawValue, capWidth: width, staSpeed: (trainedGen ?? gen).rawValue, staWidth: UInt16(width))
        c.ext(at: 0x100, id: 0x01)   // AER
        var resources = [OSResource](repeating: OSResource(base: 0, size: 0), count: 6)
        let key = b.domain << 8 | UInt32(rootBus(of: b))
        // Each function starts on a 1 MiB boundary, the granularity of a bridge's windows, so the
        // windows of sibling ports never overlap (as the kernel's resource assignment keeps them).
        nextMMIO32 = (nextMMIO32 + 0xfffff) & ~0xfffff
        if let next = nextMMIO[key] { nextMMIO[key] = (next + 0xfffff) & ~0xfffff }
        for bar in bars {
            let is64 = bar.index < 5 && !bars.contains { $0.index == bar.index + 1 }
            // Non-prefetchable memory must sit in a bridge's 32-bit memory window: below 4 GiB
            // even when the BAR is 64-bit (an NVMe's BAR 0), as Linux places it.
            if is64 && !bar.prefetchable {
                let base = (nextMMIO32 + bar.size - 1) / bar.size * bar.size
                nextMMIO32 = base + bar.size
                c.bar64(bar.index, address: base, prefetchable: false)
                resources[bar.index] = OSResource(base: base | 0x4, size: bar.size, flags: 0x0014_0200)
                continue
            }
            if !is64 {
                let base = (nextMMIO32 + bar.size - 1) / bar.size * bar.size
                nextMMIO32 = base + bar.size
                c.bar32(bar.index, address: UInt32(base), prefetchable: bar.prefetchable)
                resources[bar.index] = OSResource(base: base | (bar.prefetchable ? 0x8 : 0), size: bar.size,
                                                  flags: 0x0004_0200 | (bar.prefetchable ? 0x2000 : 0))
                continue
            }
            var base = nextMMIO[key] ?? 0x3800_0000_0000
            base = (base + bar.size - 1) / bar.size * bar.size   // natural alignment
            nextMMIO[key] = base + bar.size
            c.bar64(bar.index, address: base, prefetchable: bar.prefetchable)
            resources[bar.index] = OSResource(base: base | (bar.prefetchable ? 0xc : 0x4), size: bar.size,
                                              flags: 0x0014_0200 | (bar.prefetchable ? 0x2000 : 0))
        }
        if let r = rebar {
            c.ext(at: 0x200, id: 0x15)
            var capBits: UInt32 = 0
            for s in r.sizes { capBits |= 1 << UInt32(log2(s) - 16) }
            c.w32(0x204, capBits)
            let current = bars.first { $0.index == r.bar }?.size ?? r.sizes.last!
            c.w32(0x208, 1 << 5 | UInt32(log2(current) - 20) << 8 | UInt32(r.bar))
        }
        var facts = sysfsFacts(b, driver: driver, numa: numa, resources: resources, gen: trainedGen ?? gen, width: Int(width), capGen: gen)
        if let p = p2pmem, let bar = bars.first(where: { $0.index == p.bar }) {
            facts.p2pmem = P2PMem(size: bar.size, available: bar.size, published: p.published)
        }
        facts.resourceFiles = bars.map(\.index)
        facts.resourceWCFiles = bars.filter(\.prefetchable).map(\.index)
        devices.append(Device(bdf: b, config: c.config, sysfs: facts))
    }

    private func rootBus(of b: BDF) -> UInt8 {
        var bus = b.bus
        // Walk up through the bridges added so far (they come before their children).
        var guardCount = 0
        while let parent = devices.first(where: { $0.bdf.domain == b.domain && $0.bridge?.secondary == bus }), guardCount < 16 {
            bus = parent.bdf.bus
            guardCount += 1
        }
        return bus
    }

    private func log2(_ v: UInt64) -> Int { 63 - v.leadingZeroBitCount }

    private mutating func add(_ b: BDF, _ c: ConfigSpaceBuilder, driver: String?, numa: Int, bars: [Int]) {
        let link = c.config.u32(0x4c).map { Int(($0 >> 4) & 0x3f) } ?? 0
        var facts = sysfsFacts(b, driver: driver, numa: numa, resources: [OSResource](repeating: OSResource(base: 0, size: 0), count: 6),
                               gen: nil, width: link, capGen: nil)
        if c.bytes[0x0e] & 0x7f == 1, let g = c.config.u16(0x52) {
            facts.currentLinkSpeed = LinkSpeed(code: UInt8(g & 0xf)).sysfsText
            facts.maxLinkSpeed = facts.currentLinkSpeed
        }
        devices.append(Device(bdf: b, config: c.config, sysfs: facts))
    }

    private mutating func sysfsFacts(_ b: BDF, driver: String?, numa: Int, resources: [OSResource], gen: Gen?, width: Int, capGen: Gen?) -> SysfsFacts {
        var f = SysfsFacts()
        f.driver = driver
        f.numaNode = numa
        f.iommuGroup = nextGroup
        f.iommuType = iommuType
        nextGroup += 1
        f.resources = resources
        if let gen { f.currentLinkSpeed = LinkSpeed(code: gen.rawValue).sysfsText; f.currentLinkWidth = width }
        if let capGen { f.maxLinkSpeed = LinkSpeed(code: capGen.rawValue).sysfsText; f.maxLinkWidth = width }
        return f
    }

    func topology(name: String, kernel: String, cpuVendor: String, cpuFamily: Int) -> Topology {
        Topology(devices: withWindows(devices), host: HostInfo(kernelRelease: kernel, cpuVendor: cpuVendor, cpuFamily: cpuFamily, hostname: name),
                 source: SourceInfo(kind: .fabric, path: name, privileged: true))
    }
}

extension LinkSpeed {
    /// `16.0 GT/s PCIe`, as sysfs writes `current_link_speed`.
    var sysfsText: String {
        guard let g = gts else { return "Unknown" }
        return (g == g.rounded() ? "\(Int(g)).0" : "\(g)") + " GT/s PCIe"
    }
}

extension FabricBuilder {
    /// Each bridge's memory and prefetchable windows, as the kernel's assignment leaves them:
    /// the smallest 1 MiB-aligned ranges holding every BAR below it — prefetchable BARs above
    /// 4 GiB in the 64-bit prefetchable window, the rest in the memory window; a bridge with
    /// nothing below forwards nothing (base above limit, lspci's "[disabled]").
    func withWindows(_ devices: [Device]) -> [Device] {
        devices.map { d in
            guard let br = d.bridge, d.headerType & 0x7f == 1, d.config.count >= 0x30 else { return d }
            var mem: (lo: UInt64, hi: UInt64)?, pref: (lo: UInt64, hi: UInt64)?
            for e in devices where e.bridge == nil && e.bdf.domain == d.bdf.domain && e.bdf.bus >= br.secondary && e.bdf.bus <= br.subordinate {
                for bar in e.bars where bar.space == .memory {
                    guard let a = bar.address, let size = bar.size, size > 0 else { continue }
                    let end = a + size - 1
                    if bar.prefetchable && a >= 1 << 32 { pref = (min(pref?.lo ?? a, a), max(pref?.hi ?? end, end)) }
                    else { mem = (min(mem?.lo ?? a, a), max(mem?.hi ?? end, end)) }
                }
            }
            var c = ConfigSpaceBuilder(bytes: d.config.bytes)
            if let m = mem {
                c.w16(0x20, UInt16((m.lo >> 16) & 0xfff0)); c.w16(0x22, UInt16((m.hi >> 16) & 0xfff0))
            } else {
                c.w16(0x20, 0xfff0); c.w16(0x22, 0)
            }
            if let p = pref {
                c.w16(0x24, UInt16((p.lo >> 16) & 0xfff0) | 1); c.w16(0x26, UInt16((p.hi >> 16) & 0xfff0) | 1)
                c.w32(0x28, UInt32(p.lo >> 32)); c.w32(0x2c, UInt32(p.hi >> 32))
            } else {
                c.w16(0x24, 0xfff1); c.w16(0x26, 1); c.w32(0x28, 0); c.w32(0x2c, 0)
            }
            return Device(bdf: d.bdf, config: c.config, sysfs: d.sysfs)
        }
    }
}
