/// The PCI Express capability: port type, link capability/status, slot.
public struct PCIExpress: Hashable, Sendable {
    public var offset: Int
    public var version: UInt8
    public var portType: PortType
    public var slotImplemented: Bool
    /// nil for port types without a link (RC integrated endpoints, event collectors).
    public var link: Link?
    /// Physical slot number from SltCap, when a slot is implemented.
    public var physicalSlot: UInt32?
    /// DevCap Max_Payload_Size Supported, in bytes (128 … 4096).
    public var maxPayloadSupported: Int?
    /// DevCtl Max_Payload_Size (the largest TLP payload this function sends or accepts) and
    /// Max_Read_Request_Size (the largest read it asks for), in bytes, as lspci's
    /// `MaxPayload 256 bytes, MaxReadReq 512 bytes`; nil when config space stops before DevCtl.
    public var maxPayload: Int?
    public var maxReadRequest: Int?
}

/// Device/Port Type field of the PCI Express Capabilities register.
public enum PortType: Hashable, Sendable {
    case endpoint, legacyEndpoint, rootPort, upstreamPort, downstreamPort
    case pcieToPCIBridge, pciToPCIeBridge, rootComplexIntegratedEndpoint, rootComplexEventCollector
    case unknown(UInt8)

    public init(code: UInt8) {
        switch code {
        case 0x0: self = .endpoint
        case 0x1: self = .legacyEndpoint
        case 0x4: self = .rootPort
        case 0x5: self = .upstreamPort
        case 0x6: self = .downstreamPort
        case 0x7: self = .pcieToPCIBridge
        case 0x8: self = .pciToPCIeBridge
        case 0x9: self = .rootComplexIntegratedEndpoint
        case 0xa: self = .rootComplexEventCollector
        default: self = .unknown(code)
        }
    }

    /// lspci's wording (`Express (v2) Root Port`).
    public var lspciName: String {
        switch self {
        case .endpoint: return "Endpoint"
        case .legacyEndpoint: return "Legacy Endpoint"
        case .rootPort: return "Root Port"
        case .upstreamPort: return "Upstream Port"
        case .downstreamPort: return "Downstream Port"
        case .pcieToPCIBridge: return "PCI-Express to PCI/PCI-X Bridge"
        case .pciToPCIeBridge: return "PCI/PCI-X to PCI-Express Bridge"
        case .rootComplexIntegratedEndpoint: return "Root Complex Integrated Endpoint"
        case .rootComplexEventCollector: return "Root Complex Event Collector"
        case .unknown(let code): return "Unknown type \(code)"
        }
    }

    /// Short machine name used in JSON.
    public var key: String {
        switch self {
        case .endpoint: return "endpoint"
        case .legacyEndpoint: return "legacy_endpoint"
        case .rootPort: return "root_port"
        case .upstreamPort: return "upstream_port"
        case .downstreamPort: return "downstream_port"
        case .pcieToPCIBridge: return "pcie_to_pci_bridge"
        case .pciToPCIeBridge: return "pci_to_pcie_bridge"
        case .rootComplexIntegratedEndpoint: return "rc_integrated_endpoint"
        case .rootComplexEventCollector: return "rc_event_collector"
        case .unknown(let code): return "unknown_\(code)"
        }
    }

    var hasLink: Bool {
        switch self {
        case .rootComplexIntegratedEndpoint, .rootComplexEventCollector: return false
        default: return true
        }
    }
}

/// Link speed as the 4-bit encoding of LnkCap/LnkSta (1 = 2.5 GT/s … 6 = 64 GT/s).
public struct LinkSpeed: Hashable, Sendable, Comparable {
    public var code: UInt8
    public init(code: UInt8) { self.code = code }

    public init?(gts: Double) {
        guard let i = LinkSpeed.table.firstIndex(of: gts) else { return nil }
        self.code = UInt8(i + 1)
    }

    static let table: [Double] = [2.5, 5, 8, 16, 32, 64]

    /// GT/s, or nil for codes the spec does not define (lspci: "unknown").
    public var gts: Double? {
        code >= 1 && Int(code) <= LinkSpeed.table.count ? LinkSpeed.table[Int(code) - 1] : nil
    }

    /// `8GT/s`, `2.5GT/s`, or `unknown`, as lspci prints it.
    public var text: String {
        guard let g = gts else { return "unknown" }
        return g == g.rounded() ? "\(Int(g))GT/s" : "\(g)GT/s"
    }

    /// Usable bandwidth of one lane in bytes per second after line encoding
    /// (8b/10b up to 5 GT/s, 128b/130b from 8 GT/s; 64 GT/s FLIT mode counted as 242/256).
    public var bytesPerSecondPerLane: Double? {
        guard let g = gts else { return nil }
        let efficiency: Double = g <= 5 ? 0.8 : (g >= 64 ? 242.0 / 256.0 : 128.0 / 130.0)
        return g * 1e9 * efficiency / 8
    }

    public static func < (a: LinkSpeed, b: LinkSpeed) -> Bool { a.code < b.code }
}

public struct LinkState: Hashable, Sendable {
    public var speed: LinkSpeed
    public var width: Int

