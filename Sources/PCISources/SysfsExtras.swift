import PCITopology
import LinuxFiles

/// Reads the per-device sysfs attributes libpci does not report: driver, NUMA node, IOMMU
/// group and type, link attributes, `p2pmem/*`, `resourceN[_wc]`, AER counters.
/// `root` is a filesystem root (`/` live, or a captured tree that contains `sys/`).
public struct SysfsExtras {
    public var root: String

    public init(root: String) { self.root = root }

    public var devicesDirectory: String { join(root, "sys/bus/pci/devices") }

    public func facts(for bdf: BDF, resources: [OSResource]?) -> SysfsFacts {
        let dir = join(devicesDirectory, bdf.description)
        var f = SysfsFacts()
        f.resources = resources
        if let link = FileIO.readLink(join(dir, "driver")) { f.driver = basename(link) }
        if let link = FileIO.readLink(join(dir, "physfn")) { f.physfn = BDF(basename(link)) }
        if let n = FileIO.attribute(join(dir, "numa_node")).flatMap({ Int($0) }), n >= 0 { f.numaNode = n }
        if let cpus = FileIO.attribute(join(dir, "local_cpulist")), !cpus.isEmpty { f.localCPUs = cpus }
        if let link = FileIO.readLink(join(dir, "iommu_group")), let g = Int(basename(link)) {
            f.iommuGroup = g
            // The group's type lives under /sys/kernel/iommu_groups/N/type.
            f.iommuType = FileIO.attribute(join(root, "sys/kernel/iommu_groups/\(g)/type"))
        }
        f.currentLinkSpeed = FileIO.attribute(join(dir, "current_link_speed"))
        f.currentLinkWidth = FileIO.attribute(join(dir, "current_link_width")).flatMap { Int($0) }
        f.maxLinkSpeed = FileIO.attribute(join(dir, "max_link_speed"))
        f.maxLinkWidth = FileIO.attribute(join(dir, "max_link_width")).flatMap { Int($0) }
        if let bits = FileIO.attribute(join(dir, "dma_mask_bits")).flatMap({ Int($0) }), (1...64).contains(bits) { f.dmaMaskBits = bits }
        if FileIO.isDirectory(join(dir, "p2pmem")) {
            let size = FileIO.attribute(join(dir, "p2pmem/size")).flatMap { UInt64($0) } ?? 0
            let available = FileIO.attribute(join(dir, "p2pmem/available")).flatMap { UInt64($0) } ?? 0
            let published = FileIO.attribute(join(dir, "p2pmem/published")) == "1"
            f.p2pmem = P2PMem(size: size, available: available, published: published)
        }
        if let names = FileIO.listDirectory(dir) {
            for name in names where name.hasPrefix("resource") {
                let rest = name.dropFirst("resource".count)
                if let n = Int(rest) { f.resourceFiles.append(n) }
                if rest.hasSuffix("_wc"), let n = Int(rest.dropLast(3)) { f.resourceWCFiles.append(n) }
            }
            f.resourceFiles.sort()
            f.resourceWCFiles.sort()
            for name in names.sorted() where name.hasPrefix("aer_") {
                f.aerCounters[name] = parseCounters(FileIO.readString(join(dir, name)))
            }
        }
        return f
    }

    /// `NAME VALUE` lines of the aer_* files.
    func parseCounters(_ text: String?) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for line in (text ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let v = UInt64(parts[1]) { out[String(parts[0])] = v }
        }
        return out
    }
}

func join(_ a: String, _ b: String) -> String { FileIO.join(a, b) }

func basename(_ path: String) -> String {
    String(path.split(separator: "/").last ?? Substring(path))
}

/// Kernel release and CPU of the machine under `root` (`/proc/sys/kernel/osrelease`,
/// `/proc/cpuinfo`); fields stay nil where the files are absent (captured trees).
public enum HostProbe {
    public static func probe(root: String) -> HostInfo {
        var info = HostInfo()
        info.kernelRelease = FileIO.attribute(join(root, "proc/sys/kernel/osrelease"))
        info.hostname = FileIO.attribute(join(root, "proc/sys/kernel/hostname"))
        if let cpuinfo = FileIO.readString(join(root, "proc/cpuinfo")) {
            for line in cpuinfo.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingSpaces() }
                guard parts.count == 2 else { continue }
                if parts[0] == "vendor_id", info.cpuVendor == nil { info.cpuVendor = normalizeVendor(parts[1]) }
                if parts[0] == "cpu family", info.cpuFamily == nil { info.cpuFamily = Int(parts[1]) }
                if info.cpuVendor != nil && info.cpuFamily != nil { break }
            }
        }
        return info
    }

    /// `AuthenticAMD` → `amd`, `GenuineIntel` → `intel`, other strings lower-cased.
    public static func normalizeVendor(_ raw: String) -> String {
        switch raw {
        case "AuthenticAMD", "HygonGenuine": return raw == "AuthenticAMD" ? "amd" : "hygon"
        case "GenuineIntel": return "intel"
        default: return raw.lowercased()
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
