import PCITopology

/// Which world to read: the one choice every command takes.
public enum TopologySource: Sendable, Equatable {
    case live
    case dump(String)
    case sysfsRoot(String)
    case snapshot(String)
    case fabric(String)
    case hwloc(String)
    case nccl(String)

    public func load() throws(SourceError) -> Topology {
        switch self {
        case .live: return try SysfsSource.load(root: "/")
        case .dump(let path): return try DumpReader.load(path: path)
        case .sysfsRoot(let root): return try SysfsSource.load(root: root)
        case .snapshot(let path): return try Snapshot.load(path: path)
        case .fabric(let name): return try DemoFabrics.load(name)
        case .hwloc(let path): return try HwlocSource.load(path: path)
        case .nccl(let path): return try NCCLSource.load(path: path)
        }
    }

    /// The flags that select this source, for `p2ptop …` equivalents.
    public var flags: String {
        switch self {
        case .live: return ""
        case .dump(let p): return " --dump \(p)"
        case .sysfsRoot(let p): return " --sysfs-root \(p)"
        case .snapshot(let p): return " --snapshot \(p)"
        case .fabric(let n): return " --fabric \(n)"
        case .hwloc(let p): return " --hwloc \(p)"
        case .nccl(let p): return " --nccl \(p)"
        }
    }
}
