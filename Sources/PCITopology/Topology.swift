/// Kernel and CPU of the machine a topology came from (live, or recorded in a snapshot).
public struct HostInfo: Hashable, Sendable {
    public var kernelRelease: String?
    public var cpuVendor: String?
    public var cpuFamily: Int?
    public var hostname: String?
    /// What the kernel and the recording process allowed (doctor's host checks), and the RDMA
    /// devices: recorded by `p2ptop snapshot` on a live machine or captured root, nil elsewhere.
    public var facts: HostFacts?
    public var rdma: RDMAInventory?
    public init(kernelRelease: String? = nil, cpuVendor: String? = nil, cpuFamily: Int? = nil, hostname: String? = nil) {
        self.kernelRelease = kernelRelease; self.cpuVendor = cpuVendor
        self.cpuFamily = cpuFamily; self.hostname = hostname
    }
}

/// Where a topology came from, for messages and for the `p2ptop …` equivalents.
public struct SourceInfo: Hashable, Sendable {
    public enum Kind: String, Sendable { case live, dump, sysfsRoot = "sysfs-root", snapshot, fabric, hwloc, nccl }
    public var kind: Kind
    public var path: String?
    /// Whether config space past 64 bytes was readable (root on a live machine).
    public var privileged: Bool?
    /// What the reader accepted but a user should know (file and line, what was done).
    public var warnings: [String]
    public init(kind: Kind, path: String? = nil, privileged: Bool? = nil, warnings: [String] = []) {
        self.kind = kind; self.path = path; self.privileged = privileged; self.warnings = warnings
    }
}

/// The machine's PCI functions as one immutable value: sorted devices, the bridge tree as
/// `lspci -t` builds it, kinds and aliases.
public struct Topology: Sendable {
    public let devices: [Device]
    public var host: HostInfo
    public let source: SourceInfo
    /// Upstream bridge of each device, as `lspci -t` draws it (absent: on a root bus).
    public let parents: [BDF: BDF]
    public let kinds: [BDF: DeviceKind]
    public let aliases: [BDF: String]
    /// Problems found while building the tree (bus-number loops and the like).
    public let anomalies: [String]
    /// NVLinks the source states (NCCL, hwloc); none for PCI-only sources. Indexed by pair and
    /// by device as they are set, so a lookup costs the same with 8 links or 80 000.
    public var nvlinks: [NVLink] = [] { didSet { nvlinkIndex = NVLinkIndex(nvlinks) } }
    public private(set) var nvlinkIndex = NVLinkIndex([])
    /// The tree was stated by the source (NCCL), not implied by bus numbers: a snapshot keeps it.
    public let statedParents: Bool
    /// Buses hanging off each node: nil key = the host (root buses), in lspci's order.
    let busesByOwner: [BDF?: [BusKey]]
    let devicesOnBus: [OwnerBus: [BDF]]
    let index: [BDF: Int]

    struct BusKey: Hashable { var domain: UInt32; var bus: UInt8 }

    /// `parents`: the tree as the source states it (NCCL's nesting), instead of the one bus
    /// numbers imply — for sources whose functions' addresses do not form a PCI hierarchy.
    public init(devices: [Device], host: HostInfo = HostInfo(), source: SourceInfo, parents explicit: [BDF: BDF]? = nil) {
        var sorted = devices.sorted { $0.bdf < $1.bdf }
        // Keep the first of duplicate addresses (a dump may repeat a header).
        var seen = Set<BDF>()
        sorted = sorted.filter { seen.insert($0.bdf).inserted }
        self.devices = sorted
        self.host = host
        self.source = source
        var index: [BDF: Int] = [:]
        for (i, d) in sorted.enumerated() { index[d.bdf] = i }
        self.index = index

        let placement = explicit.map { Topology.placeDevices(sorted, parents: $0) } ?? Topology.placeDevices(sorted)
        self.statedParents = explicit != nil
        var parents = placement.parents
        var anomalies: [String] = []
        Topology.breakCycles(&parents, anomalies: &anomalies)
        self.parents = parents
        self.busesByOwner = placement.buses
        self.devicesOnBus = placement.devicesOnBus

        var kinds: [BDF: DeviceKind] = [:]
        var aliases: [BDF: String] = [:]
        var counters: [String: Int] = [:]
        for d in sorted {
            let kind = DeviceKind.classify(d)
            kinds[d.bdf] = kind
            if let prefix = kind.aliasPrefix {
                let n = counters[prefix, default: 0]
                counters[prefix] = n + 1
                aliases[d.bdf] = prefix + String(n)
            }
        }
        self.kinds = kinds
        self.aliases = aliases
        for d in sorted {
            anomalies += d.capabilities.anomalies.map { "\(d.bdf): \($0)" }
        }
        self.anomalies = anomalies
    }

    public func device(_ bdf: BDF) -> Device? { index[bdf].map { devices[$0] } }
    public func kind(_ bdf: BDF) -> DeviceKind { kinds[bdf] ?? .other }
    public func alias(_ bdf: BDF) -> String? { aliases[bdf] }
    public func parent(_ bdf: BDF) -> BDF? { parents[bdf] }

    /// Whether lspci would print domains (any device outside domain 0).
    public var showsDomains: Bool { devices.contains { $0.bdf.domain != 0 } }

