import P2PEngine
import PCITopology
@preconcurrency import CVerbs
#if canImport(Glibc)
@preconcurrency import Glibc
import LinuxFiles
#endif

/// RDMA devices through libibverbs: `ibv_get_device_list`, `ibv_query_device`, `ibv_query_port`;
/// the traffic counters come from the device's sysfs directory (`ibdev_path`).
/// `ibv_get_device_list` fails (ENOSYS) where the kernel has no RDMA subsystem: that is
/// "no RDMA devices (…)", never an error.
public struct VerbsRDMASource: RDMADeviceSource {
    public init() {}

    public func inventory() -> RDMAInventory {
        var count: Int32 = 0
        errno = 0
        guard let list = ibv_get_device_list(&count) else {
            let e = errno
            return RDMAInventory(devices: [], unavailable: "ibv_get_device_list: \(String(cString: strerror(e == 0 ? ENODEV : e)))", source: "verbs")
        }
        defer { ibv_free_device_list(list) }
        var devices: [RDMADevice] = []
        for i in 0..<Int(count) {
            guard let dev = list[i] else { continue }
            devices.append(Self.describe(dev))
        }
        return RDMAInventory(devices: devices, unavailable: devices.isEmpty ? "ibv_get_device_list returned no devices" : nil, source: "verbs")
    }

    static func cString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func describe(_ dev: UnsafeMutablePointer<ibv_device>) -> RDMADevice {
        let name = String(cString: ibv_get_device_name(dev))
        let sysfsDir = cString(dev.pointee.ibdev_path)
        let pci = FileIO.linkName(FileIO.join(sysfsDir, "device")).flatMap { $0.filter { $0 == ":" }.count == 2 ? $0 : nil }
        let nodeType = String(cString: ibv_node_type_str(dev.pointee.node_type))
        let guid = formatGUID(UInt64(bigEndian: ibv_get_device_guid(dev)))
        guard let ctx = ibv_open_device(dev) else {
            return RDMADevice(name: name, pciAddress: pci, nodeType: nodeType, firmware: nil, nodeGUID: guid, ports: [])
        }
        defer { ibv_close_device(ctx) }
        var attr = ibv_device_attr()
        guard ibv_query_device(ctx, &attr) == 0 else {
            return RDMADevice(name: name, pciAddress: pci, nodeType: nodeType, firmware: nil, nodeGUID: guid, ports: [])
        }
        var ports: [RDMAPort] = []
        if attr.phys_port_cnt > 0 {
            for n in 1...Int(attr.phys_port_cnt) {
                var pa = ibv_port_attr()
                guard ___ibv_query_port(ctx, UInt8(n), &pa) == 0 else { continue }
                var port = RDMAPort(number: n, state: RDMAPortState(rawValue: Int(pa.state.rawValue)), physState: rdmaPhysStateName(Int(pa.phys_state)),
                                    rate: RDMARate(width: Int(pa.active_width), speed: Int(pa.active_speed)),
                                    linkLayer: RDMALinkLayer(verbs: Int(pa.link_layer)), lid: Int(pa.lid))
                (port.transmittedBytes, port.receivedBytes) = SysfsRDMASource.counters(FileIO.join(sysfsDir, "ports/\(n)"))
                port.gids = SysfsRDMASource.gids(FileIO.join(sysfsDir, "ports/\(n)"))
                ports.append(port)
            }
        }
        return RDMADevice(name: name, pciAddress: pci, nodeType: nodeType, firmware: cString(attr.fw_ver), nodeGUID: guid, ports: ports)
    }
}

/// A GUID as sysfs prints `node_guid`: four groups of four hex digits (`b859:9f03:00d4:e5a2`).
func formatGUID(_ g: UInt64) -> String {
    let hex = String(g, radix: 16)
    let padded = String(repeating: "0", count: 16 - hex.count) + hex
    return stride(from: 0, to: 16, by: 4).map { i in
        String(padded[padded.index(padded.startIndex, offsetBy: i)..<padded.index(padded.startIndex, offsetBy: i + 4)])
    }.joined(separator: ":")
}
