import LinuxFiles
import PCITopology

/// Reads `GDSFacts` under a root (`/` live, a captured tree in tests): only for `doctor --gds`.
extension HostProbe {
    public static func gdsFacts(root: String) -> GDSFacts {
        GDSFacts(nvidia: nvidiaDriver(root: root), multipath: multipath(root: root),
                 mdMembers: mdMembers(root: root), fabricControllers: fabricControllers(root: root))
    }

    static func nvidiaDriver(root: String) -> GDSFacts.NVIDIADriver? {
        guard FileIO.isDirectory(join(root, "sys/module/nvidia")) else { return nil }
        var d = GDSFacts.NVIDIADriver()
        d.version = FileIO.attribute(join(root, "sys/module/nvidia/version")).map { String($0.prefix(32)) }
        if let text = FileIO.readString(join(root, "proc/driver/nvidia/version")) {
            d.openKernelModule = text.contains("Open Kernel Module")
        }
        if let params = FileIO.readString(join(root, "proc/driver/nvidia/params")) {
            d.registryDwords = [:]
            for line in params.split(separator: "\n") where line.hasPrefix("RegistryDwords:") {
                d.registryDwords = GDSFacts.registryDwords(String(line.dropFirst("RegistryDwords:".count)))
            }
        }
        return d
    }

    static func multipath(root: String) -> GDSFacts.Multipath {
        guard FileIO.isDirectory(join(root, "sys/module/nvme_core")) else { return .unknown }
        switch FileIO.attribute(join(root, "sys/module/nvme_core/parameters/multipath")) {
        case "Y"?, "1"?: return .on
        case "N"?, "0"?: return .off
        case nil: return FileIO.isDirectory(join(root, "sys/module/nvme_core/parameters")) ? .notBuilt : .unknown
        default: return .unknown
        }
    }

    static func mdMembers(root: String) -> [String: String] {
        var out: [String: String] = [:]
        for array in (FileIO.listDirectory(join(root, "sys/block")) ?? []).sorted() where array.hasPrefix("md") {
            for member in (FileIO.listDirectory(join(root, "sys/block/\(array)/slaves")) ?? []).prefix(256) {
                out[member] = array
            }
        }
        return out
    }

    static func fabricControllers(root: String) -> [String: String] {
        var out: [String: String] = [:]
        for ctrl in (FileIO.listDirectory(join(root, "sys/class/nvme")) ?? []).sorted().prefix(1024) {
            guard let transport = FileIO.attribute(join(root, "sys/class/nvme/\(ctrl)/transport")), transport != "pcie" else { continue }
            out[ctrl] = String(transport.prefix(16))
        }
        return out
    }
}

extension TopologySource {
    /// The GDS facts of a machine read from itself (live, a captured root); nil for every
    /// other source: dumps, fabrics, hwloc and NCCL files and snapshots do not record drivers.
    public func gdsFacts() -> GDSFacts? {
        switch self {
        case .live: return HostProbe.gdsFacts(root: "/")
        case .sysfsRoot(let root): return HostProbe.gdsFacts(root: root)
        default: return nil
        }
    }
}
