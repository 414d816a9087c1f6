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

    var base: String { SysFile.join(root, "sys/class/infiniband") }

    public func inventory() -> RDMAInventory {
        guard SysFile.exists(base) else {
            return RDMAInventory(devices: [], unavailable: "no \(base): no RDMA driver loaded", source: "sysfs")
        }
        let devices = SysFile.list(base).map { device(named: $0) }
        return RDMAInventory(devices: devices, unavailable: devices.isEmpty ? "\(base) is empty" : nil, source: "sysfs")
    }

    func device(named name: String) -> RDMADevice {
        let dir = SysFile.join(base, name)
        let pci = SysFile.linkName(SysFile.join(dir, "device")).flatMap { $0.filter { $0 == ":" }.count == 2 ? $0 : nil }
        let nodeType = SysFile.attribute(SysFile.join(dir, "node_type")).map { parseNumberedState($0)?.name ?? $0 } ?? "unknown"
        let ports = SysFile.list(SysFile.join(dir, "ports")).compactMap { Int($0) }.map { port(dir, $0) }
        return RDMADevice(name: name, pciAddress: pci, nodeType: nodeType, firmware: SysFile.attribute(SysFile.join(dir, "fw_ver")),
                          nodeGUID: SysFile.attribute(SysFile.join(dir, "node_guid")), ports: ports)
    }

    func port(_ dir: String, _ n: Int) -> RDMAPort {
        let p = SysFile.join(dir, "ports/\(n)")
        let state = SysFile.attribute(SysFile.join(p, "state")).flatMap(parseNumberedState).flatMap { RDMAPortState(rawValue: $0.code) }
        let phys = SysFile.attribute(SysFile.join(p, "phys_state")).flatMap(parseNumberedState)?.name ?? "<unknown>"
        let rate = SysFile.attribute(SysFile.join(p, "rate")).flatMap { RDMARate(sysfs: $0) }
        let layer = SysFile.attribute(SysFile.join(p, "link_layer")).flatMap(RDMALinkLayer.init(rawValue:)) ?? .unspecified
        let lid = SysFile.attribute(SysFile.join(p, "lid")).flatMap { Int($0.hasPrefix("0x") ? String($0.dropFirst(2)) : $0, radix: 16) } ?? 0
        var port = RDMAPort(number: n, state: state, physState: phys, rate: rate, linkLayer: layer, lid: lid)
        (port.transmittedBytes, port.receivedBytes) = Self.counters(p)
        return port
    }

    /// `port_xmit_data` / `port_rcv_data` count 4-byte words (IBTA PortCounters); in bytes here.
    static func counters(_ portDir: String) -> (UInt64?, UInt64?) {
        func words(_ name: String) -> UInt64? { SysFile.attribute(SysFile.join(portDir, "counters/\(name)")).flatMap { UInt64($0) } }
        return (words("port_xmit_data").map { $0 &* 4 }, words("port_rcv_data").map { $0 &* 4 })
    }
}
