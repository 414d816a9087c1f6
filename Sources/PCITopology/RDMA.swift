/// RDMA devices and ports as the kernel describes them (`/sys/class/infiniband`, `ibv_query_port`).
/// Pure values and decoding; discovery lives in P2PEngine (`RDMASources.swift`, `VerbsDevices.swift`).

/// `enum ib_port_state` / `enum ibv_port_state`.
public enum RDMAPortState: Int, Hashable, Sendable, CaseIterable {
    case nop = 0, down = 1, initialized = 2, armed = 3, active = 4, activeDefer = 5

    /// The kernel's sysfs spelling (`4: ACTIVE`).
    public var name: String {
        switch self {
        case .nop: "NOP"
        case .down: "DOWN"
        case .initialized: "INIT"
        case .armed: "ARMED"
        case .active: "ACTIVE"
        case .activeDefer: "ACTIVE_DEFER"
        }
    }
}

/// The physical port state (`5: LinkUp`), from the IBTA PortPhysicalState values.
public func rdmaPhysStateName(_ code: Int) -> String {
    switch code {
    case 1: "Sleep"
    case 2: "Polling"
    case 3: "Disabled"
    case 4: "PortConfigurationTraining"
    case 5: "LinkUp"
    case 6: "LinkErrorRecovery"
    case 7: "Phy Test"
    default: "<unknown>"
    }
}

/// Lane count of `active_width` (1X=1, 4X=2, 8X=4, 12X=8, 2X=16), as `ib_width_enum_to_int`.
public func rdmaWidthLanes(_ width: Int) -> Int? {
    switch width {
    case 1: 1
    case 2: 4
    case 4: 8
    case 8: 12
    case 16: 2
    default: nil
    }
}

/// Per-lane signalling of `active_speed` in tenths of Gb/s and its name, as the kernel's
/// `rate_show` computes them (SDR 2.5 … NDR 100; FDR counted as 14).
public func rdmaLaneSpeed(_ speed: Int) -> (tenthsGbps: Int, name: String) {
    switch speed {
    case 2: (50, "DDR")
    case 4: (100, "QDR")
    case 8: (100, "FDR10")
    case 16: (140, "FDR")
    case 32: (250, "EDR")
    case 64: (500, "HDR")
    case 128: (1000, "NDR")
    case 256: (2000, "XDR")
    default: (25, "SDR")
    }
}

/// A port's rate: lanes × per-lane speed.
public struct RDMARate: Hashable, Sendable {
    public var lanes: Int
    public var speedName: String
    public var tenthsGbps: Int

    public init(lanes: Int, speedName: String, tenthsGbps: Int) {
        self.lanes = lanes; self.speedName = speedName; self.tenthsGbps = tenthsGbps
    }

    /// From `ibv_port_attr.active_width` / `active_speed`; nil for a width the kernel does not know.
    public init?(width: Int, speed: Int) {
        guard let lanes = rdmaWidthLanes(width) else { return nil }
        let s = rdmaLaneSpeed(speed)
        self.init(lanes: lanes, speedName: s.name, tenthsGbps: s.tenthsGbps * lanes)
    }

    public var gbps: Double { Double(tenthsGbps) / 10 }

    /// The sysfs `rate` text: `100 Gb/sec (4X EDR)`; SDR has no suffix (`10 Gb/sec (4X)`).
    public var text: String {
        let whole = "\(tenthsGbps / 10)" + (tenthsGbps % 10 != 0 ? ".5" : "")
        return "\(whole) Gb/sec (\(lanes)X\(speedName == "SDR" ? "" : " " + speedName))"
    }

    /// Parses the sysfs `rate` text back (`56 Gb/sec (4X FDR)`, `2.5 Gb/sec (1X)`).
    public init?(sysfs text: String) {
        let t = rdmaTrimmed(text)
        guard let gb = t.firstRange(of: " Gb/sec ("), t.hasSuffix(")") else { return nil }
        let number = t[..<gb.lowerBound]
        let inner = t[gb.upperBound..<t.index(before: t.endIndex)]
        let parts = inner.split(separator: " ", maxSplits: 1)
        guard let laneText = parts.first, laneText.hasSuffix("X"), let lanes = Int(laneText.dropLast()), lanes > 0 else { return nil }
        let numberParts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard let whole = Int(numberParts[0]), numberParts.count <= 2 else { return nil }
        var tenths = whole * 10
        if numberParts.count == 2 {
            guard let frac = Int(numberParts[1]), numberParts[1].count == 1 else { return nil }
            tenths += frac
        }
        self.init(lanes: lanes, speedName: parts.count == 2 ? String(parts[1]) : "SDR", tenthsGbps: tenths)
    }
}

/// `IBV_LINK_LAYER_*` / the sysfs `link_layer` text.
public enum RDMALinkLayer: String, Hashable, Sendable {
    case infiniband = "InfiniBand", ethernet = "Ethernet", unspecified = "Unknown"

