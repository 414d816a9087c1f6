import PCISources
import PCITopology

extension TopologySource {
    /// RDMA devices and ports: libibverbs on the live machine, the captured
    /// `sys/class/infiniband` under a sysfs root, what a snapshot recorded; none for dumps and
    /// demo fabrics (saying why).
    public func rdmaInventory(_ t: Topology?) -> RDMAInventory {
        switch self {
        case .live: return VerbsRDMASource().inventory()
        case .sysfsRoot(let root): return SysfsRDMASource(root: root).inventory()
        case .snapshot:
            return t?.host.rdma ?? RDMAInventory(devices: [], unavailable: "this snapshot recorded no RDMA state (take it with p2ptop 0.3 or later on the machine)", source: "snapshot")
        default: return RDMAInventory(devices: [], unavailable: "a dump, hwloc XML or demo fabric records no RDMA port state; on demo fabrics `transfer --via rdma` models it", source: "none")
        }
    }
}
