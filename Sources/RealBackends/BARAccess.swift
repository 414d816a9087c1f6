import P2PEngine
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

    /// `allowDriverBAR`: the user said a BAR a kernel driver owns may be read (a read of a
    /// device register can have side effects: virtio's ISR status clears when read).
    public static func check(_ f: Facts, write: Bool, allowWrite: Bool, allowDriverBAR: Bool = false) -> Decision {
        guard f.bar.space == .memory else { return .refused(rule: "memory-bar", reason: "BAR \(f.bar.index) is an I/O-port BAR: only memory BARs are mapped") }
        guard f.hasResourceFile else { return .refused(rule: "resource-file", reason: "no resource\(f.bar.index) file for this BAR") }
        guard f.isRoot else { return .refused(rule: "root", reason: "mmap of resource\(f.bar.index) needs root (the file is 0600)") }
        if let l = f.lockdown, l != "none" {
            return .refused(rule: "lockdown", reason: "kernel lockdown (\(l)) refuses PCI BAR access from user space (LOCKDOWN_PCI_ACCESS)")
        }
        if write {
            guard allowWrite else { return .refused(rule: "allow-write", reason: "writes need --allow-write") }
            if ownedByDriver(f) { return .refused(rule: "driver", reason: "driver \(f.driver!) owns the device: p2ptop never writes to a BAR a kernel driver uses (unbind it or bind vfio-pci)") }
            if !f.bar.prefetchable {
                return .refused(rule: "registers", reason: "BAR \(f.bar.index) is not prefetchable: it holds registers, and a pattern written there can reset the device or start DMA; only prefetchable (memory-like) BARs are written")
            }
            if f.iomemStrict { return .refused(rule: "iomem-strict", reason: "iomem=strict: the kernel refuses user mappings of busy regions") }
            return .allowed
        }
        if !f.bar.prefetchable && ownedByDriver(f) {
            return .refused(rule: "side-effects", reason: "BAR \(f.bar.index) is not prefetchable and driver \(f.driver!) owns the device: register reads can have side effects (read-to-clear)")
        }
        if ownedByDriver(f) && !allowDriverBAR {
            return .refused(rule: "driver", reason: "driver \(f.driver!) owns the device: a read of its BAR can have side effects (a status register that clears when read); --allow-driver-bar reads it anyway")
        }
        return .allowed
    }

    /// MMIO read bandwidth of `resourceN`: mapped read-only, `size` bytes read with 8-byte loads.
    public static func readBandwidth(device: BDF, bar: Int, size: Int) throws(EngineError) -> Double {
        try readBandwidth(path: "/sys/bus/pci/devices/\(device)/resource\(bar)", size: size)
    }

    static func map(_ path: String, size: Int, writable: Bool) throws(EngineError) -> (UnsafeMutableRawPointer, Int32) {
        let fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError(.EPERM, "\(path): \(String(cString: strerror(errno)))") }
        guard let p = mmap(nil, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0), p != MAP_FAILED else {
            let e = errno
            close(fd)
            throw EngineError(.EINVAL, "mmap of \(path): \(String(cString: strerror(e)))")
        }
        return (p, fd)
    }

    static func seconds(_ body: () -> Void) -> Double {
        var ts0 = timespec(), ts1 = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts0)
        body()
        clock_gettime(CLOCK_MONOTONIC, &ts1)
        return Double(ts1.tv_sec - ts0.tv_sec) + Double(ts1.tv_nsec - ts0.tv_nsec) / 1e9
    }

    static func readBandwidth(path: String, size: Int) throws(EngineError) -> Double {
        let (p, fd) = try map(path, size: size, writable: false)
        defer { munmap(p, size); close(fd) }
        let words = p.assumingMemoryBound(to: UInt64.self)
        var sum: UInt64 = 0
        let secs = seconds { for i in 0..<(size / 8) { sum &+= words[i] } }
        withExtendedLifetime(sum) {}
        return secs > 0 ? Double(size) / secs / 1e9 : 0
    }

    public struct WriteResult: Sendable, Equatable {
        public var writeGBps: Double
        public var verified: Bool
        public var restored: Bool
    }

    /// MMIO write bandwidth of `resourceN` (or `resourceN_wc`, write-combined, where it exists):
    /// the original contents are saved, a pattern is stored with 8-byte writes and read back,
    /// then the original is written back and checked. Only called once `check` allowed it.
    public static func writeTest(device: BDF, bar: Int, size: Int, writeCombining: Bool) throws(EngineError) -> WriteResult {
        try writeTest(path: "/sys/bus/pci/devices/\(device)/resource\(bar)" + (writeCombining ? "_wc" : ""), size: size)
    }

    static func writeTest(path: String, size: Int) throws(EngineError) -> WriteResult {
        let (p, fd) = try map(path, size: size, writable: true)
        defer { munmap(p, size); close(fd) }
        let n = size / 8
        let bar = p.assumingMemoryBound(to: UInt64.self)
        let saved = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
        defer { saved.deallocate() }
        for i in 0..<n { saved[i] = bar[i] }
        func pattern(_ i: Int) -> UInt64 { UInt64(i) &* 0x9E37_79B9_7F4A_7C15 ^ 0xA5A5_5A5A_0F0F_F0F0 }
        let secs = seconds { for i in 0..<n { bar[i] = pattern(i) } }
        var verified = true
        for i in 0..<n where bar[i] != pattern(i) { verified = false; break }   // the read also flushes posted writes
        for i in 0..<n { bar[i] = saved[i] }
        var restored = true
        for i in 0..<n where bar[i] != saved[i] { restored = false; break }
        return WriteResult(writeGBps: secs > 0 ? Double(size) / secs / 1e9 : 0, verified: verified, restored: restored)
    }
}