    public init(verbs code: Int) { self = code == 2 ? .ethernet : code == 1 ? .infiniband : .unspecified }
}

public struct RDMAPort: Hashable, Sendable {
    public var number: Int
    public var state: RDMAPortState?
    public var physState: String
    public var rate: RDMARate?
    public var linkLayer: RDMALinkLayer
    public var lid: Int
    /// `port_xmit_data` / `port_rcv_data` in bytes (the counters count 4-byte words); nil when absent.
    public var transmittedBytes: UInt64?
    public var receivedBytes: UInt64?
    /// The port's populated GID table entries (RoCE: which index is RoCE v2 on which address).
    public var gids: [RDMAGID] = []

    public init(number: Int, state: RDMAPortState?, physState: String, rate: RDMARate?, linkLayer: RDMALinkLayer, lid: Int,
                transmittedBytes: UInt64? = nil, receivedBytes: UInt64? = nil) {
        self.number = number; self.state = state; self.physState = physState; self.rate = rate
        self.linkLayer = linkLayer; self.lid = lid; self.transmittedBytes = transmittedBytes; self.receivedBytes = receivedBytes
    }
}

/// One GID table entry: `gids/N`, `gid_attrs/types/N` (`RoCE v2`, `IB/RoCE v1`), `gid_attrs/ndevs/N`.
public struct RDMAGID: Hashable, Sendable {
    public var index: Int
    public var gid: String
    public var type: String?
    public var netdev: String?
    public init(index: Int, gid: String, type: String?, netdev: String?) {
        self.index = index; self.gid = gid; self.type = type; self.netdev = netdev
    }

    /// An all-zero entry is unused.
    public var isPopulated: Bool { gid.contains { $0 != "0" && $0 != ":" } }

    /// IPv4-mapped GIDs (`0000:…:ffff:c0a8:010a`) as `192.168.1.10`; others as the kernel prints them.
    public var address: String {
        let groups = gid.split(separator: ":")
        guard groups.count == 8, groups[0..<5].allSatisfy({ Int($0, radix: 16) == 0 }), groups[5].lowercased() == "ffff",
              let hi = UInt16(groups[6], radix: 16), let lo = UInt16(groups[7], radix: 16) else { return gid }
        return "\(hi >> 8).\(hi & 0xff).\(lo >> 8).\(lo & 0xff)"
    }
}

public struct RDMADevice: Hashable, Sendable {
    /// `mlx5_0`, `rxe0`, `irdma1`.
    public var name: String
    /// The PCI function behind it (the `device` link); nil for software devices (rxe, siw).
    public var pciAddress: String?
    public var nodeType: String
    public var firmware: String?
    public var nodeGUID: String?
    public var ports: [RDMAPort]

    public init(name: String, pciAddress: String?, nodeType: String, firmware: String?, nodeGUID: String?, ports: [RDMAPort]) {
        self.name = name; self.pciAddress = pciAddress; self.nodeType = nodeType
        self.firmware = firmware; self.nodeGUID = nodeGUID; self.ports = ports
    }
}

/// What discovery found: devices, or why there are none (shown as "no RDMA devices (…)").
public struct RDMAInventory: Hashable, Sendable {
    public var devices: [RDMADevice]
    /// Why the list is empty: `ibv_get_device_list: Function not implemented`, `no /sys/class/infiniband`.
    public var unavailable: String?
    /// `verbs` or `sysfs`.
    public var source: String

    public init(devices: [RDMADevice], unavailable: String?, source: String) {
        self.devices = devices; self.unavailable = unavailable; self.source = source
    }

    /// The one-line summary the screens show.
    public var summary: String {
        if devices.isEmpty { return "no RDMA devices" + (unavailable.map { " (\($0))" } ?? "") }
        let active = devices.flatMap(\.ports).filter { $0.state == .active }.count
        let ports = devices.flatMap(\.ports).count
        return "\(devices.count) RDMA device\(devices.count == 1 ? "" : "s"), \(active)/\(ports) port\(ports == 1 ? "" : "s") active"
    }
}

/// Parses the kernel's `N: NAME` attributes (`state`, `phys_state`): the number, and the name.
public func parseNumberedState(_ text: String) -> (code: Int, name: String)? {
    let t = rdmaTrimmed(text)
    guard let colon = t.firstIndex(of: ":"), let code = Int(t[..<colon]) else { return nil }
    return (code, rdmaTrimmed(String(t[t.index(after: colon)...])))
}

/// Without the trailing newline and surrounding spaces of a sysfs attribute.
func rdmaTrimmed(_ text: String) -> String {
    var s = Substring(text)
    while let l = s.last, l == "\n" || l == " " || l == "\t" || l == "\r" { s.removeLast() }
    while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
    return String(s)
}