    /// Bridges from the device up to its root bus, nearest first.
    public func upstreamPath(_ bdf: BDF) -> [BDF] {
        var path: [BDF] = []
        var current = parents[bdf]
        while let p = current, path.count <= devices.count {
            path.append(p)
            current = parents[p]
        }
        return path
    }

    public func children(_ bdf: BDF?) -> [BDF] {
        (busesByOwner[bdf] ?? []).flatMap { devicesOnBus[OwnerBus(owner: bdf, bus: $0)] ?? [] }
    }

    /// lspci's `grow_tree`: every bridge hangs directly off the host in the bridge list
    /// (its "best" parent is always the host, whose span is 0), and a device lands on the
    /// host's bus if that bus exists there, else on the most recently listed bridge of its
    /// domain whose secondary..subordinate range holds its bus number.
    static func placeDevices(_ devices: [Device]) -> (parents: [BDF: BDF], buses: [BDF?: [BusKey]], devicesOnBus: [OwnerBus: [BDF]]) {
        let bridges = devices.filter { $0.isBridge }.reversed()
        var buses: [BDF?: [BusKey]] = [nil: [BusKey(domain: 0, bus: 0)]]
        for b in bridges.reversed() {
            buses[b.bdf, default: []].append(BusKey(domain: b.bdf.domain, bus: b.bridge!.secondary))
        }
        var parents: [BDF: BDF] = [:]
        // A bus key can appear under several owners in lspci; keep devices per (owner, bus).
        var ownerBusDevices: [OwnerBus: [BDF]] = [:]
        for d in devices {
            let key = BusKey(domain: d.bdf.domain, bus: d.bdf.bus)
            var owner: BDF? = nil
            if !(buses[nil]!.contains(key)) {
                if let b = bridges.first(where: { $0.bdf != d.bdf && $0.bdf.domain == d.bdf.domain && $0.bridge!.covers(bus: d.bdf.bus) }) {
                    owner = b.bdf
                }
                if !(buses[owner]?.contains(key) ?? false) {
                    buses[owner, default: []].append(key)
                }
            }
            if let owner { parents[d.bdf] = owner }
            ownerBusDevices[OwnerBus(owner: owner, bus: key), default: []].append(d.bdf)
        }
        return (parents, buses, ownerBusDevices)
    }

    /// The same shapes from a stated tree: each device's bus, grouped under its stated parent.
    static func placeDevices(_ devices: [Device], parents stated: [BDF: BDF]) -> (parents: [BDF: BDF], buses: [BDF?: [BusKey]], devicesOnBus: [OwnerBus: [BDF]]) {
        let present = Set(devices.map(\.bdf))
        var parents: [BDF: BDF] = [:]
        var buses: [BDF?: [BusKey]] = [:]
        var ownerBusDevices: [OwnerBus: [BDF]] = [:]
        for d in devices {
            let owner = stated[d.bdf].flatMap { present.contains($0) && $0 != d.bdf ? $0 : nil }
            let key = BusKey(domain: d.bdf.domain, bus: d.bdf.bus)
            if let owner { parents[d.bdf] = owner }
            if !(buses[owner]?.contains(key) ?? false) { buses[owner, default: []].append(key) }
            ownerBusDevices[OwnerBus(owner: owner, bus: key), default: []].append(d.bdf)
        }
        if buses[nil] == nil { buses[nil] = [] }
        return (parents, buses, ownerBusDevices)
    }

    struct OwnerBus: Hashable { var owner: BDF?; var bus: BusKey }

    static func breakCycles(_ parents: inout [BDF: BDF], anomalies: inout [String]) {
        for start in parents.keys.sorted() {
            var visited: [BDF] = [start]
            var current = parents[start]
            while let p = current {
                if let loopAt = visited.firstIndex(of: p) {
                    let loop = Array(visited[loopAt...])
                    let cut = loop.max()!
                    anomalies.append("bridge bus numbers form a loop (\(loop.map { $0.description }.joined(separator: " → "))); \(cut) shown on a root bus")
                    parents[cut] = nil
                    break
                }
                visited.append(p)
                current = parents[p]
            }
        }
    }
}


extension SourceInfo {
    /// Why config space past the 64-byte header is missing, as the source explains it: only a
    /// live machine is helped by root; a capture or a file says what it lacks.
    public var configUnreadable: String {
        switch kind {
        case .live: return "needs root"
        case .sysfsRoot: return "the captured config files hold only 64 bytes (captured without root)"
        case .dump: return "the dump holds only 64 bytes (lspci -x; -xxxx as root has them)"
        case .snapshot: return "the snapshot holds only 64 bytes (taken without root)"
        case .hwloc: return "not in hwloc's XML"
        case .fabric: return "not in this fabric"
        case .nccl: return "not in NCCL's file"
        }
    }

    /// The short form for a table cell: `needs root`, `not in the dump`, `not in hwloc's XML`.
    public var configUnreadableShort: String {
        switch kind {
        case .live: return "needs root"
        case .sysfsRoot: return "not in the capture"
        case .dump: return "not in the dump"
        case .snapshot: return "not in the snapshot"
        case .hwloc: return "not in hwloc's XML"
        case .fabric: return "not in this fabric"
        case .nccl: return "not in NCCL's file"
        }
    }
}
