import P2PEngine
import PCITopology
import LinuxFiles
/// Where RDMA devices come from: libibverbs on the live machine (`VerbsRDMASource`), or the
/// kernel's `/sys/class/infiniband` under a root (`SysfsRDMASource`: captured trees, tests).
public protocol RDMADeviceSource {
    func inventory() -> RDMAInventory
}

/// `/sys/class/infiniband/<dev>`: `node_type`, `fw_ver`, `node_guid`, the `device` link to the
/// PCI function, and per port `state`, `phys_state`, `rate`, `link_layer`, `lid`, counters.
public struct SysfsRDMASource: RDMADeviceSource {
    public let root: String
    public init(root: String) { self.root = root }

    var base: String { FileIO.join(root, "sys/class/infiniband") }

    public func inventory() -> RDMAInventory {
        guard FileIO.exists(base) else {
            return RDMAInventory(devices: [], unavailable: "no \(base): no RDMA driver loaded", source: "sysfs")
        }
        let devices = sortedListing(base).map { device(named: $0) }
        return RDMAInventory(devices: devices, unavailable: devices.isEmpty ? "\(base) is empty" : nil, source: "sysfs")
    }

    func device(named name: String) -> RDMADevice {
        let dir = FileIO.join(base, name)
        let pci = FileIO.linkName(FileIO.join(dir, "device")).flatMap { $0.filter { $0 == ":" }.count == 2 ? $0 : nil }
        let nodeType = FileIO.attribute(FileIO.join(dir, "node_type")).map { parseNumberedState($0)?.name ?? $0 } ?? "unknown"
        let ports = sortedListing(FileIO.join(dir, "ports")).compactMap { Int($0) }.map { port(dir, $0) }
        return RDMADevice(name: name, pciAddress: pci, nodeType: nodeType, firmware: FileIO.attribute(FileIO.join(dir, "fw_ver")),
                          nodeGUID: FileIO.attribute(FileIO.join(dir, "node_guid")), ports: ports)
    }

    func port(_ dir: String, _ n: Int) -> RDMAPort {
        let p = FileIO.join(dir, "ports/\(n)")
        let state = FileIO.attribute(FileIO.join(p, "state")).flatMap(parseNumberedState).flatMap { RDMAPortState(rawValue: $0.code) }
        let phys = FileIO.attribute(FileIO.join(p, "phys_state")).flatMap(parseNumberedState)?.name ?? "<unknown>"
        let rate = FileIO.attribute(FileIO.join(p, "rate")).flatMap { RDMARate(sysfs: $0) }
        let layer = FileIO.attribute(FileIO.join(p, "link_layer")).flatMap(RDMALinkLayer.init(rawValue:)) ?? .unspecified
        let lid = FileIO.attribute(FileIO.join(p, "lid")).flatMap { Int($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) } ?? 0
        var port = RDMAPort(number: n, state: state, physState: phys, rate: rate, linkLayer: layer, lid: lid)
        (port.transmittedBytes, port.receivedBytes) = Self.counters(p)
        port.gids = Self.gids(p)
        return port
    }

    /// The populated entries of `gids/`, with their type and network device where the kernel
    /// tells (reading an unused entry's type fails, which is how it says "unused").
    static func gids(_ portDir: String) -> [RDMAGID] {
        sortedListing(FileIO.join(portDir, "gids")).compactMap { name -> RDMAGID? in
            guard let i = Int(name), let g = FileIO.attribute(FileIO.join(portDir, "gids/\(name)")) else { return nil }
            let gid = RDMAGID(index: i, gid: g, type: FileIO.attribute(FileIO.join(portDir, "gid_attrs/types/\(name)")),
                              netdev: FileIO.attribute(FileIO.join(portDir, "gid_attrs/ndevs/\(name)")))
            return gid.isPopulated ? gid : nil
        }
    }

    /// `port_xmit_data` / `port_rcv_data` count 4-byte words (IBTA PortCounters); in bytes here.
    static func counters(_ portDir: String) -> (UInt64?, UInt64?) {
        func words(_ name: String) -> UInt64? { FileIO.attribute(FileIO.join(portDir, "counters/\(name)")).flatMap { UInt64($0) } }
        return (words("port_xmit_data").map { $0 &* 4 }, words("port_rcv_data").map { $0 &* 4 })
    }
}

/// A directory's entries with digit runs compared as numbers (`mlx5_2` before `mlx5_10`).
func sortedListing(_ path: String) -> [String] {
    (FileIO.listDirectory(path) ?? []).sorted { $0.compare(numerically: $1) }
}

extension String {
    /// `port10` after `port9`: digit runs compare as numbers.
    func compare(numerically other: String) -> Bool {
        var a = Substring(self), b = Substring(other)
        while let x = a.first, let y = b.first {
            if x.isNumber && y.isNumber {
                let da = a.prefix { $0.isNumber }, db = b.prefix { $0.isNumber }
                if let na = Int(da), let nb = Int(db), na != nb { return na < nb }
                a = a.dropFirst(da.count); b = b.dropFirst(db.count)
            } else {
                if x != y { return x < y }
                a = a.dropFirst(); b = b.dropFirst()
            }
        }
        return a.isEmpty && !b.isEmpty
    }
}