    public init(speed: LinkSpeed, width: Int) { self.speed = speed; self.width = width }

    /// `16GT/s x16`.
    public var text: String { "\(speed.text) x\(width)" }

    public var bytesPerSecond: Double? { speed.bytesPerSecondPerLane.map { $0 * Double(width) } }
}

/// LnkCap (what the port can do), LnkSta (what it trained to), LnkCap2 supported speeds.
public struct Link: Hashable, Sendable {
    public var capability: LinkState
    public var status: LinkState?
    public var portNumber: UInt8
    /// Supported speeds vector of LnkCap2 (bit 0 = 2.5 GT/s), when the capability has it.
    public var supportedSpeeds: [LinkSpeed]?

    /// Root ports, switch downstream ports and PCIe-to-PCI bridges face downstream: their
    /// capability is their own, the partner may be narrower, so lspci never marks them.
    public var facesDownstream: Bool

    /// Trained below capability in speed or width (lspci's "(downgraded)"); only judged on
    /// upstream-facing ends, like lspci.
    public var isDowngraded: Bool {
        guard let s = status, !facesDownstream else { return false }
        return s.speed < capability.speed || s.width < capability.width
    }

    /// Data link down: status width 0 (an empty slot behind a root port).
    public var isDown: Bool { status.map { $0.width == 0 } ?? false }
}

enum ExpressDecoder {
    static func decode(_ c: ConfigSpace, at offset: Int) -> PCIExpress? {
        guard let flags = c.u16(offset + 2) else { return nil }
        let version = UInt8(flags & 0xf)
        let type = PortType(code: UInt8((flags >> 4) & 0xf))
        let slot = flags & 0x100 != 0
        var link: Link?
        if type.hasLink, let lnkcap = c.u32(offset + 0x0c) {
            let cap = LinkState(speed: LinkSpeed(code: UInt8(lnkcap & 0xf)), width: Int((lnkcap >> 4) & 0x3f))
            let status = c.u16(offset + 0x12).map {
                LinkState(speed: LinkSpeed(code: UInt8($0 & 0xf)), width: Int(($0 >> 4) & 0x3f))
            }
            var supported: [LinkSpeed]?
            if version >= 2, let lnkcap2 = c.u32(offset + 0x2c), lnkcap2 & 0xfe != 0 {
                supported = (1...7).compactMap { bit in lnkcap2 & (1 << UInt32(bit)) != 0 ? LinkSpeed(code: UInt8(bit)) : nil }
            }
            let downstream: Bool
            switch type {
            case .rootPort, .downstreamPort, .pcieToPCIBridge: downstream = true
            default: downstream = false
            }
            link = Link(capability: cap, status: status, portNumber: UInt8(lnkcap >> 24),
                        supportedSpeeds: supported, facesDownstream: downstream)
        }
        var physicalSlot: UInt32?
        if slot, let sltcap = c.u32(offset + 0x14) { physicalSlot = sltcap >> 19 }
        var e = PCIExpress(offset: offset, version: version, portType: type, slotImplemented: slot,
                           link: link, physicalSlot: physicalSlot)
        // The 3-bit size codes: 0 = 128 bytes … 5 = 4096; 6 and 7 are reserved.
        func size(_ code: UInt32) -> Int? { code <= 5 ? 128 << Int(code) : nil }
        if let devcap = c.u32(offset + 0x04) { e.maxPayloadSupported = size(devcap & 0x7) }
        if let devctl = c.u16(offset + 0x08) {
            e.maxPayload = size(UInt32(devctl >> 5) & 0x7)
            e.maxReadRequest = size(UInt32(devctl >> 12) & 0x7)
        }
        return e
    }
}

extension SysfsFacts {
    /// `16.0 GT/s PCIe`, `8 GT/s`, `2.5 GT/s PCIe` → the speed; `Unknown` or junk → nil.
    static func parseSpeed(_ text: String?) -> LinkSpeed? {
        guard let text, let number = text.split(separator: " ").first, let gts = Double(number) else { return nil }
        return LinkSpeed(gts: gts)
    }

    /// The link as the kernel's `max_link_*` / `current_link_*` attributes tell it: readable
    /// without root, so the link is known even when config space past 64 bytes is not.
    public var link: Link? {
        guard let capSpeed = SysfsFacts.parseSpeed(maxLinkSpeed), let capWidth = maxLinkWidth else { return nil }
        let status = SysfsFacts.parseSpeed(currentLinkSpeed).flatMap { s in currentLinkWidth.map { LinkState(speed: s, width: $0) } }
        return Link(capability: LinkState(speed: capSpeed, width: capWidth), status: status, portNumber: 0,
                    supportedSpeeds: nil, facesDownstream: false)
    }
}

extension Topology {
    /// The device's link from config space, or — when config space was cut to 64 bytes because
    /// the reader was not root — from sysfs. Sources that never had the sysfs view (dumps,
    /// captured roots) only ever report config space, like lspci.
    public func link(of d: Device) -> (link: Link, source: String)? {
        if let l = d.link { return (l, "config") }
        if source.privileged == false, d.capabilities.coverage == .unreadable, let l = d.sysfs?.link { return (l, "sysfs") }
        return nil
    }
}
