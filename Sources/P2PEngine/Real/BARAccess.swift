#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import PCITopology

/// Whether p2ptop may touch a real BAR through `resourceN`, and if not, which rule says no.
/// Read-only by default; reads of non-prefetchable registers can have side effects
/// (read-to-clear status registers), so they are refused while a kernel driver owns the device.
public enum BARAccessPolicy {
    public struct Facts: Sendable {
        public var bar: BAR
        public var driver: String?
        public var hasResourceFile: Bool
        public var isRoot: Bool
        public var lockdown: String?      // "none", "integrity", "confidentiality", nil = unknown
        public var iomemStrict: Bool
        public init(bar: BAR, driver: String?, hasResourceFile: Bool, isRoot: Bool, lockdown: String?, iomemStrict: Bool) {
            self.bar = bar; self.driver = driver; self.hasResourceFile = hasResourceFile
            self.isRoot = isRoot; self.lockdown = lockdown; self.iomemStrict = iomemStrict
        }
    }

    public enum Decision: Equatable, Sendable {
        case allowed
        case refused(rule: String, reason: String)
    }

    static func ownedByDriver(_ f: Facts) -> Bool { f.driver != nil && f.driver != "vfio-pci" }

    public static func check(_ f: Facts, write: Bool, allowWrite: Bool) -> Decision {
        guard f.bar.space == .memory else { return .refused(rule: "memory-bar", reason: "BAR \(f.bar.index) is an I/O-port BAR: only memory BARs are mapped") }
        guard f.hasResourceFile else { return .refused(rule: "resource-file", reason: "no resource\(f.bar.index) file for this BAR") }
        guard f.isRoot else { return .refused(rule: "root", reason: "mmap of resource\(f.bar.index) needs root (the file is 0600)") }
        if let l = f.lockdown, l != "none" {
            return .refused(rule: "lockdown", reason: "kernel lockdown (\(l)) refuses PCI BAR access from user space (LOCKDOWN_PCI_ACCESS)")
        }
        if write {
            guard allowWrite else { return .refused(rule: "allow-write", reason: "writes need --allow-write") }
            if ownedByDriver(f) { return .refused(rule: "driver", reason: "driver \(f.driver!) owns the device: p2ptop never writes to a BAR a kernel driver uses (unbind it or bind vfio-pci)") }
            if f.iomemStrict { return .refused(rule: "iomem-strict", reason: "iomem=strict: the kernel refuses user mappings of busy regions") }
            return .allowed
        }
        if !f.bar.prefetchable && ownedByDriver(f) {
            return .refused(rule: "side-effects", reason: "BAR \(f.bar.index) is not prefetchable and driver \(f.driver!) owns the device: register reads can have side effects (read-to-clear)")
        }
        return .allowed
    }

    /// Maps `resourceN` read-only and reads `size` bytes with 8-byte loads: MMIO read bandwidth.
    public static func readBandwidth(device: BDF, bar: Int, size: Int) throws(EngineError) -> Double {
        let path = "/sys/bus/pci/devices/\(device)/resource\(bar)"
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError(.EPERM, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard let p = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw EngineError(.EINVAL, "mmap of \(path): \(String(cString: strerror(errno)))")
        }
        defer { munmap(p, size) }
        let words = p.assumingMemoryBound(to: UInt64.self)
        var ts0 = timespec(), ts1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts0)
        var sum: UInt64 = 0
        for i in 0..<(size / 8) { sum &+= UnsafeMutablePointer(mutating: words)[i] }
        clock_gettime(CLOCK_MONOTONIC, &ts1)
        withExtendedLifetime(sum) {}
        let secs = Double(ts1.tv_sec - ts0.tv_sec) + Double(ts1.tv_nsec - ts0.tv_nsec) / 1e9
        return secs > 0 ? Double(size) / secs / 1e9 : 0
    }
}
